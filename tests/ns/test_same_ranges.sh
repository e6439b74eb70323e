#!/usr/bin/env bash
# The installed table and the printed ruleset come from one description:
# server prefixes that overlap, nest and touch are merged into the same
# ranges in both (198.51.100.0-198.51.100.191 and 2001:db8:2::-2001:db8:2::2:ffff
# are no prefixes), in nft_mode "table" and "sets", IPv4 and IPv6; in sets
# mode the fixed-port set holds exactly what the printed fixed-port rule
# opens; and a lookup through the merged ranges works end to end.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail ranges/setup "namespace lab"; exit 1; }
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" ||
	{ t_fail ranges/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
# the lab's servers are 198.51.100.20 and 2001:db8:2::20
CONF='servers = [ "198.51.100.128/26", "198.51.100.0/25", "198.51.100.20",
            "2001:db8:2::/112", "2001:db8:2::1:0/112", "2001:db8:2::2:0/112",
            "2001:db8:2::20" ];
interfaces = [ "exchange" ];
groups = (
  {
    servers = [ "203.0.113.0/26", "203.0.113.64/26", "2001:db8:3::10" ];
    mode = "fixed";
    fixed_ports = [ 6001, 6004 ];
  }
);'

# one_a_line: "a, b, c" -> sorted lines
one_a_line() { tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | sed '/^$/d' | sort; }
# set_elements TABLE SET: the set's elements as nft lists them
set_elements() {
	in_router nft list set inet "$1" "$2" | sed -n '/elements = {/,/}/p' | tr -d '\n' |
		sed 's/.*elements = { *//; s/ *}.*//' | one_a_line
}
# printed_servers FILE ip|ip6: the servers of the printed forward rule
printed_servers() {
	sed -n "s/^\t\t$2 daddr { \([^}]*\) } meta l4proto .*/\1/p" "$1" | one_a_line
}
# printed_fixed FILE ip|ip6: "range . port" for what the fixed-port rule opens
printed_fixed() {
	sed -n "s/^\t\t$2 daddr { \([^}]*\) } tcp dport { \([^}]*\) } accept$/\1|\2/p" "$1" |
		while IFS='|' read -r ranges ports; do
			for r in ${ranges//,/ }; do
				for p in ${ports//,/ }; do echo "$r . $p"; done
			done
		done | sort
}
# same NAME PRINTED INSTALLED: PASS when both hold the same, non-empty
same() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		t_pass "$1"
	else
		t_fail "$1" "printed { $(tr '\n' ' ' <<<"$2")} installed { $(tr '\n' ' ' <<<"$3")}"
	fi
}

for mode in table sets; do
	conf=$CONF table=rpcgate client=client
	if [ "$mode" = sets ]; then
		conf="$CONF
nft_mode = \"sets\";
nft_table = \"filter\";"
		table=rpcgate_queue client=client2
	fi
	printf '%s\n' "$conf" >"$RG_DIR/$mode.conf"
	"$RG_BIN" --print-ruleset -c "$RG_DIR/$mode.conf" >"$RG_DIR/$mode.nft"
	t_check "ranges-$mode/printed-merged" grep -q \
		'198.51.100.0-198.51.100.191, 203.0.113.0/25 }' "$RG_DIR/$mode.nft"
	if ! in_router nft -f "$RG_DIR/$mode.nft"; then
		t_fail "ranges-$mode/ruleset-loads"
		continue
	fi
	t_pass "ranges-$mode/ruleset-loads"
	if ! gate_start "$conf"; then
		t_fail "ranges-$mode/daemon-start" "$(gate_log | tail -n 3)"
		in_router nft flush ruleset
		continue
	fi
	for fam in 4 6; do
		ip=ip
		[ "$fam" = 6 ] && ip=ip6
		same "ranges-$mode$fam/servers-as-printed" \
			"$(printed_servers "$RG_DIR/$mode.nft" "$ip")" "$(set_elements "$table" "servers$fam")"
		[ "$mode" = sets ] && same "ranges-$mode$fam/fixed-ports-as-printed" \
			"$(printed_fixed "$RG_DIR/$mode.nft" "$ip")" "$(set_elements "$table" "fixed$fam")"
		eval server=\$RG_SERVER"$fam"
		t_check "ranges-$mode$fam/dropped-before-lookup" blocked "$(connect_only "$client" "$server" "$emsmdb")"
		out=$(map_and_connect "$client" "$server" EMSMDB)
		t_check "ranges-$mode$fam/first-syn-after-map" first_try "$out"
	done
	t_check "ranges-${mode}6/printed-merged" grep -q \
		'ip6 daddr { 2001:db8:2::-2001:db8:2::2:ffff, 2001:db8:3::10 }' "$RG_DIR/$mode.nft"
	gate_stop
	in_router nft flush ruleset
done
