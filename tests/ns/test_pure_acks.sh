#!/usr/bin/env bash
# Pure acknowledgements stay out of the queue, nothing else does: crafted
# segments from the client to the server's port 135 (pure_acks.py), each
# checked against the daemon's queued-packet counter.  A segment without
# payload and without SYN/FIN/RST -- whatever its TCP options, up to the
# longest header -- is not queued; one payload byte, SYN, FIN, RST, IPv4
# options or an IPv6 extension header are.  IPv4 and IPv6.  nft lists the
# table.  Then real lookups over both families still open their pinholes.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail pure-acks/setup "namespace lab"; exit 1; }

CTL=${RG_CTL:-$(dirname "$RG_BIN")/rpcgatectl}
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" ||
	{ t_fail pure-acks/epm-server; exit 1; }
gate_start "servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
interfaces = [ \"exchange\" ];" || { t_fail pure-acks/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - || t_fail pure-acks/ruleset
# nft lists the table, pure-ACK sets and all (a set of plain integer
# fields once made it abort)
t_check pure-acks/table-lists in_router nft list table inet rpcgate
# the probes come without a handshake (conntrack picks them up mid-stream,
# its window checks off) and the server drops them unanswered
rg_sysctls "$RG_NS_ROUTER" net.netfilter.nf_conntrack_tcp_loose=1 net.netfilter.nf_conntrack_tcp_be_liberal=1
in_server nft -f - <<NFT || t_fail pure-acks/server-drop
table inet probes {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 135 tcp sport 10000-11999 drop
	}
}
NFT

for fam in 4 6; do
	eval server=\$RG_SERVER$fam
	first=$((fam == 4 ? 10000 : 11000))
	if ! in_client "$RG_PY" "$RG_LIB_DIR/pure_acks.py" "$fam" "$server" "$CTL" "$RG_DIR/control" \
		"$first" >"$RG_DIR/probes$fam" 2>&1; then
		t_fail "pure-acks$fam/probes" "$(tail -n 1 "$RG_DIR/probes$fam")"
		continue
	fi
	while read -r line; do
		name=$("$RG_PY" -c 'import json,sys; print(json.loads(sys.argv[1])["name"])' "$line" 2>/dev/null) ||
			{ t_fail "pure-acks$fam/probes" "$line"; continue; }
		t_check "pure-acks$fam/$name" "$RG_PY" -c 'import json,sys; j=json.loads(sys.argv[1])
sys.exit(0 if j["queued"] == j["expected"] else print("queued %d, expected %d" % (j["queued"], j["expected"])) or 1)' "$line"
	done <"$RG_DIR/probes$fam"
done

for fam in 4 6; do
	eval server=\$RG_SERVER$fam
	out=$(map_and_connect client "$server" EMSMDB)
	t_check "pure-acks$fam/lookup-first-syn" first_try "$out"
done
