#!/usr/bin/env bash
# rpcgated -r as an operator's script sees it: link types and file formats,
# gzip, extra EPM ports, exit statuses, and errors named by frame number.
# Only the project's own vectors (tests/vectors/): a fresh clone runs it.
set -u
cd "$(dirname "$0")/../.."
bin=${BUILD:-build}/rpcgated
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base=tests/vectors/le_map.pcap
want=$(cat tests/golden/vectors/le_map.pcap.tsv)

check() { # label, condition...
	local label=$1; shift
	if "$@"; then echo "PASS replay/cli/$label"; else echo "FAIL replay/cli/$label"; fi
}
tuples() { "$bin" -r "$1" "${@:2}" 2>/dev/null | tests/replay_tuples.py; }
same_tuples() { [ "$(tuples "$@")" == "$want" ]; }

# Re-encapsulate the baseline vector with scapy: a capture is a capture,
# whatever its link layer.
/usr/bin/python3 - "$base" "$work" <<'PY'
import sys
from scapy.all import rdpcap, wrpcap, conf, CookedLinux, CookedLinuxV2, Dot1Q, Ether, IP, TCP
conf.logLevel = 40  # a list of IP packets is meant to be raw IP
src, out = sys.argv[1], sys.argv[2]
frames = rdpcap(src)
ips = [f[IP] for f in frames]
wrpcap(f"{out}/raw.pcap", ips, linktype=101)
wrpcap(f"{out}/sll.pcap", [CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, proto=0x0800) / ip for ip in ips])
wrpcap(f"{out}/sll2.pcap", [CookedLinuxV2(proto=0x0800, ifindex=2, lladdrtype=1, lladdrlen=6) / ip for ip in ips])
vlan = []
for f in frames:
    e = f.copy()
    vlan.append(Ether(src=e.src, dst=e.dst) / Dot1Q(vlan=7) / e[IP])
wrpcap(f"{out}/vlan.pcap", vlan)
moved = []
for f in frames:
    g = f.copy()
    for field in ("sport", "dport"):
        if getattr(g[TCP], field) == 135:
            setattr(g[TCP], field, 1135)
    del g[TCP].chksum
    moved.append(g)
wrpcap(f"{out}/port1135.pcap", moved)
PY

check raw-ip same_tuples "$work/raw.pcap"
check linux-cooked-v1 same_tuples "$work/sll.pcap"
check linux-cooked-v2 same_tuples "$work/sll2.pcap"
check vlan-tagged same_tuples "$work/vlan.pcap"
editcap -F pcapng "$base" "$work/base.pcapng" 2>/dev/null
check pcapng same_tuples "$work/base.pcapng"
gzip -c "$base" >"$work/base.pcap.gz"
check gzip same_tuples "$work/base.pcap.gz"
check gzip-pcapng same_tuples "$(gzip -c "$work/base.pcapng" >"$work/b.pcapng.gz"; echo "$work/b.pcapng.gz")"

check other-port-ignored-by-default [ -z "$(tuples "$work/port1135.pcap")" ]
check other-port-with-p [ "$(tuples "$work/port1135.pcap" -p 1135 | cut -f1-4)" == "$(cut -f1-4 <<<"$want")" ]

# A capture cut in its last frame: the endpoint before the cut is printed,
# the error names the frame, and the status says the file had errors.
size=$(stat -c %s "$base")
head -c $((size - 10)) "$base" >"$work/cut.pcap"
frames=$(tshark -r "$base" 2>/dev/null | wc -l)
"$bin" -r "$work/cut.pcap" >"$work/out" 2>"$work/err"; rc=$?
check truncated-status [ $rc -eq 65 ]
check truncated-names-frame grep -q "frame $frames: .*truncated" "$work/err"
check truncated-keeps-earlier-endpoints [ "$(tests/replay_tuples.py <"$work/out")" == "$want" ]

# Link type 147 (USER0) cannot be read.
cp "$base" "$work/user0.pcap"
printf '\x93\x00\x00\x00' | dd of="$work/user0.pcap" bs=1 seek=20 conv=notrunc 2>/dev/null
"$bin" -r "$work/user0.pcap" >/dev/null 2>"$work/err"; rc=$?
check unknown-linktype-status [ $rc -eq 65 ]
check unknown-linktype-message grep -q "frame 1: unsupported link type" "$work/err"

