#!/usr/bin/env bash
# An HA pair (tests/ns/ha.sh): keepalived (VRRPv3, IPv4 and IPv6) and
# conntrackd (FT-FW) on two routers, rpcgated on both with sync_pinholes,
# ruleset shape (b) (forward policy drop). R1 is the
# master; keepalived is stopped on it and R2 takes over. Across that
# failover:
#   1. an echo connection through a pinhole (established before) keeps
#      working: every line sent comes back, and the connection is not cut;
#   2. a client that looked up through R1 before (ept_map, no connect;
#      IPv4 and IPv6; and a UDP pinhole) connects through R2 after it on
#      its first SYN (UDP: its first datagram is answered): the
#      pinhole went to R2 as a marked conntrack entry, and R2's rpcgated
#      re-opened it;
#   3. a pinhole R2's policy does not allow (R2 denies that port) is not
#      opened there, and its carrier entry admits nothing;
#   4. rpcgated restarted on R2 re-opens the carried pinhole;
#   5. revoking a pinhole deletes its carrier;
#   6. failback: what R2 opened travels back to R1 the same way.
# The windows (VRRP switch, the longest gap between echoes, the time until
# R2 holds the carried pinhole) are printed, never asserted.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
. "$RG_LIB_DIR/ha.sh"

missing=""
for t in keepalived conntrackd conntrack; do command -v "$t" >/dev/null || missing+=" $t"; done
if [ -n "$missing" ]; then
	if [ "${CI:-}" = true ]; then
		t_fail ha/tools "missing:$missing (make deps)"
		exit 1
	fi
	t_skip ha/tools "missing:$missing (make deps)"
	exit 0
fi
ha_setup || { t_fail ha/setup "namespace lab"; exit 1; }
ha_conntrackd_start 1 && ha_conntrackd_start 2 || { t_fail ha/conntrackd "did not start"; exit 1; }
ha_keepalived_start 1
ha_keepalived_start 2
ha_wait_master 1 || { t_fail ha/vrrp "R1 not master: $(tail -n 3 "$RG_DIR/keepalived-r1.log")"; exit 1; }

epm_server_start "$RG_NS_HASERVER" "$RG_DIR/epm" --addr "$RG_HA_SERVER4" --addr "$RG_HA_SERVER6" --echo \
	--iface EMSMDB --iface NSPI --iface RFR || { t_fail ha/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
nspi=$(epm_port "$RG_DIR/epm" NSPI)
rfr=$(epm_port "$RG_DIR/epm" RFR)
conf="servers = [ \"$RG_HA_SERVER4\", \"$RG_HA_SERVER6\" ];
pinhole_timeout = 120;
sync_pinholes = true;"
# ruleset shape (b) on both routers, forward policy drop: a packet of a
# connection the router's conntrack does not know (the echo connection on
# R2, had conntrackd not committed it) is dropped
for r in 1 2; do
	in_r $r nft -f - <<EOF || { t_fail ha/ruleset "nft -f in R$r"; exit 1; }
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct mark & 0x00100000 == 0x00100000 accept
		ip daddr $RG_HA_SERVER4 meta l4proto { tcp, udp } th dport 135 accept
		ip6 daddr $RG_HA_SERVER6 meta l4proto { tcp, udp } th dport 135 accept
	}
}
EOF
done
ha_gate_start 1 "$conf" || { t_fail ha/daemon-r1 "$(tail -n 3 "$RG_DIR/rpcgated-r1.log")"; exit 1; }
# R2 denies NSPI's port: what R1 opens for it must not open on R2
ha_gate_start 2 "$conf
deny_ports = [ $nspi ];" || { t_fail ha/daemon-r2 "$(tail -n 3 "$RG_DIR/rpcgated-r2.log")"; exit 1; }

