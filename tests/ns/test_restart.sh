#!/usr/bin/env bash
# A restart keeps the pinholes and never opens the high range.
# Ruleset shape (a): the administrator's forward chain opens 135 and the
# whole high range to the server, rpcgated's table closes it again.
#  kill -9, then start; SIGTERM, then start: a client that looked up before
#     connects after the restart on its first SYN (v4 and v6), the
#     restored pinholes are in rpcgatectl's list, and all the while a probe
#     from a client that did no lookup, one SYN to an unpinholed high port
#     every 10 ms, gets through 0 times (on_failure "closed": endpoint-
#     mapper traffic is dropped while rpcgated is down).
#  on_failure "open": while rpcgated is down a lookup is answered (the
#     endpoint mapper passes) but its port stays closed, and the probe gets
#     through 0 times.
#  A restart with a configuration that no longer allows a pinhole (EMSMDB
#     dropped from interfaces) does not restore it, and logs why; NSPI's is.
#  A start with a bad file leaves the earlier table as it was.
#  A corrupt state file is logged and ignored; the kernel's pinholes
#     without a record are not restored.
#  A published (DNAT) server's pinhole and mapping come back too.
#  rpcgated --remove gives the router its own ruleset back.
#  Sets mode: the pinhole in the administrator's set comes back after
#     kill -9; it stays at stop, and --remove empties the set.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail restart/setup "namespace lab"; exit 1; }
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" ||
	{ t_fail restart/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
nspi=$(epm_port "$RG_DIR/epm" NSPI)
PROBE=$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/tools/syn_probe
CTL=$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/rpcgatectl
STATE=$RG_DIR/state/pinholes
[ -x "$PROBE" ] || { t_fail restart/probe "no $PROBE (make tools)"; exit 1; }
# a high port nothing ever pinholes
closed_port=$((nspi == 50999 ? 50998 : 50999))

open_range_ruleset >"$RG_DIR/admin.nft"
in_router nft -f "$RG_DIR/admin.nft" || { t_fail restart/admin-ruleset "nft -f"; exit 1; }
t_check restart/probe-sees-open-range grep -q 'through [1-9]' <<<"$(in_ns client2 "$PROBE" "$RG_SERVER4" "$closed_port" 10 1)"

conf() { # conf ON_FAILURE [INTERFACES]
	printf 'servers = [ "%s", "%s" ];\npinhole_timeout = 120;\non_failure = "%s";\ninterfaces = [ %s ];\n' \
		"$RG_SERVER4" "$RG_SERVER6" "$1" "${2:-\"exchange\"}"
}

# state_has N: the state file holds N records (written within a tick)
state_has() {
	local i
	for ((i = 0; i < 40; i++)); do
		[ -f "$STATE" ] && [ $(( ($(stat -c %s "$STATE") - 24) / 96 )) -eq "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# probe_start / probe_stop: the SYN probe from client2 to each server's
# unpinholed port, in the background; probe_stop (not in a subshell: it
# waits for them) leaves their "sent N through M" lines in $PROBED
probe_start() {
	ns_bg client2 "$PROBE" "$RG_SERVER4" "$closed_port" 10 >"$RG_DIR/probe4"
	PROBE4=$RG_LAST_PID
	ns_bg client2 "$PROBE" "$RG_SERVER6" "$closed_port" 10 >"$RG_DIR/probe6"
	PROBE6=$RG_LAST_PID
	sleep 0.2
}
probe_stop() {
	kill -TERM "$PROBE4" "$PROBE6" 2>/dev/null
	wait "$PROBE4" "$PROBE6" 2>/dev/null
	PROBED=$(cat "$RG_DIR/probe4" "$RG_DIR/probe6")
}
# none_through OUT: both probes ran (over 50 SYNs each), none got through
none_through() {
	[ "$(grep -c 'through 0 ' <<<"$1")" -eq 2 ] &&
		! grep -qE 'sent ([0-9]|[1-4][0-9]) ' <<<"$1"
}

for how in kill term; do
	gate_start "$(conf closed)" ||
		{ t_fail "restart-$how/daemon-start" "$(gate_log | tail -n 3)"; continue; }
	for fam in 4 6; do
		eval server=\$RG_SERVER$fam
		t_check "restart-$how$fam/mapped-before" first_try "$(map_and_connect client "$server" EMSMDB)"
	done
	t_check "restart-$how/state-written" state_has 2
	probe_start
	if [ $how = kill ]; then
		kill -KILL "$RG_GATE_PID"
		wait "$RG_GATE_PID" 2>/dev/null
	else
		gate_stop
		t_check "restart-$how/table-left-at-stop" in_router nft list table inet rpcgate
	fi
	RG_GATE_PID=
	sleep 0.3
	# down: with "closed" the endpoint mapper is not reached either
	t_check "restart-$how/epm-dropped-while-down" bash -c "! grep -q '\"ok\": true' <<<'$(map_and_connect client2 "$RG_SERVER4" NSPI --no-connect --epm-timeout 1)'"
	cp "$RG_DIR/rpcgated.log" "$RG_DIR/rpcgated-$how-before.log"
	if gate_start "$(conf closed)"; then
		sleep 0.3
		probe_stop
		t_check "restart-$how/probe-never-through" none_through "$PROBED"
		echo "restart-$how: probe $(tr '\n' ' ' <<<"$PROBED")" >>"$RG_DIR/figures"
		for fam in 4 6; do
			eval server=\$RG_SERVER$fam
			t_check "restart-$how$fam/looked-up-before-connects" first_try "$(connect_only client "$server" "$emsmdb")"
			t_check "restart-$how$fam/other-client-dropped" blocked "$(connect_only client2 "$server" "$emsmdb")"
		done
		t_check "restart-$how/listed" [ "$(in_router "$CTL" -s "$RG_DIR/control" pinholes --client "$RG_CLIENT4" | grep -c "$emsmdb")" -ge 1 ]
		t_check "restart-$how/logged" grep -q 'restored 2 pinhole(s) of the earlier run (2 with the kernel' "$RG_DIR/rpcgated.log"
	else
		probe_stop
		t_fail "restart-$how/daemon-restart" "$(gate_log | tail -n 3)"
	fi
	gate_stop
done

# ---- a pinhole the new configuration no longer allows stays closed
gate_start "$(conf closed)" || t_fail restart-policy/daemon-start "$(gate_log | tail -n 3)"
t_check restart-policy/mapped-emsmdb first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"
t_check restart-policy/mapped-nspi first_try "$(map_and_connect client "$RG_SERVER4" NSPI)"
t_check restart-policy/state-written state_has 3
gate_stop
if gate_start "$(conf closed '"NSPI"')"; then
	t_check restart-policy/disallowed-not-restored blocked "$(connect_only client "$RG_SERVER4" "$emsmdb")"
	t_check restart-policy/allowed-restored first_try "$(connect_only client "$RG_SERVER4" "$nspi")"
	t_check restart-policy/not-in-set bash -c "! grep -q 'tcp . $emsmdb' <<<'$(pinholes 4)'"
	t_check restart-policy/logged grep -q "not restored tcp $RG_CLIENT4 -> $RG_SERVER4:$emsmdb of the earlier run: interface not in interfaces" "$RG_DIR/rpcgated.log"
	t_check restart-policy/state-follows state_has 1
else
	t_fail restart-policy/daemon-restart "$(gate_log | tail -n 3)"
fi
gate_stop

# ---- a start that fails leaves the earlier table untouched
printf 'servers = [ "not an address" ];\nstate_file = "%s";\n' "$STATE" >"$RG_DIR/bad.conf"
before=$(in_router nft list table inet rpcgate 2>&1)
in_router "$RG_BIN" -f -c "$RG_DIR/bad.conf" -s "$RG_DIR/control" 2>/dev/null
t_check restart-bad/refused [ $? -eq 78 ]
t_check restart-bad/table-untouched [ "$(in_router nft list table inet rpcgate 2>&1 | sed 's/expires [^,}]*//g')" = "$(sed 's/expires [^,}]*//g' <<<"$before")" ]
t_check restart-bad/still-admits first_try "$(connect_only client "$RG_SERVER4" "$nspi")"

# ---- a corrupt state file: logged, ignored; the kernel's pinholes alone are not restored
printf 'RPCGSTAT\0\1\0\0\0\0\0\7garbage' >"$STATE"
if gate_start "$(conf closed)"; then
	t_check restart-corrupt/logged grep -q "state file $STATE: .*; ignored" "$RG_DIR/rpcgated.log"
	t_check restart-corrupt/unrecorded-not-restored grep -q 'not restored: 0 no longer allowed, 0 expired, 1 without a record' "$RG_DIR/rpcgated.log"
	t_check restart-corrupt/unrecorded-closed blocked "$(connect_only client "$RG_SERVER4" "$nspi")"
	t_check restart-corrupt/daemon-alive kill -0 "$RG_GATE_PID"
else
	t_fail restart-corrupt/daemon-start "$(gate_log | tail -n 3)"
fi
gate_stop

# ---- on_failure "open": while down, the endpoint mapper passes, the range never
gate_start "$(conf open)" || t_fail restart-open/daemon-start "$(gate_log | tail -n 3)"
probe_start
kill -KILL "$RG_GATE_PID"
wait "$RG_GATE_PID" 2>/dev/null
RG_GATE_PID=
out=$(map_and_connect client2 "$RG_SERVER4" EMSMDB --connect-timeout 0.5)
t_check restart-open/epm-passes-while-down grep -q "\"ok\": true, \"port\": $emsmdb," <<<"$out"
t_check restart-open/its-port-closed-while-down blocked "$out"
if gate_start "$(conf open)"; then
	sleep 0.3
	probe_stop
	t_check restart-open/probe-never-through none_through "$PROBED"
	echo "restart-open: probe $(tr '\n' ' ' <<<"$PROBED")" >>"$RG_DIR/figures"
else
	probe_stop
	t_fail restart-open/daemon-restart "$(gate_log | tail -n 3)"
fi
gate_stop

# ---- a published (DNAT) server: the pinhole and its mapping come back
PUBLIC4=203.0.113.10
in_router nft -f - <<NFT || t_fail restart-dnat/publish "nft refused the DNAT rules"
table inet publish {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $PUBLIC4 tcp dport 135 dnat ip to $RG_SERVER4
	}
}
NFT
if gate_start "$(conf closed)"; then
	t_check restart-dnat/mapped-through-public first_try "$(map_and_connect client "$PUBLIC4" EMSMDB)"
	t_check restart-dnat/state-written state_has 1
	kill -KILL "$RG_GATE_PID"
	wait "$RG_GATE_PID" 2>/dev/null
	RG_GATE_PID=
	if gate_start "$(conf closed)"; then
		t_check restart-dnat/mapping-restored grep -q "tcp . $emsmdb" <<<"$(in_router nft list map inet rpcgate dnat4)"
		t_check restart-dnat/connects-through-public first_try "$(connect_only client "$PUBLIC4" "$emsmdb")"
		t_check restart-dnat/other-client-closed blocked "$(connect_only client2 "$PUBLIC4" "$emsmdb")"
	else
		t_fail restart-dnat/daemon-restart "$(gate_log | tail -n 3)"
	fi
	gate_stop
else
	t_fail restart-dnat/daemon-start "$(gate_log | tail -n 3)"
fi
in_router nft delete table inet publish

# ---- rpcgated --remove: the administrator's ruleset alone again
out=$(in_router "$RG_BIN" --remove -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control" 2>&1)
t_check restart-remove/exit-0 [ $? -eq 0 ]
t_check restart-remove/says-so grep -q 'removed table inet rpcgate' <<<"$out"
t_check restart-remove/table-gone bash -c "! ip netns exec $RG_NS_ROUTER nft list table inet rpcgate 2>/dev/null"
t_check restart-remove/state-file-gone [ ! -e "$STATE" ]
t_check restart-remove/open-range-again first_try "$(connect_only client2 "$RG_SERVER4" "$emsmdb")"
t_check restart-remove/again-nothing grep -q 'no table inet rpcgate to remove' <<<"$(in_router "$RG_BIN" --remove -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control" 2>&1)"

# ---- sets mode: the pinholes in the administrator's set come back
SETS="servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
on_failure = \"closed\";
nft_mode = \"sets\";
nft_table = \"filter\";
state_file = \"$STATE\";"
printf '%s\n' "$SETS" >"$RG_DIR/sets.conf"
in_router nft flush ruleset
if ! "$RG_BIN" --print-ruleset -c "$RG_DIR/sets.conf" | in_router nft -f -; then
	t_fail restart-sets/ruleset "nft refused the printed sets-mode ruleset"
elif ! gate_start "$SETS"; then
	t_fail restart-sets/daemon-start "$(gate_log | tail -n 3)"
else
	t_check restart-sets/mapped-before first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"
	t_check restart-sets/state-written state_has 1
	kill -KILL "$RG_GATE_PID"
	wait "$RG_GATE_PID" 2>/dev/null
	RG_GATE_PID=
	if gate_start "$SETS"; then
		t_check restart-sets/in-admin-set grep -q "$RG_CLIENT4 . $RG_SERVER4 . tcp . $emsmdb" <<<"$(pinholes 4 filter)"
		t_check restart-sets/looked-up-before-connects first_try "$(connect_only client "$RG_SERVER4" "$emsmdb")"
		t_check restart-sets/logged grep -q 'restored 1 pinhole(s) of the earlier run (1 with the kernel' "$RG_DIR/rpcgated.log"
	else
		t_fail restart-sets/daemon-restart "$(gate_log | tail -n 3)"
	fi
	gate_stop
	t_check restart-sets/left-at-stop grep -q "$RG_CLIENT4 . $RG_SERVER4" <<<"$(pinholes 4 filter)"
	t_check restart-sets/remove in_router "$RG_BIN" --remove -c "$RG_DIR/sets.conf" -s "$RG_DIR/control"
	t_check restart-sets/remove-empties-set [ -z "$(pinholes 4 filter)" ]
	t_check restart-sets/only-admin-table-left [ "$(in_router nft list tables)" = "table inet filter" ]
fi
[ -f "$RG_DIR/figures" ] && sed 's/^/# /' "$RG_DIR/figures"