"$bin" -r "$work/no-such-file" >/dev/null 2>&1
check missing-file-status [ $? -eq 66 ]
"$bin" -r "$base" -p 0 >/dev/null 2>&1
check bad-port-status [ $? -eq 64 ]

# Every line is one JSON object with the documented fields.
check json-fields /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    assert {"ts", "client", "server", "op", "iface", "iface_name", "proto", "port", "tower_addr"} <= e.keys(), e
    assert e["op"] == "map" and e["iface_name"] == "EMSMDB" and e["tower_addr"] == "198.51.100.20", e
    assert e["ts"].endswith("Z")
' < <("$bin" -r "$base")

# With a configuration, each line carries the daemon's decision.  The
# project's vectors (tests/vectors/README.md), not the shared captures: two
# maps answered EMSMDB tcp/49160 and NSPI tcp/49161, a map answered with an
# ncacn_http tower, and a lookup of 320 entries.
maps=tests/vectors/three_pdus_one_segment.pcap
http=tests/vectors/ncacn_http_593.pcap
lookup=tests/vectors/lookup_300.pcap
codes() { # conf capture: "op iface proto port decision reason_code", each once
	"$bin" -c "$1" -r "$2" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(e["op"], e["iface_name"], e["proto"], e["port"], e["decision"], e["reason_code"])' | sort -u; }
summary() { codes "$@" | cut -d' ' -f1,5,6 | sort -u; } # op decision reason_code
printf 'servers = [ "198.51.100.20" ];\ninterfaces = [ "exchange" ];\n' >"$work/exchange.conf"
check decisions-with-config [ "$(codes "$work/exchange.conf" "$maps")" == "map EMSMDB tcp 49160 open open
map NSPI tcp 49161 open open" ]
check decision-lookup-refused [ "$(summary "$work/exchange.conf" "$lookup")" == "lookup refuse lookup" ]
check decision-http-refused [ "$(codes "$work/exchange.conf" "$http")" == "map EMSMDB http 6004 refuse proto" ]
printf 'servers = [ "198.51.100.20" ];\ninterfaces = [ "f5cc5a18-4264-101a-8c59-08002b2f8426" ];\n' >"$work/nspi.conf"
check decision-interface-refused grep -q '"iface_name":"EMSMDB".*"decision":"refuse","reason":"interface not in interfaces"' \
	<("$bin" -c "$work/nspi.conf" -r "$maps" 2>/dev/null)
printf 'servers = [ "198.51.100.20" ];\ninterfaces = [ "exchange" ];\nport_range = [ 49161, 65535 ];\n' >"$work/range.conf"
check decision-port-range grep -q '"port":49160,.*"reason_code":"port-range"' \
	<("$bin" -c "$work/range.conf" -r "$maps" 2>/dev/null)
printf 'servers = [ "192.0.2.99" ];\n' >"$work/other.conf"
check decision-not-server grep -q '"reason_code":"not-server"' <("$bin" -c "$work/other.conf" -r "$maps" 2>/dev/null)
check no-decision-without-config bash -c "! '$bin' -r '$maps' 2>/dev/null | grep -q decision"

# Fixed mode: the pinned port passes, anything else is drift; lookups are
# refused unless allowed.
printf 'servers = [ "198.51.100.20" ];\nmode = "fixed";\nfixed_ports = [ 49161 ];\n' >"$work/fixed.conf"
check fixed-and-drift [ "$(codes "$work/fixed.conf" "$maps")" == "map EMSMDB tcp 49160 refuse drift
map NSPI tcp 49161 open fixed" ]
check fixed-lookup-refused [ "$(summary "$work/fixed.conf" "$lookup")" == "lookup refuse lookup" ]
printf 'servers = [ "198.51.100.20" ];\nallow_lookup = true;\n' >"$work/lookup.conf"
check lookup-allowed grep -q "^lookup open open$" <<<"$(summary "$work/lookup.conf" "$lookup")"
