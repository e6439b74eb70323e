#!/usr/bin/env bash
# rpcgated -r -c FILE follows what the daemon would with FILE: its
# epm_ports (plus -p), its flow limits and its pinhole ageing, one test
# per key.  Each compares against a run that differs only in that key, so
# a replay that ignored the key fails.  Captures with two conversations
# or a pause are cut and joined from the vectors (editcap, mergecap).
set -u
cd "$(dirname "$0")/../.."
bin=${BUILD:-build}/rpcgated
vec=tests/vectors
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() { # label, condition...
	local label=$1; shift
	if "$@"; then echo "PASS replay/flow-limits/$label"; else echo "FAIL replay/flow-limits/$label"; fi
}
# conf NAME "key = value; ..." -> $work/NAME.conf for the vectors' server
conf() {
	printf 'servers = [ "198.51.100.20", "2001:db8:2::20" ];\n%s\n' "$2" >"$work/$1.conf"
}
# lines CONF CAPTURE [ARGS...]: endpoints reported
lines() { "$bin" -c "$work/$1.conf" -r "$2" "${@:3}" 2>/dev/null | wc -l; }
# stats CONF CAPTURE: the replay's closing statistics line
stats() { "$bin" -v -c "$work/$1.conf" -r "$2" 2>&1 >/dev/null | tail -n 1; }
# decisions CONF CAPTURE: "port decision reason_code" per endpoint
decisions() {
	"$bin" -c "$work/$1.conf" -r "$2" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
print(" ".join(str(e["port"]) + ":" + e["reason_code"] for e in map(json.loads, sys.stdin)))'
}
# move_client_port IN OUT TCP|UDP OLD NEW: IN's conversation from another
# client port
move_client_port() {
	/usr/bin/python3 - "$@" <<'PY'
import sys
from scapy.all import rdpcap, wrpcap, IP, TCP, UDP
src, out, proto, old, new = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
layer = TCP if proto == "TCP" else UDP
frames = rdpcap(src)
for f in frames:
    for field in ("sport", "dport"):
        if getattr(f[layer], field) == old:
            setattr(f[layer], field, new)
    del f[layer].chksum
    del f[IP].chksum
wrpcap(out, frames)
PY
}
# frames CAPTURE: how many
frames() { capinfos -Mc "$1" | awk '/Number of packets/ { print $NF }'; }

conf defaults ""

# epm_ports: without 135 the baseline is not followed; -p adds to the
# file's ports; 593 is followed only while listed.
conf no135 "epm_ports = [ 593 ];"
conf only135 "epm_ports = [ 135 ];"
check epm-ports/default-follows-135 [ "$(lines defaults $vec/le_map.pcap)" -eq 1 ]
check epm-ports/without-135-nothing [ "$(lines no135 $vec/le_map.pcap)" -eq 0 ]
check epm-ports/dash-p-adds [ "$(lines no135 $vec/le_map.pcap -p 135)" -eq 1 ]
check epm-ports/593-followed-when-listed [ "$(lines no135 $vec/ncacn_http_593.pcap)" -eq 1 ]
check epm-ports/593-not-followed-unlisted [ "$(lines only135 $vec/ncacn_http_593.pcap)" -eq 0 ]

# max_flows: two conversations at once (IPv4 and IPv6 clients, their
# frames interleaved by time); with one flow only the first is followed.
mergecap -w "$work/two.pcap" $vec/le_map.pcap $vec/ipv6.pcap
conf oneflow "max_flows = 1;"
check max-flows/two-followed-by-default [ "$(lines defaults "$work/two.pcap")" -eq 2 ]
check max-flows/1-follows-one [ "$(lines oneflow "$work/two.pcap")" -eq 1 ]
check max-flows/refusal-counted grep -Eq " [1-9][0-9]* refused \(table full\)" <<<"$(stats oneflow "$work/two.pcap")"

# max_flows_per_client: the same client twice at once (a copy of the
# baseline from client port 49701); per-client 1 follows one of them.
move_client_port $vec/le_map.pcap "$work/port49701.pcap" TCP 49700 49701
mergecap -w "$work/same-client.pcap" $vec/le_map.pcap "$work/port49701.pcap"
conf perclient1 "max_flows_per_client = 1;"
check max-flows-per-client/two-by-default [ "$(lines defaults "$work/same-client.pcap")" -eq 2 ]
check max-flows-per-client/1-follows-one [ "$(lines perclient1 "$work/same-client.pcap")" -eq 1 ]
check max-flows-per-client/refusal-counted grep -Eq " [1-9][0-9]* refused \(per client\)" <<<"$(stats perclient1 "$work/same-client.pcap")"

# max_udp_flows_per_client: the UDP vector and a copy from another port.
move_client_port $vec/udp_map.pcap "$work/udp50001.pcap" UDP 50000 50001
mergecap -w "$work/same-client-udp.pcap" $vec/udp_map.pcap "$work/udp50001.pcap"
conf udpperclient1 "max_udp_flows_per_client = 1;"
check max-udp-flows-per-client/two-by-default [ "$(lines defaults "$work/same-client-udp.pcap")" -eq 2 ]
check max-udp-flows-per-client/1-follows-one [ "$(lines udpperclient1 "$work/same-client-udp.pcap")" -eq 1 ]
check max-udp-flows-per-client/tcp-unaffected [ "$(lines udpperclient1 "$work/same-client.pcap")" -eq 2 ]

