#!/usr/bin/env bash
# One line per decision, rate-limited: with log_burst = 2 per log_interval,
# five lookups open five pinholes (the statistics count them all) but the
# log has two "opened" lines and then says how many it left out; at
# log_level "debug" each advertised endpoint gets a line saying what the
# decoder saw and what was decided.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail logging/setup "namespace lab"; exit 1; }
# the five lookups must fall in one log_interval: the C client takes
# milliseconds where impacket takes a second on a loaded machine
TOOL=$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/tools/epm_map_client
[ -x "$TOOL" ] || { t_fail logging/tool "$TOOL missing (make tools)"; exit 1; }

epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" || { t_fail logging/epm-server; exit 1; }
gate_start "servers = [ \"$RG_SERVER4\" ];
log_burst = 2;
log_interval = 10;
log_level = \"debug\";" || { t_fail logging/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
for i in 1 2 3 4 5; do
	in_ns client "$TOOL" "$RG_SERVER4" >/dev/null
done
t_check logging/burst-of-two [ "$(grep -c 'rpcgated: opened ' "$RG_DIR/rpcgated.log")" -eq 2 ]
kill -USR1 "$RG_GATE_PID"
for ((i = 0; i < 40; i++)); do grep -q 'statistics:' "$RG_DIR/rpcgated.log" && break; sleep 0.1; done
t_check logging/statistics-count-all grep -q 'statistics: .* 5 opened' "$RG_DIR/rpcgated.log"
# the window ends: one line says how many were left out
for ((i = 0; i < 150; i++)); do grep -q 'suppressed' "$RG_DIR/rpcgated.log" && break; sleep 0.1; done
t_check logging/left-out-counted grep -q '3 "opened" lines suppressed' "$RG_DIR/rpcgated.log"
t_check logging/debug-per-endpoint grep -q "conversation tcp 192.0.2.10:[0-9]* -> $RG_SERVER4:135, call [0-9]* (ept_map): EMSMDB tcp/[0-9]*: opened" "$RG_DIR/rpcgated.log"
# after the window, a new burst
map_and_connect client "$RG_SERVER4" EMSMDB --no-connect >/dev/null
t_check logging/next-window-logs [ "$(grep -c 'rpcgated: opened ' "$RG_DIR/rpcgated.log")" -eq 3 ]
gate_stop
