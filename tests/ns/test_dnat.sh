#!/usr/bin/env bash
# A server published through DNAT: the client knows only the public
# address P; the router DNATs P:135 to the server.  A lookup through P
# must open the pinhole (client, server, port) and the mapping
# (client, P, port) -> server:port, learned from the EPM connection's
# conntrack entry; the mapping expires with the pinhole.  Masqueraded
# clients keep working.  IPv4 and IPv6, and UDP over IPv4.  Conntrack is asked once per
# published conversation (rpcgated's rule marks a DNAT connection's packets
# with published_mark), never for a lookup straight to the server, and the
# administrator's rules after rpcgated's see a packet's own mark, not that
# bit.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail dnat/setup "namespace lab"; exit 1; }

PUBLIC4=203.0.113.10 PUBLIC6=2001:db8:3::10
TIMEOUT=4
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" || { t_fail dnat/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
UDP_PORT=49170
ns_bg server "$RG_PY" "$RG_LIB_DIR/udp_epm.py" serve "$RG_SERVER4" "$UDP_PORT" >"$RG_DIR/udp4"
nspi=$(epm_port "$RG_DIR/epm" NSPI)
gate_start "servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
interfaces = [ \"exchange\" ];
pinhole_timeout = $TIMEOUT;" || { t_fail dnat/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - || t_fail dnat/ruleset
in_router nft -f - <<NFT || t_fail dnat/publish "nft refused the DNAT rules"
table inet publish {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $PUBLIC4 tcp dport 135 dnat ip to $RG_SERVER4
		ip daddr $PUBLIC4 udp dport 135 dnat ip to $RG_SERVER4
		ip6 daddr $PUBLIC6 tcp dport 135 dnat ip6 to $RG_SERVER6
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		meta mark 0x1 masquerade
	}
	chain marking {
		type filter hook prerouting priority mangle; policy accept;
		tcp sport 135 meta mark set 0x2
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		tcp sport 135 ct status dnat meta mark != 0x2 counter
		tcp sport 135 ct status dnat meta mark 0x2 counter
	}
}
NFT
CTL=${RG_CTL:-$(dirname "$RG_BIN")/rpcgatectl}
# counter N: packets the Nth counter of the administrator's forward chain saw
counter() {
	in_router nft list chain inet publish forward | grep -o 'counter packets [0-9]*' |
		sed -n "$1p" | grep -o '[0-9]*$'
}
conntrack_lookups() {
	"$CTL" -s "$RG_DIR/control" --json stats |
		"$RG_PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"]["conntrack_lookups"])'
}

for fam in 4 6; do
	eval public=\$PUBLIC$fam
	out=$(map_and_connect client "$public" EMSMDB)
	t_check "dnat$fam/lookup-through-public-address" grep -q "\"port\": $emsmdb" <<<"$out"
	t_check "dnat$fam/first-syn-to-public-address" first_try "$out"
	t_check "dnat$fam/mapping-in-kernel" grep -q "tcp . $emsmdb" \
		<<<"$(in_router nft list map inet rpcgate "dnat$fam")"
	out=$(connect_only client "$public" "$emsmdb")
	t_check "dnat$fam/reconnect-within-timeout" first_try "$out"
	out=$(connect_only client "$public" "$nspi")
	t_check "dnat$fam/other-port-on-public-address-closed" blocked "$out"
	out=$(connect_only client2 "$public" "$emsmdb")
	t_check "dnat$fam/other-client-closed" blocked "$out"
done
t_check dnat/logged-published grep -q "published as $PUBLIC4" <<<"$(gate_log)"
# connectionless: the answer's UDP pinhole and mapping, through P
udp() { in_ns "$1" "$RG_PY" "$RG_LIB_DIR/udp_epm.py" "${@:2}"; }
t_check dnat4/udp-map-through-public-address udp client map "$PUBLIC4"
t_check dnat4/udp-open-through-public-address udp client ping "$PUBLIC4" "$UDP_PORT"
t_check dnat/conntrack-asked-once-per-published-conversation test "$(conntrack_lookups)" = 3
for fam in 4 6; do
	eval server=\$RG_SERVER$fam
	out=$(map_and_connect client "$server" EMSMDB)
	t_check "dnat$fam/unpublished-lookup" first_try "$out"
done
t_check dnat/conntrack-not-asked-unpublished test "$(conntrack_lookups)" = 3
t_check dnat/published-mark-not-seen-by-later-rules test "$(counter 1)" = 0
t_check dnat/own-mark-seen-by-later-rules test "$(counter 2)" -gt 0

sleep $((TIMEOUT + 3))
for fam in 4 6; do
	eval public=\$PUBLIC$fam
	t_check "dnat$fam/mapping-expired" bash -c "! ip netns exec $RG_NS_ROUTER nft list map inet rpcgate dnat$fam | grep -q 'tcp . $emsmdb'"
	out=$(connect_only client "$public" "$emsmdb")
	t_check "dnat$fam/closed-after-timeout" blocked "$out"
done

# The router masquerades the client towards the server as well (marked
# before the DNAT rules, which end the chain for what they translate).
in_router nft insert rule inet publish prerouting ip saddr "$RG_CLIENT4" meta mark set 0x1
in_router nft insert rule inet publish prerouting ip6 saddr "$RG_CLIENT6" meta mark set 0x1
for fam in 4 6; do
	eval public=\$PUBLIC$fam
	out=$(map_and_connect client "$public" EMSMDB)
	t_check "dnat$fam/masqueraded-client-first-syn" first_try "$out"
done
t_check dnat/server-saw-the-router grep -q "\"peer\": \"$RG_ROUTER_WAN4:" "$RG_DIR/epm"