# max_buffer_bytes: lookup_300's answer comes in 5,840-byte fragments; a
# 4096-byte buffer cannot hold one while it waits, and the flow is lost.
conf smallbuffer "max_buffer_bytes = 4096;"
check max-buffer-bytes/320-by-default [ "$(lines defaults $vec/lookup_300.pcap)" -eq 320 ]
check max-buffer-bytes/4096-nothing [ "$(lines smallbuffer $vec/lookup_300.pcap)" -eq 0 ]
check max-buffer-bytes/desync-counted grep -q " 1 flows desynchronized" <<<"$(stats smallbuffer $vec/lookup_300.pcap)"
# (out_of_order.pcap holds at most 152 bytes: below the smallest allowed)

# max_call_bytes: the joined lookup answer is ~47 KB; fragmented_response's
# three fragments fit in the smallest allowed.
conf smallcall "max_call_bytes = 4096;"
check max-call-bytes/4096-nothing [ "$(lines smallcall $vec/lookup_300.pcap)" -eq 0 ]
check max-call-bytes/4096-small-call-joined [ "$(lines smallcall $vec/fragmented_response.pcap)" -eq 3 ]

# flow_idle_timeout: the baseline with a 10 s pause before the answer
# (the last 6 frames: response, FINs); forgotten after 5 s, its answer is
# picked up alone and matches no request.
n=$(frames $vec/le_map.pcap)
editcap -r $vec/le_map.pcap "$work/head.pcap" 1-$((n - 6))
editcap -r $vec/le_map.pcap "$work/tail.pcap" $((n - 5))-$n
editcap -t 10 "$work/tail.pcap" "$work/tail-later.pcap"
mergecap -a -w "$work/pause.pcap" "$work/head.pcap" "$work/tail-later.pcap"
conf idle5 "flow_idle_timeout = 5;"
conf idle20 "flow_idle_timeout = 20;"
check flow-idle-timeout/20-survives-pause [ "$(lines idle20 "$work/pause.pcap")" -eq 1 ]
check flow-idle-timeout/5-forgets [ "$(lines idle5 "$work/pause.pcap")" -eq 0 ]

# flow_handshake_timeout: the SYN, then 3 s before the rest.  Forgotten
# half-open after 2 s (the bind that follows is picked up mid-stream).
editcap -r $vec/le_map.pcap "$work/syn.pcap" 1
editcap -r $vec/le_map.pcap "$work/rest.pcap" 2-$n
editcap -t 3 "$work/rest.pcap" "$work/rest-later.pcap"
mergecap -a -w "$work/slow-handshake.pcap" "$work/syn.pcap" "$work/rest-later.pcap"
conf handshake2 "flow_handshake_timeout = 2;"
conf handshake5 "flow_handshake_timeout = 5;"
check flow-handshake-timeout/2-forgets grep -q " 1 half-open expired" <<<"$(stats handshake2 "$work/slow-handshake.pcap")"
check flow-handshake-timeout/5-waits grep -q " 0 half-open expired" <<<"$(stats handshake5 "$work/slow-handshake.pcap")"

# pinhole_timeout and the caps: the baseline opens tcp/49160 for its
# client; 10 s later the same exchange advertises 49170 (the tower's port
# patched), or the IPv6 client asks.  With a 5 s timeout the first record
# has expired by the capture's clock and the newcomer opens; with 60 s it
# is live and the cap refuses.
/usr/bin/python3 - "$vec/le_map.pcap" "$work/port49170.pcap" <<'PY'
import sys
from scapy.all import rdpcap, wrpcap, TCP, IP, Raw
floor4 = b"\x01\x00\x07\x02\x00"     # TCP protocol floor, 2-byte port
frames = rdpcap(sys.argv[1])
patched = 0
for f in frames:
    if f[TCP].sport == 135 and Raw in f and floor4 + b"\xc0\x08" in f[Raw].load:
        f[Raw].load = f[Raw].load.replace(floor4 + b"\xc0\x08", floor4 + b"\xc0\x12")
        del f[TCP].chksum
        patched += 1
assert patched == 1, patched
wrpcap(sys.argv[2], frames)
PY
editcap -t 10 "$work/port49170.pcap" "$work/port49170-later.pcap"
mergecap -a -w "$work/two-ports.pcap" $vec/le_map.pcap "$work/port49170-later.pcap"
editcap -t 10 $vec/ipv6.pcap "$work/ipv6-later.pcap"
mergecap -a -w "$work/two-clients.pcap" $vec/le_map.pcap "$work/ipv6-later.pcap"
conf aged "max_pinholes_per_client = 1;
max_pinholes = 1;
pinhole_timeout = 5;"
conf live "max_pinholes_per_client = 1;
max_pinholes = 1;
pinhole_timeout = 60;"
check pinhole-timeout/per-client-expired-frees-cap [ "$(decisions aged "$work/two-ports.pcap")" == "49160:open 49170:open" ]
check pinhole-timeout/per-client-live-holds-cap [ "$(decisions live "$work/two-ports.pcap")" == "49160:open 49170:client-cap" ]
check pinhole-timeout/total-expired-frees-cap [ "$(decisions aged "$work/two-clients.pcap")" == "49160:open 49160:open" ]
check pinhole-timeout/total-live-holds-cap [ "$(decisions live "$work/two-clients.pcap")" == "49160:open 49160:total-cap" ]
exit 0
