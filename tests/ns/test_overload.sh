#!/usr/bin/env bash
# Overload never lets an answer pass unseen.  queue_max_len = 16 and the
# daemon stopped (SIGSTOP) while 48 clients, each its own address (so each
# lookup needs a pinhole of its own), look EMSMDB up and then connect to
# the advertised port (tests/tools/epm_map_client -c): the queue fills, the
# kernel drops the rest -- on_failure = "open" notwithstanding -- and TCP
# sends them again once the daemon runs on (SIGCONT).  Every lookup is
# answered and every answer connects on its first SYN (it crossed the
# router only once its pinhole was in place), the drops are counted as the
# kernel counts them and logged at most once per log_interval, and the
# packets read in one burst went out in batch verdicts -- which never
# reached a held answer early, or its client's first SYN would have been
# dropped.  The daemon lives on.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
TOOL=$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/tools/epm_map_client
CTL=${RG_CTL:-$(dirname "$RG_BIN")/rpcgatectl}
N=48 QUEUE_MAX_LEN=16 INTERVAL=2
[ -x "$TOOL" ] || { t_fail overload/tool "$TOOL missing (make tools)"; exit 1; }
ns_setup || { t_fail overload/setup "namespace lab"; exit 1; }

epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" ||
	{ t_fail overload/epm-server; exit 1; }
for ((i = 0; i < N; i++)); do
	echo "address add 192.0.2.$((100 + i))/24 dev $RG_HOST_IF"
done | in_client ip -batch - || { t_fail overload/addresses "ip -batch"; exit 1; }
gate_start "servers = [ \"$RG_SERVER4\" ];
on_failure = \"open\";
queue_max_len = $QUEUE_MAX_LEN;
log_interval = $INTERVAL;" || { t_fail overload/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - ||
	t_fail overload/ruleset "nft refused the printed ruleset"

metric() { # metric NAME: its value in rpcgatectl metrics
	"$CTL" -s "$RG_DIR/control" metrics | sed -n "s/^rpcgate_$1 //p"
}
kernel_dropped() { # the kernel's queue_dropped for queue 135 (column 6)
	in_router awk '$1 == 135 { print $6 }' /proc/net/netfilter/nfnetlink_queue
}

t_check overload/lookup-before first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"

kill -STOP "$RG_GATE_PID"
pids=()
for ((i = 0; i < N; i++)); do
	in_client "$TOOL" -c -t 60 -f "192.0.2.$((100 + i))" "$RG_SERVER4" \
		>"$RG_DIR/lookup.$i" 2>&1 </dev/null &
	pids+=($!)
done
for ((i = 0; i < 200; i++)); do
	[ "$(kernel_dropped)" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
t_check overload/queue-filled [ "$(kernel_dropped)" -gt 0 ]
resumed=$(date +%s)
kill -CONT "$RG_GATE_PID"
for pid in "${pids[@]}"; do wait "$pid"; done
cat "$RG_DIR"/lookup.* >"$RG_DIR/lookups"

answered=$(grep -Ec '^[0-9.]+ [0-9]+( |$)' "$RG_DIR/lookups")
first_syn=$(grep -c ' first-syn$' "$RG_DIR/lookups")
t_check overload/every-lookup-answered [ "$answered" -eq $N ]
t_check overload/every-answer-had-its-pinhole [ "$first_syn" -eq "$answered" ]
[ "$first_syn" -eq "$answered" ] || grep -v ' first-syn$' "$RG_DIR/lookups" | head -n 5

dropped=$(metric queue_kernel_dropped_total)
t_check overload/drops-counted [ "${dropped:-0}" -gt 0 ]
t_check overload/drops-counted-as-the-kernel [ "${dropped:-0}" -eq "$(kernel_dropped)" ]
batches=$(metric verdict_batches_total)
batched=$(metric verdict_batched_packets_total)
t_check overload/batch-verdicts [ "${batches:-0}" -gt 0 ]
t_check overload/batches-of-several [ "${batched:-0}" -ge $((2 * ${batches:-0})) ]

# the tick logs what the last line has not told yet, once per interval:
# with the load over, one more interval tells all of it
sleep $((INTERVAL + 2))
lines=$(grep -c 'NFQUEUE overload: .* none passed unseen, TCP sends them again' "$RG_DIR/rpcgated.log")
told=$(grep -o 'NFQUEUE overload: [0-9]* packet(s) dropped' "$RG_DIR/rpcgated.log" |
	awk '{ n += $3 } END { print n + 0 }')
undelivered=$(metric queue_user_dropped_total)
elapsed=$(($(date +%s) - resumed))
t_check overload/drops-logged [ "$lines" -ge 1 ]
t_check overload/logged-once-per-interval [ "$lines" -le $((elapsed / INTERVAL + 1)) ]
t_check overload/every-drop-logged [ "$told" -eq $(($(metric queue_kernel_dropped_total) + ${undelivered:-0})) ]
t_check overload/queue-max-len-named grep -q "with the queue full (queue_max_len = $QUEUE_MAX_LEN)" "$RG_DIR/rpcgated.log"

t_check overload/daemon-alive kill -0 "$RG_GATE_PID"
t_check overload/lookup-after first_try "$(map_and_connect client2 "$RG_SERVER4" EMSMDB)"
gate_stop
