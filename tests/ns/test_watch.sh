#!/usr/bin/env bash
# rpcgated watches its nftables objects (NFNLGRP_NFTABLES events, and a
# check on every tick) and puts back whatever someone else removed.
#  table: ruleset shape (a), the administrator opening the high range.
#     Idle, and after administrator changes that touch nothing of
#     rpcgated's (a 10,000-element set flushed among them), nothing is
#     checked, reinstalled or logged.  A flushed
#     chain (`nft flush chain inet rpcgate forward`), a rule deleted by
#     handle, a flushed pinhole set: within 2 s an unpinholed high port is
#     dropped again and a client that looked up before connects on its
#     first SYN; one warning names what was removed.  `#` lines: how many
#     10 ms SYN probes to an unpinholed port got through while `nft -f` of
#     a file starting with `flush ruleset`, and a bare `nft flush ruleset`,
#     ran (the window before the event-triggered repair).
#  printed: ruleset shape (b), the printed ruleset (forward policy drop):
#     `nft -f` of it with `flush ruleset` in front, and `nft flush
#     ruleset`: the same within 2 s.
#  sets: nft_mode "sets": `nft -f` of the administrator's file (flush
#     ruleset, then the printed sets-mode ruleset) re-creates the pinhole
#     sets empty and removes the queue table; `nft flush set` empties a
#     pinhole set, and so does flushing it with 10,000 more elements in
#     it, which costs a few checks, not one per event (a `#` line says how
#     many); `nft flush ruleset` takes the administrator's table,
#     and when the administrator loads it again rpcgated follows: each
#     time the looked-up client connects on its first SYN, and the
#     warning names what was removed.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
RG_PROBE=${RG_PROBE:-$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/tools/syn_probe}
ns_setup || { t_fail watch/setup "namespace lab"; exit 1; }
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" ||
	{ t_fail watch/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
nspi=$(epm_port "$RG_DIR/epm" NSPI)
CONF="servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
pinhole_timeout = 120;
log_level = \"debug\";"

# warnings: rpcgated's nftables warnings so far (repairs, failures; not
# the debug lines of checks)
nft_warnings() { grep 'rpcgated: nftables: ' "$RG_DIR/rpcgated.log" | grep -v 'checking$'; }
warnings() { nft_warnings | grep -c .; }
# repaired N: the Nth warning is in the log within 2 s, and says it
# put something back
repaired() {
	local i
	for ((i = 0; i < 40; i++)); do
		[ "$(grep -cE 'rpcgated: nftables: .*(installed table inet .* again|put them back)' \
			"$RG_DIR/rpcgated.log")" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
# checks: the checks events caused so far (a debug line each)
checks() { grep -c "event(s) about rpcgated's objects from elsewhere: checking" "$RG_DIR/rpcgated.log"; }
# ten thousand set elements, ELEMENT with %d for 1..10000, for nft -f
ten_thousand() { # ten_thousand TABLE SET ELEMENT
	echo "add element inet $1 $2 {"
	seq 1 10000 | xargs printf "$3,\n"
	echo "}"
}
last_warning() { nft_warnings | tail -n 1; }
# warned PATTERN: the last warning matches (grep -E); if not, it is shown
warned() { grep -qE "$1" <<<"$(last_warning)" || { last_warning; return 1; }; }
# after NAME FAMILIES: the looked-up client connects on its first SYN,
# an unpinholed port and another client stay dropped
after() {
	local name=$1 fam server; shift
	for fam in "$@"; do
		eval server=\$RG_SERVER$fam
		t_check "$name$fam/unpinholed-dropped" blocked "$(connect_only client "$server" "$nspi")"
		t_check "$name$fam/looked-up-before-connects" first_try "$(connect_only client "$server" "$emsmdb")"
		t_check "$name$fam/other-client-dropped" blocked "$(connect_only client2 "$server" "$emsmdb")"
	done
}
lookup() { # lookup NAME FAMILIES
	local name=$1 fam server; shift
	for fam in "$@"; do
		eval server=\$RG_SERVER$fam
		t_check "$name$fam/looked-up" first_try "$(map_and_connect client "$server" EMSMDB)"
	done
}
# measure WHAT CMD...: 10 ms SYN probes to the unpinholed port while CMD
# runs in the router, 1 s into 4 s of probing; a `#` line with the count
measure() {
	local what=$1 out; shift
	[ -x "$RG_PROBE" ] || { echo "# $what: no $RG_PROBE (make tools)"; return; }
	in_client "$RG_PROBE" "$RG_SERVER4" "$nspi" -i 10 -n 400 >"$RG_DIR/probe.out" &
	sleep 1
	in_router "$@"
	wait $!
	out=$(cat "$RG_DIR/probe.out")
	echo "# $what: SYN probe every 10 ms to an unpinholed port: $out"
}

# ------------------------------------------------------------ table, shape (a)
{ echo "flush ruleset"; open_range_ruleset; } >"$RG_DIR/admin.nft"
in_router nft -f "$RG_DIR/admin.nft" || { t_fail watch/admin-ruleset "nft -f"; exit 1; }
if gate_start "$CONF"; then
	handle() { in_router nft -a list table inet rpcgate 2>/dev/null | sed -n '1s/.*# handle //p'; }
	table_handle=$(handle)
	sleep 2.5	# two ticks: each checks the whole table
	t_check table/idle-no-repair [ "$(warnings)" -eq 0 ]
	in_router nft -f - <<EOF
add table inet other
add set inet other blocked { type ipv4_addr; }
add element inet other blocked { 203.0.113.5, 203.0.113.6 }
flush set inet other blocked
add rule inet filter forward ip daddr 203.0.113.7 drop
add chain inet other forward { type filter hook forward priority 0; }
flush chain inet other forward
add set inet other ports { type inet_service; }
EOF
	ten_thousand other ports %d >"$RG_DIR/ports.nft"
	in_router nft -f "$RG_DIR/ports.nft"
	in_router nft flush set inet other ports
	in_router nft delete table inet other
	rule=$(in_router nft -a list chain inet filter forward | sed -n 's/.*203.0.113.7 drop # handle //p')
	in_router nft delete rule inet filter forward handle "$rule"
	sleep 1.5
	t_check table/admin-change-no-repair [ "$(warnings)" -eq 0 ]
	t_check table/admin-change-no-check [ "$(checks)" -eq 0 ]
	t_check table/admin-change-table-untouched [ "$(handle)" = "$table_handle" ]
	lookup table 4 6
	# rpcgated's own batches (a pinhole is added as add, delete, add)
	t_check table/own-batches-no-check [ "$(checks)" -eq 0 ]

	in_router nft flush chain inet rpcgate forward
	t_check table-flush-chain/repaired-within-2s repaired 1
	after table-flush-chain 4 6
	t_check table-flush-chain/warning-names-it warned 'chain inet rpcgate forward lost ([0-9]+) of its \1 rules; installed table inet rpcgate again in one batch, with 2 pinhole'

	drop=$(in_router nft -a list chain inet rpcgate forward 2>/dev/null | grep 'drop # handle' | head -n 1 | sed 's/.*# handle //')
	in_router nft delete rule inet rpcgate forward handle "$drop"
	t_check table-delete-rule/repaired-within-2s repaired 2
	after table-delete-rule 4
	t_check table-delete-rule/warning-names-it warned 'chain inet rpcgate forward lost 1 of its [0-9]+ rules; installed table inet rpcgate again'

	in_router nft flush set inet rpcgate pinholes6
	t_check table-flush-set/repaired-within-2s repaired 3
	t_check table-flush-set/looked-up-before-connects first_try "$(connect_only client "$RG_SERVER6" "$emsmdb")"
	t_check table-flush-set/warning-names-it warned '1 pinhole\(s\) were removed from the pinhole sets of table inet rpcgate; put them back'
	t_check table/one-warning-each [ "$(warnings)" -eq 3 ]

	measure "table, shape (a), nft -f of a file starting with flush ruleset" nft -f "$RG_DIR/admin.nft"
	t_check table-file/repaired-within-2s repaired 4
	after table-file 4
	measure "table, shape (a), nft flush ruleset" nft flush ruleset
	t_check table-flush/repaired-within-2s repaired 5
	after table-flush 4
	t_check table-flush/warning-names-it warned 'table inet rpcgate was removed; installed table inet rpcgate again'
	t_check table/daemon-alive kill -0 "$RG_GATE_PID"
	gate_stop
else
	t_fail table/daemon-start "$(gate_log | tail -n 3)"
fi
in_router nft flush ruleset

# ------------------------------------------------------------ printed, shape (b)
printf '%s\n' "$CONF" >"$RG_DIR/printed.conf"
{ echo "flush ruleset"; "$RG_BIN" --print-ruleset -c "$RG_DIR/printed.conf"; } >"$RG_DIR/printed.nft"
if ! in_router nft -f "$RG_DIR/printed.nft"; then
	t_fail printed/ruleset "nft -f refused the printed ruleset"
elif gate_start "$CONF"; then
	lookup printed 4 6
	in_router nft -f "$RG_DIR/printed.nft"
	t_check printed-file/repaired-within-2s repaired 1
	after printed-file 4 6
	in_router nft flush ruleset
	t_check printed-flush/repaired-within-2s repaired 2
	after printed-flush 4 6
	t_check printed/one-warning-each [ "$(warnings)" -eq 2 ]
	gate_stop
else
	t_fail printed/daemon-start "$(gate_log | tail -n 3)"
fi
in_router nft flush ruleset

# ------------------------------------------------------------ sets
SETS="$CONF
nft_mode = \"sets\";
nft_table = \"filter\";"
printf '%s\n' "$SETS" >"$RG_DIR/sets.conf"
{ echo "flush ruleset"; "$RG_BIN" --print-ruleset -c "$RG_DIR/sets.conf"; } >"$RG_DIR/sets.nft"
if ! in_router nft -f "$RG_DIR/sets.nft"; then
	t_fail sets/ruleset "nft -f refused the printed sets-mode ruleset"
elif gate_start "$SETS"; then
	sleep 1.5
	t_check sets/idle-no-repair [ "$(warnings)" -eq 0 ]
	lookup sets 4 6
	in_router nft -f "$RG_DIR/sets.nft"
	t_check sets-file/repaired-within-2s repaired 1
	after sets-file 4 6
	t_check sets-file/warning-names-it warned 'table inet rpcgate_queue was removed; set inet filter pinholes4 was replaced, and its elements went with it; .*2 pinhole\(s\) were removed from the pinhole sets of table inet filter; installed table inet rpcgate_queue again'

	in_router nft flush set inet filter pinholes4
	t_check sets-flush-set/repaired-within-2s repaired 2
	after sets-flush-set 4
	t_check sets-flush-set/warning-names-it warned '1 pinhole\(s\) were removed from the pinhole sets of table inet filter; put them back'

	before=$(checks)
	ten_thousand filter pinholes4 "192.0.2.200 . 198.51.100.99 . tcp . %d" >"$RG_DIR/burst.nft"
	in_router nft -f "$RG_DIR/burst.nft"
	sleep 1
	t_check sets-burst/adding-no-check [ "$(checks)" -eq "$before" ]
	in_router nft flush set inet filter pinholes4
	t_check sets-burst/repaired-within-2s repaired 3
	n=$(($(checks) - before))
	echo "# sets: flushing pinholes4 with 10,001 elements in it: $n check(s)"
	t_check sets-burst/coalesced [ "$n" -le 5 ]
	after sets-burst 4

	in_router nft flush ruleset
	sleep 1.5
	t_check sets-flush/says-it-waits warned 'table inet filter was removed; the pinhole sets .* live in table inet filter, which only your ruleset creates'
	in_router nft -f "$RG_DIR/sets.nft"
	t_check sets-flush/repaired-within-2s-of-admin-table repaired 4
	after sets-flush 4 6
	t_check sets/daemon-alive kill -0 "$RG_GATE_PID"
	gate_stop
else
	t_fail sets/daemon-start "$(gate_log | tail -n 3)"
fi
