#!/usr/bin/env bash
# Usage: derive.sh FILE [extra tshark options, e.g. -d tcp.port==1234,dcerpc]
# Prints, sorted and unique, one line per endpoint that tshark finds advertised
# in EPM responses (ept_lookup opnum 2, ept_map opnum 3):
#   client<TAB>server<TAB>iface<TAB>proto<TAB>port
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 FILE [tshark options]" >&2; exit 2; }
file=$1; shift
[ -r "$file" ] || { echo "$0: cannot read $file" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

# An empty configuration directory keeps personal Wireshark preferences
# (disabled protocols, decode-as tables) out of the ground truth.
conf=$(mktemp -d)
trap 'rm -rf "$conf"' EXIT

# Port 593 (ncacn_http) is left to the heuristic dcerpc dissector, which
# steps over the server's "ncacn_http/1.0" banner; decoding 593 as dcerpc
# outright makes tshark read the banner as a PDU header and lose every PDU the
# server sends after it.
#
# tshark exits 2 on a capture whose last packet is cut short (several OTRF
# files are) after printing complete PDML for every packet before it, so its
# status is not used; pdml_endpoints.py fails instead if the PDML is incomplete.
{ WIRESHARK_CONFIG_DIR=$conf tshark -n -r "$file" \
      -o tcp.reassemble_out_of_order:TRUE \
      -d tcp.port==135,dcerpc "$@" \
      -Y epm -T pdml 2> >(grep -v '^Running as user' >&2) || true; } \
  | /usr/bin/python3 "$here/pdml_endpoints.py" \
  | LC_ALL=C sort -u
