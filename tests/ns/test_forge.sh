#!/usr/bin/env bash
# Answers only from the server's side, IPv4 and IPv6, with rp_filter = 0 on
# the router and the printed ruleset: a client that forges the server's
# answer to itself (forge.py; hairpinned back out of lan0) opens nothing --
# on its own real connection while the server holds its answer, over UDP
# with a TCP tower, and in a conversation no server ever took part in.
# The attacker's connection to the forged port is dropped, the forgery is
# logged (once per source), and the genuine answers still work: the held
# one opens its port, and a lookup right after connects on its first SYN.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
# log_lacks ERE: no line of the daemon's log matches (the log is never
# pasted into a command line, where its quotes would end the string)
log_lacks() { ! gate_log | grep -Eq "$1"; }
ns_setup || { t_fail forge/setup "namespace lab"; exit 1; }

FORGE="$RG_LIB_DIR/forge.py"
HOLD=1.5                # seconds the server sits on its ept_map answer
GENUINE=49777           # the port the held (genuine) answer advertises
# forged ports: in port_range, not denied (WinRM's)
TCP_FORGED=5985 UDP_FORGED=5986 MIDSTREAM_FORGED=5987

# strict reverse path must come from rpcgated, not from the router's own
# settings: Debian's default, spelled out
rg_sysctls "$RG_NS_ROUTER" net.ipv4.conf.all.rp_filter=0 \
	net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.$RG_LAN_IF.rp_filter=0"
router_mac=$(in_router cat "/sys/class/net/$RG_LAN_IF/address")
# the attacker's own host does not answer the forged server (no RST
# tearing the fabricated conversation down before it is complete)
in_client nft -f - <<EOF || t_fail forge/client-ruleset
table inet attacker {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp sport 135 ip saddr 198.51.100.99 drop
		tcp sport 135 ip6 saddr 2001:db8:2::99 drop
	}
}
EOF
ns_bg server "$RG_PY" "$RG_LIB_DIR/tcp_probe.py" listen $TCP_FORGED \
	"$RG_SERVER4" "$RG_SERVER6" >/dev/null
ns_bg server "$RG_PY" "$RG_LIB_DIR/tcp_probe.py" listen $UDP_FORGED \
	"$RG_SERVER4" "$RG_SERVER6" >/dev/null
wait_tcp_listen server "$RG_SERVER6" $UDP_FORGED || t_fail forge/listeners

for fam in 4 6; do
	eval server=\$RG_SERVER$fam client=\$RG_CLIENT$fam
	# a configured server that does not exist: nobody answers for it
	ghost=$([ $fam = 4 ] && echo 198.51.100.99 || echo 2001:db8:2::99)
	ns_bg server "$RG_PY" "$FORGE" serve-slow "$server" "$HOLD" $GENUINE \
		>"$RG_DIR/slow$fam.json" 2>&1
	slow_pid=$RG_LAST_PID
	wait_tcp_listen server "$server" 135 || { t_fail "forge$fam/slow-server"; continue; }
	gate_start "servers = [ \"$server\", \"$ghost\" ];
interfaces = [ \"exchange\" ];" || { t_fail "forge$fam/daemon-start" "$(gate_log | tail -n 3)"; continue; }
	"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - ||
		t_fail "forge$fam/ruleset" "nft refused the printed ruleset"

	# a. the client's own connection, answered in the server's name
	out=$(in_client "$RG_PY" "$FORGE" tcp "$server" "$router_mac" $TCP_FORGED 2>&1)
	t_check "forge$fam/tcp-forgery-sent" grep -q '"error": null' <<<"$out"
	t_check "forge$fam/tcp-client-read-genuine-answer" grep -q "\"read_port\": $GENUINE" <<<"$out"
	t_check "forge$fam/tcp-forged-port-not-in-set" bash -c "! grep -q 'tcp . $TCP_FORGED' <<<'$(pinholes "$fam")'"
	t_check "forge$fam/tcp-attacker-dropped" blocked "$(connect_only client "$server" $TCP_FORGED)"
	t_check "forge$fam/tcp-forgery-logged" grep -Eq \
		"forged answer dropped: tcp \[?$server\]?:135 -> \[?$client\]?:[0-9]+ claims to be server $server port 135, came in on $RG_LAN_IF" \
		<<<"$(gate_log)"
	# the held genuine answer was not lost to "first copy wins"
	t_check "forge$fam/tcp-genuine-answer-opened" grep -q "tcp . $GENUINE" <<<"$(pinholes "$fam")"
	t_check "forge$fam/tcp-genuine-port-first-syn" first_try "$(connect_only client "$server" $GENUINE)"

	# b. a forged UDP answer carrying a TCP tower
	out=$(in_client "$RG_PY" "$FORGE" udp "$server" "$router_mac" $UDP_FORGED 2>&1)
	t_check "forge$fam/udp-forgery-not-delivered" grep -q '"received": false' <<<"$out"
	t_check "forge$fam/udp-forged-port-not-in-set" bash -c "! grep -q 'tcp . $UDP_FORGED' <<<'$(pinholes "$fam")'"
	t_check "forge$fam/udp-attacker-dropped" blocked "$(connect_only client "$server" $UDP_FORGED)"
	t_check "forge$fam/udp-forgery-logged" grep -Eq \
		"forged answer dropped: udp \[?$server\]?:135 -> .* came in on $RG_LAN_IF" <<<"$(gate_log)"

	# c. no connection, no server: both halves from the client
	out=$(in_client "$RG_PY" "$FORGE" midstream "$ghost" "$client" "$router_mac" $MIDSTREAM_FORGED 2>&1)
	t_check "forge$fam/midstream-sent" grep -q '"event": "midstream"' <<<"$out"
	t_check "forge$fam/midstream-nothing-opened" bash -c "! grep -q 'tcp . $MIDSTREAM_FORGED' <<<'$(pinholes "$fam")'"
	t_check "forge$fam/midstream-not-opened-in-log" log_lacks "opened tcp .*:$MIDSTREAM_FORGED\b"
	# two forged segments (bind_ack, answer) from one source: one line
	t_check "forge$fam/midstream-logged-once" [ "$(grep -c "forged answer dropped: tcp \[\?$ghost\]\?:135" <<<"$(gate_log)")" -eq 1 ]

	# d. the same client, a genuine lookup right after
	ns_stop "$slow_pid"
	epm_server_start server "$RG_DIR/epm$fam" --addr "$server" || { t_fail "forge$fam/epm-server"; gate_stop; continue; }
	epm_pid=$RG_EPM_PID
	t_check "forge$fam/genuine-lookup-first-syn" first_try "$(map_and_connect client "$server" EMSMDB)"
	t_check "forge$fam/no-forged-pinhole-ever" log_lacks "opened tcp .*:($TCP_FORGED|$UDP_FORGED|$MIDSTREAM_FORGED)\b"
	# a. one segment, b. one datagram, c. two segments: four, counted
	kill -USR1 "$RG_GATE_PID"
	for ((i = 0; i < 20; i++)); do grep -q 'statistics:' <<<"$(gate_log)" && break; sleep 0.05; done
	t_check "forge$fam/counted-in-statistics" grep -q ', 4 forged packets dropped;' <<<"$(gate_log)"
	gate_stop
	in_router nft delete table inet filter
	ns_stop "$epm_pid"
done
