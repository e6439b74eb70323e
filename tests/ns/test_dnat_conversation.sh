#!/usr/bin/env bash
# A published server (DNAT) whose endpoint mapper answers twice on one
# connection: rpcgated asks conntrack whether a conversation is published
# at its first answer only and keeps what it learned with the flow, so
# the second answer (NSPI after EMSMDB) must still open its DNAT mapping
# and connect on the first SYN through the public address.  A lookup made
# to the server's own address afterwards is not published: what one
# conversation learned never carries over to another.  IPv4 and IPv6.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail dnat-conv/setup "namespace lab"; exit 1; }

PUBLIC4=203.0.113.10 PUBLIC6=2001:db8:3::10
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" ||
	{ t_fail dnat-conv/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
nspi=$(epm_port "$RG_DIR/epm" NSPI)
gate_start "servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
interfaces = [ \"exchange\" ];
pinhole_timeout = 30;" || { t_fail dnat-conv/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - || t_fail dnat-conv/ruleset
in_router nft -f - <<NFT || t_fail dnat-conv/publish "nft refused the DNAT rules"
table inet publish {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $PUBLIC4 tcp dport 135 dnat ip to $RG_SERVER4
		ip6 daddr $PUBLIC6 tcp dport 135 dnat ip6 to $RG_SERVER6
	}
}
NFT

# two ept_map calls on one bound connection; prints "NAME PORT" per answer
two_maps() {
	in_client "$RG_PY" - "$1" "$RG_LIB_DIR" <<'PY' 2>&1
import sys
sys.path.insert(0, sys.argv[2])
import epm_common as C
from impacket.dcerpc.v5 import epm, transport
dce = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[135]' % sys.argv[1]).get_dce_rpc()
dce.connect()
dce.bind(epm.MSRPC_UUID_PORTMAP)
dce.bind = lambda *a, **kw: None    # hept_map binds again: once is enough
for name in ('EMSMDB', 'NSPI'):
    binding = epm.hept_map(sys.argv[1], C.parse_iface(name).bin(), protocol='ncacn_ip_tcp', dce=dce)
    print(name, binding.rsplit('[', 1)[1].rstrip(']'))
dce.disconnect()
PY
}

for fam in 4 6; do
	eval public=\$PUBLIC$fam server=\$RG_SERVER$fam
	out=$(two_maps "$public")
	t_check "dnat-conv$fam/two-answers-on-one-connection" \
		grep -qx "NSPI $nspi" <<<"$(grep -x "EMSMDB $emsmdb" -A1 <<<"$out")"
	mappings=$(in_router nft list map inet rpcgate "dnat$fam")
	t_check "dnat-conv$fam/first-answer-mapped" grep -q "tcp . $emsmdb" <<<"$mappings"
	t_check "dnat-conv$fam/second-answer-mapped" grep -q "tcp . $nspi" <<<"$mappings"
	t_check "dnat-conv$fam/first-answer-connects" first_try "$(connect_only client "$public" "$emsmdb")"
	t_check "dnat-conv$fam/second-answer-connects" first_try "$(connect_only client "$public" "$nspi")"
	t_check "dnat-conv$fam/second-answer-logged-published" \
		grep -q "opened tcp .*:$nspi for 30s, published as $public: NSPI" <<<"$(gate_log)"

	out=$(map_and_connect client2 "$server" EMSMDB)
	t_check "dnat-conv$fam/direct-lookup-connects" first_try "$out"
	direct=$(grep -o "opened tcp $([ $fam = 4 ] && echo "$RG_CLIENT2_4" || echo "$RG_CLIENT2_6") .*" <<<"$(gate_log)")
	t_check "dnat-conv$fam/direct-lookup-not-published" bash -c "[ -n '$direct' ] && ! grep -q published <<<'$direct'"
done
gate_stop
