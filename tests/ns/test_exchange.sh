#!/usr/bin/env bash
# An Exchange-shaped endpoint mapper (impacket's NDR encoders) on dynamic
# ports, rpcgated on the router, real kernel: what opens, for whom, how long.
# The router's own ruleset is `rpcgated --print-ruleset` (forward policy
# drop), plus endpoint-mapper access to a second server that is not in
# rpcgate's servers.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail exchange/setup "namespace lab"; exit 1; }

TIMEOUT=4
for fam in 4 6; do
	eval server=\$RG_SERVER$fam server2=\$RG_SERVER2_$fam
	epm_server_start server "$RG_DIR/epm$fam" --addr "$server" || { t_fail "exchange$fam/epm-server"; continue; }
	srv_pid=$RG_EPM_PID
	epm_server_start server2 "$RG_DIR/epm2_$fam" --addr "$server2" || { t_fail "exchange$fam/epm-server2"; continue; }
	srv2_pid=$RG_EPM_PID
	emsmdb=$(epm_port "$RG_DIR/epm$fam" EMSMDB)
	other=$(epm_port "$RG_DIR/epm2_$fam" EMSMDB)
	gate_start "servers = [ \"$server\" ];
interfaces = [ \"exchange\" ];
pinhole_timeout = $TIMEOUT;" || { t_fail "exchange$fam/daemon-start" "$(gate_log | tail -n 3)"; continue; }
	"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - &&
		in_router nft add rule inet filter forward "$([ $fam = 4 ] && echo ip || echo ip6)" daddr "$server2" tcp dport 135 accept ||
		t_fail "exchange$fam/ruleset" "nft refused the printed ruleset"

	out=$(connect_only client "$server" "$emsmdb")
	t_check "exchange$fam/dropped-before-lookup" blocked "$out"

	out=$(map_and_connect client "$server" EMSMDB)
	t_check "exchange$fam/first-syn-after-map" first_try "$out"
	t_check "exchange$fam/pinhole-in-set" grep -q "tcp . $emsmdb" <<<"$(pinholes "$fam")"

	out=$(connect_only client "$server" "$emsmdb"; connect_only client "$server" "$emsmdb")
	t_check "exchange$fam/second-and-third-connection" [ "$(count_connected_first_try "$out")" -eq 2 ]

	out=$(connect_only client2 "$server" "$emsmdb")
	t_check "exchange$fam/other-client-dropped" blocked "$out"

	out=$(map_and_connect client "$server" SAMR)
	t_check "exchange$fam/disallowed-interface-dropped" blocked "$out"

	out=$(map_and_connect client "$server2" EMSMDB)
	t_check "exchange$fam/unlisted-server-opens-nothing" blocked "$out"
	t_check "exchange$fam/unlisted-server-not-in-set" bash -c "! grep -q 'tcp . $other' <<<'$(pinholes "$fam")'"

	# the last connection renewed the pinhole; wait it out completely
	sleep $((TIMEOUT + 2))
	out=$(connect_only client "$server" "$emsmdb")
	t_check "exchange$fam/dropped-after-timeout" blocked "$out"
	t_check "exchange$fam/logged-opened" grep -q "opened tcp .* EMSMDB tcp/$emsmdb" <<<"$(gate_log)"
	t_check "exchange$fam/logged-refused-interface" grep -q "refused 1 endpoint.*SAMR.*interface not in interfaces" <<<"$(gate_log)"
	t_check "exchange$fam/logged-expired" grep -q "expired tcp .*:$emsmdb" <<<"$(gate_log)"
	gate_stop
	t_check "exchange$fam/table-left-at-exit" in_router nft list table inet rpcgate
	in_router "$RG_BIN" --remove -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control" >/dev/null
	t_check "exchange$fam/table-removed-by-remove" bash -c "! ip netns exec $RG_NS_ROUTER nft list table inet rpcgate 2>/dev/null"
	in_router nft delete table inet filter
	ns_stop "$srv_pid"; ns_stop "$srv2_pid"
done
