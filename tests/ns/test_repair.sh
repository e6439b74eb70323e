#!/usr/bin/env bash
# Someone removes rpcgated's table: `nft -f` of the administrator's file,
# which starts with `flush ruleset` (Debian's /etc/nftables.conf does, and
# `systemctl reload nftables` runs it), and a bare `nft flush ruleset`.
# Ruleset shape (a), the administrator opening the whole high range: the
# flush re-opens it, and within 2 s rpcgated has put its table back, an
# unpinholed high port is dropped again, and a client that looked up
# before the flush connects on its first SYN; the repair is logged.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail repair/setup "namespace lab"; exit 1; }
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" ||
	{ t_fail repair/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
nspi=$(epm_port "$RG_DIR/epm" NSPI)

{ echo "flush ruleset"; open_range_ruleset; } >"$RG_DIR/admin.nft"
in_router nft -f "$RG_DIR/admin.nft" || { t_fail repair/admin-ruleset "nft -f"; exit 1; }
gate_start "servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
pinhole_timeout = 120;" || { t_fail repair/daemon-start "$(gate_log | tail -n 3)"; exit 1; }

# table_back: rpcgated's table is there again within 2 s
table_back() {
	local i
	for ((i = 0; i < 40; i++)); do
		in_router nft list table inet rpcgate >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

n=0
for how in file flush; do
	n=$((n + 1))
	for fam in 4 6; do
		eval server=\$RG_SERVER$fam
		t_check "repair-$how$fam/mapped-before" first_try "$(map_and_connect client "$server" EMSMDB)"
	done
	t_check "repair-$how/unpinholed-dropped-before" blocked "$(connect_only client "$RG_SERVER4" "$nspi")"
	if [ $how = flush ]; then
		in_router nft flush ruleset
	else
		in_router nft -f "$RG_DIR/admin.nft"
	fi
	t_check "repair-$how/table-back-within-2s" table_back
	sleep 0.2	# the pinholes follow in the next batch
	for fam in 4 6; do
		eval server=\$RG_SERVER$fam
		t_check "repair-$how$fam/unpinholed-dropped-again" blocked "$(connect_only client "$server" "$nspi")"
		t_check "repair-$how$fam/looked-up-before-connects" first_try "$(connect_only client "$server" "$emsmdb")"
		t_check "repair-$how$fam/other-client-still-dropped" blocked "$(connect_only client2 "$server" "$emsmdb")"
	done
	t_check "repair-$how/logged" [ "$(grep -c 'table inet rpcgate was removed; installed table inet rpcgate again in one batch, with [1-9][0-9]* pinhole' "$RG_DIR/rpcgated.log")" -eq $n ]
done
t_check repair/daemon-alive kill -0 "$RG_GATE_PID"
gate_stop
