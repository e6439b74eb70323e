#!/usr/bin/env bash
# One client's 5,000 half-open connections to the endpoint mapper, and
# another's 5,000 UDP requests, do not stop a third client's lookup from
# connecting on its first SYN: with the default caps (max_flows 4096, 256
# per client address and protocol) the floods hold 512 flows at most; with
# the per-client caps out of the way the flood fills max_flows, and the
# flooding host gives way to the newcomer.
set -u
RG_WITH_CLIENT3=1
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
FLOOD=$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/tools/flood
[ -x "$FLOOD" ] || { t_skip flood/tool "$FLOOD missing (make tools)"; exit 0; }
ns_setup || { t_fail flood/setup "namespace lab"; exit 1; }

epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" || { t_fail flood/epm-server; exit 1; }
# The flooding client's kernel would reset every SYN-ACK (it made no such
# connection): dropped, the connections stay half-open at the server and
# in rpcgated.  Nothing listens on the server's UDP 135, so the UDP
# requests are never answered either.
in_client nft -f - <<'EOF' || t_fail flood/client-rst-rule
table inet flood {
	chain out {
		type filter hook output priority filter;
		tcp dport 135 tcp flags & rst == rst drop
	}
}
EOF

CONF="servers = [ \"$RG_SERVER4\" ];
interfaces = [ \"exchange\" ];"

# stats_field PATTERN: the number before PATTERN in the latest statistics line
stats_field() {
	kill -USR1 "$RG_GATE_PID"
	sleep 0.3
	grep 'statistics:' "$RG_DIR/rpcgated.log" | tail -n 1 |
		grep -Eo "[0-9]+ $1" | grep -Eo '^[0-9]+'
}
wait_log() { # wait_log PATTERN [seconds]
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		grep -q "$1" "$RG_DIR/rpcgated.log" && return 0
		sleep 0.05
	done
	return 1
}

# ---- the defaults: per-client caps
gate_start "$CONF" || { t_fail flood/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - || t_fail flood/ruleset
ns_bg client "$FLOOD" syn "$RG_CLIENT4" "$RG_SERVER4" 135 5000 2000 >"$RG_DIR/flood-syn" 2>&1
syn_pid=$RG_LAST_PID
ns_bg client2 "$FLOOD" udp "$RG_CLIENT2_4" "$RG_SERVER4" 135 5000 2000 >"$RG_DIR/flood-udp" 2>&1
udp_pid=$RG_LAST_PID
# the lookup starts once the floods are over the per-client caps
t_check flood/per-client-cap-reached wait_log "max_flows_per_client"
out=$(map_and_connect client3 "$RG_SERVER4" EMSMDB)
t_check flood/floods-still-running kill -0 "$syn_pid" "$udp_pid"
t_check flood/third-client-first-try first_try "$out"
t_check flood/third-client-pinhole grep -q "$RG_CLIENT3_4" <<<"$(pinholes 4)"
wait "$syn_pid"; t_check flood/syn-flood-sent grep -q "sent 5000 of 5000" "$RG_DIR/flood-syn"
wait "$udp_pid"; t_check flood/udp-flood-sent grep -q "sent 5000 of 5000" "$RG_DIR/flood-udp"
# both floods were seen and capped: at most 256 flows each (and the
# third client's), the rest refused
refused=$(stats_field 'refused \(per client\)')
t_check flood/refusals-counted [ "${refused:-0}" -ge 4000 ]
tracked=$(grep 'statistics:' "$RG_DIR/rpcgated.log" | tail -n 1 | grep -Eo 'flows [0-9]+ tracked now' | grep -Eo '[0-9]+')
t_check flood/flows-within-caps [ "${tracked:-99999}" -le 513 ]
# the half-open ones go after flow_handshake_timeout (5 s), not 300 s
sleep 6
t_check flood/half-open-forgotten [ "$(stats_field 'half-open expired')" -ge 500 ]
t_check flood/daemon-alive kill -0 "$RG_GATE_PID"
gate_stop

# ---- no per-client caps, half-open flows kept long: the table fills,
# and the host holding the most gives way
gate_start "$CONF
max_flows_per_client = 1048576;
flow_handshake_timeout = 120;" || { t_fail flood/fair-daemon-start "$(gate_log | tail -n 3)"; exit 1; }
in_ns client "$FLOOD" syn "$RG_CLIENT4" "$RG_SERVER4" 135 5000 2000 >"$RG_DIR/flood-syn2" 2>&1
t_check flood/fair-syn-flood-sent grep -q "sent 5000 of 5000" "$RG_DIR/flood-syn2"
t_check flood/fair-table-full [ "$(stats_field 'tracked now')" -eq 4096 ]
out=$(map_and_connect client3 "$RG_SERVER4" EMSMDB)
t_check flood/fair-third-client-first-try first_try "$out"
t_check flood/fair-biggest-gave-way wait_log "the host holding the most gave way" 12
t_check flood/fair-flooder-refused grep -q "max_flows reached, and the client's host holds the most" "$RG_DIR/rpcgated.log"
t_check flood/fair-daemon-alive kill -0 "$RG_GATE_PID"
gate_stop
