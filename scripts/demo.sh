#!/usr/bin/env bash
# The demo, until the live daemon lands: the project's own encoder
# (impacket + scapy) writes Exchange-shaped endpoint-mapper conversations,
# and rpcgated replays them through the decoder that the daemon will use,
# narrating what each answer would open.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "Generating Outlook/Exchange-shaped endpoint-mapper conversations in $work ..."
/usr/bin/python3 tests/vectors/gen_vectors.py "$work"

narrate() { # file, what happens in it
	echo
	echo "== $2"
	echo "   \$ rpcgated -r $(basename "$1")"
	"$build/rpcgated" -r "$1" | /usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
for e in lines[:4]:
    print("   client %s asked %s (%s): %s lives on %s/%d at %s" % (
        e["client"], e["server"], e["op"], e.get("iface_name", e["iface"]),
        e["proto"], e["port"], e["tower_addr"]))
if len(lines) > 4:
    print("   ... %d endpoints in all" % len(lines))
if not lines:
    print("   (nothing advertised)")'
}

narrate "$work/le_map.pcap" "Outlook asks where the store (EMSMDB) listens"
narrate "$work/fragmented_response.pcap" "An answer in three DCE fragments: store, address book, referral"
narrate "$work/map_1byte_segments.pcap" "The same answer dribbled out one byte per TCP segment"
narrate "$work/out_of_order.pcap" "Segments out of order and retransmitted"
narrate "$work/be_drep.pcap" "A big-endian client and server"
narrate "$work/ndr64.pcap" "NDR64 transfer syntax"
narrate "$work/ncacn_http_593.pcap" "RPC over HTTP v1 on port 593"
narrate "$work/ipv6.pcap" "The same over IPv6"
narrate "$work/lookup_300.pcap" "An ept_lookup listing 320 endpoints"
echo
echo "Each line above is one pinhole the daemon would consider: (client, server, port)."
