#!/usr/bin/env bash
# max_pinholes is shared fairly: one host is an IPv4 address or one IPv6
# /64 (ipv6_host_prefix), and when the cap is full the host holding the
# most pinholes gives way its oldest, so no host can lock the others out.
# One machine on the LAN holds 300 addresses of its own /64
# (2001:db8:1:1::/64, on-link on the router's LAN) and looks EMSMDB up
# from each (tests/tools/epm_map_client) against max_pinholes = 256; then
# client2 and the client's IPv4 address each get their pinhole and connect
# on their first SYN, and the /64 has given way one pinhole for each.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
TOOL=$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/tools/epm_map_client
NET=2001:db8:1:1 N=300 CAP=256
[ -x "$TOOL" ] || { t_fail fairness/tool "$TOOL missing (make tools)"; exit 1; }
ns_setup || { t_fail fairness/setup "namespace lab"; exit 1; }

epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" ||
	{ t_fail fairness/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
in_router ip -6 route add "$NET::/64" dev "$RG_LAN_IF" ||
	{ t_fail fairness/route "on-link route for $NET::/64"; exit 1; }
for ((i = 1; i <= N; i++)); do
	printf 'address add %s::%x/64 dev %s nodad\n' "$NET" $((0x1000 + i)) "$RG_HOST_IF"
done | in_client ip -batch - || { t_fail fairness/addresses "ip -batch"; exit 1; }

gate_start "servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
max_pinholes = $CAP;
max_pinholes_per_client = 2;
pinhole_timeout = 120;
# every refusal logged: the test counts them
log_burst = 100000;" || { t_fail fairness/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - ||
	t_fail fairness/ruleset "nft refused the printed ruleset"

# one lookup per address, one after another
in_client "$TOOL" -f "$NET::1001" -n $N "$RG_SERVER6" >"$RG_DIR/lookups" 2>&1
answered=$(grep -c " $emsmdb\$" "$RG_DIR/lookups")
t_check fairness/every-lookup-answered [ "$answered" -eq $N ]
held=$(pinholes 6 | grep -o "$NET::[0-9a-f]* . $RG_SERVER6 . tcp . $emsmdb" | wc -l)
t_check fairness/host-fills-the-cap [ "$held" -eq $CAP ]
refused=$(grep -c "refused 1 endpoint(s) advertised by $RG_SERVER6 to $NET::.*max_pinholes pinholes are open" "$RG_DIR/rpcgated.log")
t_check fairness/its-own-newcomers-refused [ "$refused" -eq $((N - CAP)) ]

# a client elsewhere: the /64 gives way its oldest pinhole, in the same batch
t_check fairness/client2-first-try first_try "$(map_and_connect client2 "$RG_SERVER6" EMSMDB)"
t_check fairness/ipv4-client-first-try first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"
set6=$(pinholes 6)
t_check fairness/client2-in-set grep -q "$RG_CLIENT2_6 . $RG_SERVER6 . tcp . $emsmdb" <<<"$set6"
t_check fairness/oldest-evicted-from-kernel bash -c "! grep -q '$NET::1001 \.' <<<'$set6'"
held=$(grep -o "$NET::[0-9a-f]* . $RG_SERVER6 . tcp . $emsmdb" <<<"$set6" | wc -l)
t_check fairness/host-gave-way-one [ "$held" -eq $((CAP - 2)) ]
t_check fairness/eviction-logged grep -q \
	"evicted 1 pinhole(s) of host $NET::/64: max_pinholes full" "$RG_DIR/rpcgated.log"
kill -USR1 "$RG_GATE_PID"
for ((i = 0; i < 40; i++)); do grep -q "statistics:" "$RG_DIR/rpcgated.log" && break; sleep 0.05; done
t_check fairness/evictions-counted grep -q "statistics: .* 2 evicted, $CAP open now" "$RG_DIR/rpcgated.log"
t_check fairness/daemon-alive kill -0 "$RG_GATE_PID"
gate_stop
