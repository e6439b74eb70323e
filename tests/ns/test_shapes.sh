#!/usr/bin/env bash
# The two common router rulesets rpcgated meets, and sets mode.
#  open-range: the administrator already opens 135 and the whole high range
#     to the servers (forward policy drop otherwise). Without rpcgated a
#     client reaches EMSMDB's port without a lookup; with it, only after its
#     own ept_map; a stopped rpcgated leaves its table (the range stays
#     closed), and `rpcgated --remove` gives the administrator's shape back.
#  printed: `rpcgated --print-ruleset` loads as printed (nft -f), and the
#     flow works through it.
#  sets: nft_mode "sets", nft_table "filter": the printed ruleset for sets
#     mode loads as printed, rpcgated fills pinholes4 in that table, the
#     flow works end to end (IPv4), and `rpcgated --remove` after the stop
#     empties the set and leaves no table of its own.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail shapes/setup "namespace lab"; exit 1; }
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" ||
	{ t_fail shapes/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
CONF="servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
interfaces = [ \"exchange\" ];"

# load NAME FILE: nft -f FILE in the router; FAIL NAME with nft's own error
# if it refuses
load() {
	local err
	if [ ! -s "$2" ]; then
		t_fail "$1" "no ruleset in $2"
		return 1
	elif err=$(in_router nft -f "$2" 2>&1); then
		t_pass "$1"
	else
		# nft: "FILE:LINE:COLS: Error: ...", the rule, a line of carets
		t_fail "$1" "nft -f refused it: $(awk -v f="$2" '/^[ \t]*\^/ { next }
			/: Error: / { sub(f, "'"${2##*/}"'"); e = $0; next }
			{ gsub(/^\t+/, ""); printf "%s%s: %s", sep, e, $0; sep = "; " }' <<<"$err")"
		return 1
	fi
}
# the first-SYN flow: no lookup, dropped; CLIENT's own map, through
flow() { # flow NAME FAMILY CLIENT_NS
	local name=$1 fam=$2 ns=$3 server out
	eval server=\$RG_SERVER"$fam"
	t_check "$name$fam/dropped-before-lookup" blocked "$(connect_only "$ns" "$server" "$emsmdb")"
	out=$(map_and_connect "$ns" "$server" EMSMDB)
	t_check "$name$fam/epm-map" grep -q "\"ok\": true, \"port\": $emsmdb," <<<"$out"
	t_check "$name$fam/first-syn-after-map" first_try "$out"
}

# ------------------------------------------------------------ open-range
open_range_ruleset >"$RG_DIR/open-range.nft"
load open-range/ruleset "$RG_DIR/open-range.nft"
admin=$(in_router nft list ruleset)
for fam in 4 6; do
	eval server=\$RG_SERVER"$fam"
	t_check "open-range$fam/open-without-rpcgated" first_try "$(connect_only client2 "$server" "$emsmdb")"
done
if gate_start "$CONF"; then
	for fam in 4 6; do
		flow open-range "$fam" client
		eval server=\$RG_SERVER"$fam"
		t_check "open-range$fam/other-client-dropped" blocked "$(connect_only client2 "$server" "$emsmdb")"
	done
	gate_stop
	t_check open-range/table-left-at-stop in_router nft list table inet rpcgate
	t_check open-range/closed-after-stop blocked "$(connect_only client2 "$RG_SERVER4" "$emsmdb")"
	t_check open-range/remove in_router "$RG_BIN" --remove -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control"
	t_check open-range/table-removed bash -c "! ip netns exec $RG_NS_ROUTER nft list table inet rpcgate 2>/dev/null"
	t_check open-range/admin-ruleset-unchanged [ "$(in_router nft list ruleset)" = "$admin" ]
	for fam in 4 6; do
		eval server=\$RG_SERVER"$fam"
		t_check "open-range$fam/open-again-after-remove" first_try "$(connect_only client2 "$server" "$emsmdb")"
	done
else
	t_fail open-range/daemon-start "$(gate_log | tail -n 3)"
fi
in_router nft flush ruleset

# ------------------------------------------------------------ printed
printf '%s\n' "$CONF" >"$RG_DIR/printed.conf"
"$RG_BIN" --print-ruleset -c "$RG_DIR/printed.conf" >"$RG_DIR/printed.nft"
if load printed/ruleset-loads "$RG_DIR/printed.nft"; then
	if gate_start "$CONF"; then
		for fam in 4 6; do
			flow printed "$fam" client2
		done
		gate_stop
	else
		t_fail printed/daemon-start "$(gate_log | tail -n 3)"
	fi
fi
in_router nft flush ruleset

# ------------------------------------------------------------ sets
SETS="$CONF
nft_mode = \"sets\";
nft_table = \"filter\";"
printf '%s\n' "$SETS" >"$RG_DIR/sets.conf"
"$RG_BIN" --print-ruleset -c "$RG_DIR/sets.conf" >"$RG_DIR/sets.nft"
if ! load sets/ruleset-loads "$RG_DIR/sets.nft"; then
	t_skip sets/flow "not run: the printed sets-mode ruleset did not load"
elif ! gate_start "$SETS"; then
	t_fail sets/daemon-start "$(gate_log | tail -n 3)"
else
	flow sets 4 client
	t_check sets/pinhole-in-admin-set grep -q "$RG_CLIENT4 . $RG_SERVER4 . tcp . $emsmdb" <<<"$(pinholes 4 filter)"
	t_check sets/other-client-dropped blocked "$(connect_only client2 "$RG_SERVER4" "$emsmdb")"
	gate_stop
	t_check sets/stop-keeps-pinhole grep -q "$RG_CLIENT4 . $RG_SERVER4 . tcp . $emsmdb" <<<"$(pinholes 4 filter)"
	t_check sets/remove in_router "$RG_BIN" --remove -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control"
	t_check sets/remove-empties-set [ -z "$(pinholes 4 filter)" ]
	t_check sets/only-admin-table-left-after-remove [ "$(in_router nft list tables)" = "table inet filter" ]
fi