r2_pinholes() { # r2_pinholes [4|6]: R2's pinhole set (IPv4 by default)
	in_r 2 nft list set inet rpcgate "pinholes${1:-4}" 2>/dev/null | sed -n '/elements/,/}/p'
}
r2_holds() { r2_pinholes "${2:-4}" | grep -q "$1"; }   # r2_holds TEXT [4|6]
carriers() { # carriers R: carrier entries in R's kernel, both families
	{ in_r "$1" conntrack -L -f ipv4 -m 0x00400000/0x00400000
	  in_r "$1" conntrack -L -f ipv6 -m 0x00400000/0x00400000; } 2>/dev/null | grep -c 'sport=0 '
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# before: the lookups through R1; RFR and NSPI are not connected to
c="$RG_NS_HACLIENT"
t_check ha/before/lookup-rfr grep -q '"port": '"$rfr" <<<"$(map_and_connect "$c" "$RG_HA_SERVER4" RFR --no-connect)"
t_check ha/before/lookup-nspi grep -q '"port": '"$nspi" <<<"$(map_and_connect "$c" "$RG_HA_SERVER4" NSPI --no-connect)"
t_check ha/before/lookup-rfr6 grep -q '"port": '"$rfr" <<<"$(map_and_connect "$c" "$RG_HA_SERVER6" RFR --no-connect)"
t_check ha/before/lookup-nspi6 grep -q '"port": '"$nspi" <<<"$(map_and_connect "$c" "$RG_HA_SERVER6" NSPI --no-connect)"
t_check ha/before/unpinholed-dropped blocked "$(connect_only "$c" "$RG_HA_SERVER4" 1999)"
# a UDP pinhole (ept_map over UDP 135), not used before the failover
UDP_PORT=50500
udp() { in_ns "$1" "$RG_PY" "$RG_LIB_DIR/udp_epm.py" "${@:2}"; }
ns_bg "$RG_NS_HASERVER" "$RG_PY" "$RG_LIB_DIR/udp_epm.py" serve "$RG_HA_SERVER4" "$UDP_PORT" >"$RG_DIR/udp"
wait_file "$RG_DIR/udp" 10 || t_fail ha/before/udp-server
t_check ha/before/udp-map udp "$c" map "$RG_HA_SERVER4"
# the echo connection (EMSMDB), a line every 10 ms for 20 s; the
# failover comes 8 s into it
echo_start=$(date +%s)
in_ns "$c" "$RG_PY" "$RG_LIB_DIR/epm_client.py" "$RG_HA_SERVER4" --iface EMSMDB \
	--hold 20 --hold-interval 0.01 --hold-drain 3 >"$RG_DIR/echo.json" 2>&1 &
echo_pid=$!
# the carriers reach R2's conntrackd, not R2's kernel: R2 opens nothing yet
eventually() { # eventually CMD...: CMD succeeds within 5 s
	local i
	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
r1_carries_six() { [ "$(carriers 1)" -ge 6 ]; }
r2_cache_holds_six() {
	[ "$(in_r 2 conntrackd -C "$RG_DIR/conntrackd-r2.conf" -e 2>/dev/null |
		grep -c 'sport=0 .*mark=')" -ge 6 ]
}
t_check ha/before/carriers-in-r1-kernel eventually r1_carries_six
t_check ha/before/carriers-replicated-to-r2 eventually r2_cache_holds_six
t_check ha/before/r2-holds-no-pinhole [ -z "$(r2_pinholes 4 | grep "$rfr")$(r2_pinholes 6 | grep "$rfr")" ]
while [ $(($(date +%s) - echo_start)) -lt 8 ]; do sleep 0.2; done

# the failover: keepalived stops on R1 (it gives up the addresses, and
# sends priority 0); R2 becomes the master and runs conntrackd -c
t0=$(now)
ns_stop "${RG_HA_KEEPALIVED_PID[1]}" 5 &
switched4="" switched6="" adopted=""
for ((i = 0; i < 400; i++)); do
	[ -z "$switched4" ] && ha_has_vip 2 4 && switched4=$(now)
	[ -z "$switched6" ] && ha_has_vip 2 6 && switched6=$(now)
	[ -z "$adopted" ] && r2_pinholes | grep -q "$rfr" && adopted=$(now)
	[ -n "$switched4" ] && [ -n "$switched6" ] && [ -n "$adopted" ] && break
	sleep 0.02
done
wait $!
ha_wait_master 2 10 || t_fail ha/failover "R2 did not take over"
wait "$echo_pid"

# 1. the established connection
sent=$(json_get "$RG_DIR/echo.json" hold sent)
echoes=$(json_get "$RG_DIR/echo.json" hold echoes)
err=$(json_get "$RG_DIR/echo.json" hold error)
t_check ha/established/connected first_try "$(cat "$RG_DIR/echo.json")"
all_echoed() { [ "${sent:-0}" -gt 0 ] && [ "$sent" = "$echoes" ]; }
t_check ha/established/every-line-echoed all_echoed
t_check ha/established/not-cut [ "$err" = null ]
last=$(json_get "$RG_DIR/echo.json" hold last_echo)
t_check ha/established/echoes-after-failover awk -v l="${last:-0}" -v t="${switched4:-$t0}" 'BEGIN { exit !(l > t) }'
gap=$(grep '"event": *"echo"' "$RG_DIR/echo.json" | "$RG_PY" -c '
import json, sys
t = [json.loads(l)["t"] for l in sys.stdin]
print("%.3f" % max((b - a for a, b in zip(t, t[1:])), default=0))')

# 2. looked up through R1, connects through R2
t_check ha/after/pinhole-adopted [ -n "$adopted" ]
t_check ha/after/looked-up-before-connects first_try "$(connect_only "$c" "$RG_HA_SERVER4" "$rfr")"
t_check ha/after/adoption-logged grep -q "opened tcp $RG_HA_CLIENT4 -> $RG_HA_SERVER4:$rfr for [0-9]*s: carried over by conntrack sync" "$RG_DIR/rpcgated-r2.log"
t_check ha/after/unpinholed-dropped blocked "$(connect_only "$c" "$RG_HA_SERVER4" 1999)"
t_check ha/after-udp/pinhole-adopted eventually r2_holds "udp . $UDP_PORT"
t_check ha/after-udp/answers-through-r2 udp "$c" ping "$RG_HA_SERVER4" "$UDP_PORT"
t_check ha/after6/pinhole-adopted eventually r2_holds "$rfr" 6
t_check ha/after6/looked-up-before-connects first_try "$(connect_only "$c" "$RG_HA_SERVER6" "$rfr")"
t_check ha/after6/denied-not-opened [ -z "$(r2_pinholes 6 | grep "$nspi")" ]
t_check ha/after6/denied-blocked blocked "$(connect_only "$c" "$RG_HA_SERVER6" "$nspi")"

# 3. what R2's policy denies stays closed, carrier or not
t_check ha/after/denied-carrier-committed [ "$(in_r 2 conntrack -L -p tcp --dport "$nspi" -m 0x00400000/0x00400000 2>/dev/null | grep -c 'sport=0 ')" -ge 1 ]
t_check ha/after/denied-not-opened [ -z "$(r2_pinholes | grep "$nspi")" ]
t_check ha/after/denied-blocked blocked "$(connect_only "$c" "$RG_HA_SERVER4" "$nspi")"
t_check ha/after/denied-logged grep -q "refused tcp $RG_HA_CLIENT4 -> $RG_HA_SERVER4:$nspi carried over by conntrack sync: " "$RG_DIR/rpcgated-r2.log"

t_check ha/daemons-alive kill -0 "${RG_HA_GATE_PID[1]}" "${RG_HA_GATE_PID[2]}"

# 4. rpcgated restarted on the new master after `rpcgated --remove` (its
# table and state file gone, not the carriers): the start re-opens what
# they stand for
ns_stop "${RG_HA_GATE_PID[2]}" 5
in_r 2 "$RG_BIN" --remove -c "$RG_DIR/rpcgate-r2.conf" -s "$RG_DIR/control-r2" >/dev/null 2>&1 ||
	t_fail ha/restart/remove "rpcgated --remove"
t_check ha/restart/table-gone-with-daemon [ -z "$(r2_pinholes)" ]
ha_gate_start 2 "$conf
deny_ports = [ $nspi ];" || t_fail ha/restart/daemon-r2 "$(tail -n 3 "$RG_DIR/rpcgated-r2.log")"
t_check ha/restart/carried-pinhole-back eventually r2_holds "$rfr"
t_check ha/restart/denied-still-closed [ -z "$(r2_pinholes | grep "$nspi")" ]
t_check ha/restart/connects first_try "$(connect_only "$c" "$RG_HA_SERVER4" "$rfr")"

# 5. a revoked pinhole takes its carrier with it: nothing is left for
# conntrackd to bring back
rfr_carrier() { in_r 2 conntrack -L -f ipv4 -s "$RG_HA_CLIENT4" -p tcp --dport "$rfr" -m 0x00400000/0x00400000 2>/dev/null | grep -c 'sport=0 '; }
t_check ha/revoke/carrier-before [ "$(rfr_carrier)" -ge 1 ]
CTL=${RG_CTL:-$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/rpcgatectl}
in_r 2 "$CTL" -s "$RG_DIR/control-r2" revoke "tcp/$RG_HA_CLIENT4/$RG_HA_SERVER4/$rfr" >/dev/null ||
	t_fail ha/revoke/rpcgatectl
rfr_carrier_gone() { [ "$(rfr_carrier)" -eq 0 ]; }
t_check ha/revoke/carrier-deleted eventually rfr_carrier_gone

# 6. failback: a lookup through R2 (EMSMDB over IPv6, not connected), then
# keepalived back on R1, which takes the addresses again (priority 150):
# the pinhole R2 opened travels the other way
t_check ha/failback/lookup-through-r2 grep -q '"port": '"$emsmdb" <<<"$(map_and_connect "$c" "$RG_HA_SERVER6" EMSMDB --no-connect)"
r1_cache_has_emsmdb6() {
	in_r 1 conntrackd -C "$RG_DIR/conntrackd-r1.conf" -e 2>/dev/null |
		grep -q "src=$RG_HA_CLIENT6 dst=$RG_HA_SERVER6 sport=0 dport=$emsmdb .*mark="
}
t_check ha/failback/carrier-replicated-to-r1 eventually r1_cache_has_emsmdb6
ha_keepalived_start 1
ha_wait_master 1 15 || t_fail ha/failback/vrrp "R1 did not take the addresses back"
r1_has_emsmdb6() { in_r 1 nft list set inet rpcgate pinholes6 2>/dev/null | grep -q "$emsmdb"; }
t_check ha/failback/pinhole-adopted-by-r1 eventually r1_has_emsmdb6
t_check ha/failback/connects-through-r1 first_try "$(connect_only "$c" "$RG_HA_SERVER6" "$emsmdb")"
echo "# ha: after SIGTERM to R1's keepalived: R2 holds the IPv4 addresses at" \
	"${switched4:+$(elapsed "$t0" "$switched4") s}, the IPv6 ones at" \
	"${switched6:+$(elapsed "$t0" "$switched6") s}; the carried IPv4 pinhole is in R2's set at" \
	"${adopted:+$(elapsed "$t0" "$adopted") s}; longest gap between echoes (IPv4) $gap s" \
	"(${echoes:-0}/${sent:-0} lines, 10 ms apart)"
echo "ns: $RG_T_PASS passed, $RG_T_FAIL failed"
[ "$RG_T_FAIL" -eq 0 ]
