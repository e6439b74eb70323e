#!/usr/bin/env bash
# A hostile endpoint mapper opens nothing and the daemon keeps running; with
# the daemon gone, endpoint-mapper traffic does what on_failure says.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail hostile/setup "namespace lab"; exit 1; }

CONF="servers = [ \"$RG_SERVER4\" ];
interfaces = [ \"exchange\" ];"
gate_start "$CONF" || { t_fail hostile/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
for kind in malformed-tower third-host port-135 port-445 many-towers many-towers-frag lying-count bad-status wrong-call-id fault; do
	epm_server_start server "$RG_DIR/epm-$kind" --addr "$RG_SERVER4" --hostile "$kind" ||
		{ t_fail "hostile/$kind/epm-server"; continue; }
	map_and_connect client "$RG_SERVER4" EMSMDB --epm-timeout 10 >"$RG_DIR/client-$kind" 2>&1
	t_check "hostile/$kind/no-pinhole" [ -z "$(pinholes 4)" ]
	t_check "hostile/$kind/daemon-alive" kill -0 "$RG_GATE_PID"
	ns_stop "$RG_EPM_PID"
done
t_check hostile/nothing-opened bash -c "! grep -q opened '$RG_DIR/rpcgated.log'"
# the third host's tower is refused for what it is, not by accident
t_check hostile/third-host-reason grep -q "refused 1 endpoint.*not a configured server" "$RG_DIR/rpcgated.log"
t_check hostile/port-445-reason grep -q "refused 1 endpoint.*tcp/445).*port outside port_range" "$RG_DIR/rpcgated.log"
gate_stop

# The daemon dies (SIGKILL: its table stays) and nothing reads the queue.
epm_server_start server "$RG_DIR/epm-failure" --addr "$RG_SERVER4" || t_fail hostile/epm-server
for mode in open closed; do
	gate_start "$CONF
on_failure = \"$mode\";" || { t_fail "on-failure-$mode/daemon-start"; continue; }
	kill -KILL "$RG_GATE_PID"; wait "$RG_GATE_PID" 2>/dev/null
	out=$(map_and_connect client "$RG_SERVER4" EMSMDB --no-connect --epm-timeout 3)
	if [ $mode = open ]; then
		t_check "on-failure-open/epm-answers-pass" grep -q '"event": "map", "ok": true' <<<"$out"
	else
		t_check "on-failure-closed/epm-traffic-dropped" bash -c "! grep -q '\"event\": \"map\", \"ok\": true' <<<'$out'"
	fi
	in_router nft delete table inet rpcgate
done

# Caps (the endpoint mapper from the on_failure part still runs): over
# each, the answer passes, nothing opens, and the refusal is logged.
gate_start "$CONF
max_flows = 1;
max_pinholes_per_client = 1;" || t_fail caps/daemon-start "$(gate_log | tail -n 3)"
ns_bg client "$RG_PY" -c "import socket, time; s = socket.create_connection(('$RG_SERVER4', 135)); time.sleep(4)"
sleep 0.5
out=$(map_and_connect client "$RG_SERVER4" EMSMDB)
t_check caps/max-flows-answer-opens-nothing blocked "$out"
t_check caps/max-flows-logged grep -q "not followed: max_flows reached" "$RG_DIR/rpcgated.log"
sleep 4
out=$(map_and_connect client "$RG_SERVER4" EMSMDB)
t_check caps/first-pinhole-opens first_try "$out"
out=$(map_and_connect client "$RG_SERVER4" NSPI)
t_check caps/per-client-cap-blocks blocked "$out"
t_check caps/per-client-cap-logged grep -q "refused 1 endpoint.*NSPI.*max_pinholes_per_client" "$RG_DIR/rpcgated.log"
t_check caps/daemon-alive kill -0 "$RG_GATE_PID"
gate_stop
