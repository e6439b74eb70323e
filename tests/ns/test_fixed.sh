#!/usr/bin/env bash
# Fixed-port mode: the server pinned in the registry works end to end on
# its fixed port; an interface it advertises on any other port is drift:
# blocked, warned about with the registry value to fix, counted.  A group
# of other servers stays dynamic.  Clients without a lookup reach the
# fixed ports or not, as fixed_require_lookup says.  ept_lookup answers
# open pinholes only with allow_lookup.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail fixed/setup "namespace lab"; exit 1; }

# server: EMSMDB pinned to 6001, NSPI not pinned (drifted); server2: dynamic
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --iface EMSMDB=6001 --iface NSPI ||
	{ t_fail fixed/epm-server; exit 1; }
epm_pid=$RG_EPM_PID
epm_server_start server2 "$RG_DIR/epm2" --addr "$RG_SERVER2_4" || { t_fail fixed/epm-server2; exit 1; }
nspi=$(epm_port "$RG_DIR/epm" NSPI)
dynamic=$(epm_port "$RG_DIR/epm2" EMSMDB)

fixed_conf() { # fixed_require_lookup
	echo "servers = [ \"$RG_SERVER4\" ];
interfaces = [ \"exchange\" ];
mode = \"fixed\";
fixed_ports = [ 6001, 6004 ];
fixed_require_lookup = $1;
groups = ( { servers = [ \"$RG_SERVER2_4\" ]; mode = \"dynamic\"; } );"
}

for require in false true; do
	gate_start "$(fixed_conf $require)" || { t_fail "fixed-$require/daemon-start" "$(gate_log | tail -n 3)"; continue; }
	in_router nft delete table inet filter 2>/dev/null
	"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - || t_fail "fixed-$require/ruleset"

	out=$(connect_only client2 "$RG_SERVER4" 6001)
	if [ $require = false ]; then
		t_check "fixed-$require/fixed-port-open-without-lookup" first_try "$out"
	else
		t_check "fixed-$require/fixed-port-closed-without-lookup" blocked "$out"
	fi
	out=$(map_and_connect client "$RG_SERVER4" EMSMDB)
	t_check "fixed-$require/fixed-port-after-lookup" first_try "$out"

	out=$(map_and_connect client "$RG_SERVER4" NSPI)
	t_check "fixed-$require/drift-blocked" blocked "$out"
	t_check "fixed-$require/drift-warned" grep -q \
		"drift: server $RG_SERVER4 advertises NSPI on tcp/$nspi, expected 6001, 6004.*MSExchangeAB.*RpcTcpPort" <<<"$(gate_log)"
	t_check "fixed-$require/drift-opened-nothing" bash -c "! grep -q 'tcp . $nspi' <<<'$(pinholes 4)'"
	kill -USR1 "$RG_GATE_PID"; sleep 0.3
	t_check "fixed-$require/drift-counted" grep -q "statistics: .* 1 drift" <<<"$(gate_log)"

	out=$(map_and_connect client "$RG_SERVER2_4" EMSMDB)
	t_check "fixed-$require/dynamic-group-opens" first_try "$out"
	gate_stop
done

# ept_lookup answers, both settings of allow_lookup
for allow in false true; do
	gate_start "servers = [ \"$RG_SERVER4\" ];
interfaces = [ \"exchange\" ];
allow_lookup = $allow;" || { t_fail "lookup-$allow/daemon-start"; continue; }
	in_ns client "$RG_PY" "$RG_LIB_DIR/epm_client.py" "$RG_SERVER4" --lookup >"$RG_DIR/lookup-$allow" 2>&1
	out=$(connect_only client "$RG_SERVER4" "$nspi")
	if [ $allow = true ]; then
		t_check "lookup-$allow/lookup-opens" first_try "$out"
		t_check "lookup-$allow/logged-opened" grep -q "opened tcp .*:$nspi" <<<"$(gate_log)"
	else
		t_check "lookup-$allow/lookup-opens-nothing" blocked "$out"
		t_check "lookup-$allow/logged-refused" grep -q "refused .*ept_lookup answers open nothing" <<<"$(gate_log)"
	fi
	gate_stop
done

# A dynamic server's tower naming a server of a fixed-mode group is judged
# by that group: drift, nothing opened.  With server2's group dynamic the
# same answer opens the pinhole to server2 (the tower is followed).
ns_stop "$epm_pid"
ns_stop "$RG_EPM_PID"
epm_server_start server "$RG_DIR/epm-cross" --addr "$RG_SERVER4" --iface EMSMDB=50123 \
	--tower-addr "$RG_SERVER2_4" || t_fail cross/epm-server
epm_server_start server2 "$RG_DIR/epm2-cross" --addr "$RG_SERVER2_4" --iface EMSMDB=50123 ||
	t_fail cross/epm-server2
for mode in fixed dynamic; do
	[ $mode = fixed ] && ports='fixed_ports = [ 6001 ]; ' || ports=
	gate_start "servers = [ \"$RG_SERVER4\" ];
groups = ( { servers = [ \"$RG_SERVER2_4\" ]; mode = \"$mode\"; $ports} );" ||
		{ t_fail "cross-$mode/daemon-start" "$(gate_log | tail -n 3)"; continue; }
	in_router nft delete table inet filter 2>/dev/null
	"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - || t_fail "cross-$mode/ruleset"
	out=$(map_and_connect client "$RG_SERVER4" EMSMDB --connect-to tower)
	if [ $mode = fixed ]; then
		t_check cross-fixed/tower-names-server2 grep -q "\"tower_addr\": \"$RG_SERVER2_4\"" <<<"$out"
		t_check cross-fixed/drift-blocked blocked "$out"
		t_check cross-fixed/drift-opened-nothing bash -c "! grep -q 'tcp . 50123' <<<'$(pinholes 4)'"
		t_check cross-fixed/drift-names-server2-and-its-group grep -q \
			"drift: server $RG_SERVER2_4 (group at line 2; in an answer from $RG_SERVER4) advertises EMSMDB on tcp/50123, expected 6001" \
			<<<"$(gate_log)"
	else
		t_check cross-dynamic/tower-followed first_try "$out"
		t_check cross-dynamic/pinhole-to-server2 grep -q \
			"$RG_CLIENT4 . $RG_SERVER2_4 . tcp . 50123" <<<"$(pinholes 4)"
	fi
	gate_stop
done
