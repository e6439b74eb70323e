# shellcheck shell=bash disable=SC2086,SC2016,SC2034
# tests/ns/lib.sh: network-namespace lab for rpcgate tests. Source it, as root.
#
#   client  192.0.2.10  2001:db8:1::10 ─┐                ┌─ 198.51.100.20 2001:db8:2::20  server
#                                       ├─ lan0 [router] wan0 ─┤
#   client2 192.0.2.11  2001:db8:1::11 ─┘  192.0.2.1     198.51.100.1 └─ 198.51.100.30 2001:db8:2::30  server2
#                                          2001:db8:1::1 2001:db8:2::1
#
# lan0 and wan0 are bridges in the router namespace; each host has one veth
# "eth0" whose peer (c1, c2, s1, s2) is a port of a bridge. The router routes
# between lan0 and wan0 (forwarding on for IPv4 and IPv6, no ruleset), the
# hosts have default routes via it. IPv6 DAD is off (addresses usable at
# once); TSO/GSO/GRO are off on every veth and bridge (RG_OFFLOAD=on keeps
# them) so netfilter and NFQUEUE see MSS-sized segments; bridged frames do
# not reach the router's netfilter hooks (bridge-nf-call-* = 0).
#
#   . tests/ns/lib.sh
#   ns_setup || exit 1          # also installs ns_teardown as the EXIT trap
#   ns_bg server /usr/bin/python3 "$RG_LIB_DIR/epm_server.py" --addr "$RG_SERVER4" >"$RG_DIR/srv.json"
#   wait_tcp_listen server "$RG_SERVER4" 135 || t_fail ...
#   in_client /usr/bin/python3 "$RG_LIB_DIR/epm_client.py" "$RG_SERVER4"
#   t_pass my-test             # prints "PASS ns/my-test"
#
# Knobs: RG_ID (name suffix; default pid + random), RG_KEEP=1 (keep $RG_DIR),
# RG_OFFLOAD=on, RG_VERBOSE=1 (log set-up steps on stderr), RG_WITH_CLIENT3=1
# (a third client, client3 192.0.2.12 2001:db8:1::12 on lan0, rg-cli3-ID).
# Namespaces: rg-cli-ID rg-rtr-ID rg-srv-ID rg-cli2-ID rg-srv2-ID. Nothing
# outside them is touched, except $RG_DIR (a mktemp directory under /tmp).

RG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RG_PY=/usr/bin/python3          # Debian's python: python3-impacket, python3-scapy

RG_CLIENT4=192.0.2.10      RG_CLIENT6=2001:db8:1::10
RG_CLIENT2_4=192.0.2.11    RG_CLIENT2_6=2001:db8:1::11
RG_CLIENT3_4=192.0.2.12    RG_CLIENT3_6=2001:db8:1::12   # RG_WITH_CLIENT3=1
RG_ROUTER_LAN4=192.0.2.1   RG_ROUTER_LAN6=2001:db8:1::1
RG_ROUTER_WAN4=198.51.100.1 RG_ROUTER_WAN6=2001:db8:2::1
RG_SERVER4=198.51.100.20   RG_SERVER6=2001:db8:2::20
RG_SERVER2_4=198.51.100.30 RG_SERVER2_6=2001:db8:2::30
RG_LAN_IF=lan0             RG_WAN_IF=wan0     # router side (bridges)
RG_HOST_IF=eth0                               # client/server side

RG_PIDS=()          # every PID started with ns_bg
RG_CREATED=()       # the namespaces this run created (the only ones it deletes)
RG_AT_EXIT=()       # commands ns_teardown runs first (ns_at_exit)
RG_T_PASS=0 RG_T_FAIL=0 RG_T_SKIP=0
RG_UP=0

# ------------------------------------------------------------ test output
t_pass() { echo "PASS ns/$1"; RG_T_PASS=$((RG_T_PASS + 1)); }
t_fail() { echo "FAIL ns/$1: ${2:-failed}"; RG_T_FAIL=$((RG_T_FAIL + 1)); }
t_skip() { echo "SKIP ns/$1: ${2:-skipped}"; RG_T_SKIP=$((RG_T_SKIP + 1)); }
# t_check NAME CMD...: PASS if CMD succeeds, else FAIL with CMD's last line
t_check() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then t_pass "$name"; else t_fail "$name" "$(tail -n 1 <<<"$out")"; fi
}

rg_log() { [ "${RG_VERBOSE:-0}" = 1 ] && echo "[ns $(date +%T.%3N)] $*" >&2; return 0; }
rg_err() { echo "ns: $*" >&2; }

# ------------------------------------------------------------ names
rg_ns() { # rg_ns client|router|server|client2|server2|rg-...: namespace name
	case $1 in
	client) echo "$RG_NS_CLIENT" ;;
	client2) echo "$RG_NS_CLIENT2" ;;
	client3) echo "$RG_NS_CLIENT3" ;;
	router) echo "$RG_NS_ROUTER" ;;
	server) echo "$RG_NS_SERVER" ;;
	server2) echo "$RG_NS_SERVER2" ;;
	rg-*) echo "$1" ;;
	*) rg_err "unknown namespace '$1'"; return 1 ;;
	esac
}

in_ns() { local ns; ns=$(rg_ns "$1") || return 2; shift; ip netns exec "$ns" "$@"; }
in_client() { ip netns exec "$RG_NS_CLIENT" "$@"; }
in_client2() { ip netns exec "$RG_NS_CLIENT2" "$@"; }
in_router() { ip netns exec "$RG_NS_ROUTER" "$@"; }
in_server() { ip netns exec "$RG_NS_SERVER" "$@"; }
in_server2() { ip netns exec "$RG_NS_SERVER2" "$@"; }

# ns_bg NS CMD...: start CMD in the background in NS (stdin /dev/null;
# redirect the call to redirect its output). Sets RG_LAST_PID. Call it
# directly, not inside $(...), or the PID is not recorded.
ns_bg() {
	local ns; ns=$(rg_ns "$1") || return 2; shift
	ip netns exec "$ns" "$@" </dev/null &
	RG_LAST_PID=$!
	RG_PIDS+=("$RG_LAST_PID")
	echo "$RG_LAST_PID $ns $*" >>"$RG_DIR/pids"
	rg_log "bg $RG_LAST_PID in $ns: $*"
}

# ns_stop PID [timeout]: TERM one process started with ns_bg, KILL it after
# timeout seconds (default 3), reap it.
ns_stop() {
	local pid=$1 t=${2:-3} i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < t * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	return 0
}

ns_at_exit() { RG_AT_EXIT+=("$*"); }

# wait_tcp_listen NS ADDR PORT [timeout]: until something listens on
# ADDR:PORT in NS (ADDR "*" for any address), at most timeout s (default 10)
wait_tcp_listen() {
	local ns addr=$2 port=$3 t=${4:-10} i pat
	ns=$(rg_ns "$1") || return 2
	case $addr in
	'*') pat="[^ ]*:$port" ;;
	*:*) pat="(\\[$addr\\]|\\[::\\]|\\*):$port" ;;
	*) pat="($addr|0\\.0\\.0\\.0|\\*):$port" ;;
	esac
	for ((i = 0; i < t * 20; i++)); do
		local socks
		socks=$(ip netns exec "$ns" ss -Hltn 2>/dev/null | awk '{print $4}') || true
		grep -Eqx "$pat" <<<"$socks" && return 0
		sleep 0.05
	done
	rg_err "nothing listens on $addr port $port in $ns after ${t}s"
	return 1
}

# wait_file FILE [timeout]: until FILE exists and is not empty
wait_file() {
	local f=$1 t=${2:-10} i
	for ((i = 0; i < t * 20; i++)); do
		[ -s "$f" ] && return 0
		sleep 0.05
	done
	return 1
}

# json_get FILE EVENT FIELD: FIELD of the first JSON line whose "event" is
# EVENT (empty if none; lists and objects as JSON, null as "null")
json_get() {
	"$RG_PY" - "$@" <<'PY'
import json, sys
path, event, field = sys.argv[1:4]
for line in open(path, errors='replace'):
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if isinstance(rec, dict) and rec.get('event') == event:
        v = rec.get(field)
        print(json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else v)
        break
PY
}

# epm_server_start NS OUT ARGS...: run epm_server.py in NS (stdout JSON to
# OUT, ready file OUT.ready), wait until it is ready (10 s at most).
# RG_EPM_PID is its PID. Ports: json_get OUT.ready ready ports, or
# epm_port OUT EMSMDB.
epm_server_start() {
	local ns=$1 out=$2; shift 2
	rm -f "$out.ready"
	ns_bg "$ns" "$RG_PY" "$RG_LIB_DIR/epm_server.py" --ready-file "$out.ready" "$@" >"$out" 2>"$out.err"
	RG_EPM_PID=$RG_LAST_PID
	if ! wait_file "$out.ready" 10; then
		rg_err "epm_server.py not ready after 10 s: $(tail -n 3 "$out.err" "$out" 2>/dev/null)"
		return 1
	fi
}
epm_port() { # epm_port OUT NAME: the port epm_server.py gave interface NAME
	"$RG_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ports"][sys.argv[2]])' "$1.ready" "$2"
}

# ------------------------------------------------------------ set-up
rg_sysctls() { # rg_sysctls NS key=value...: one exec, missing keys ignored
	local ns=$1; shift
	ip netns exec "$ns" sh -c '
		for kv do
			f=/proc/sys/$(echo "${kv%%=*}" | tr . /)
			[ -e "$f" ] && echo "${kv#*=}" >"$f"
		done; exit 0' sh "$@"
}

rg_offload_off() { # rg_offload_off NS DEV...
	local ns=$1 dev; shift
	[ "${RG_OFFLOAD:-off}" = on ] && return 0
	for dev in "$@"; do
		ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 ||
			rg_err "ethtool -K $dev in $ns failed"
	done
}

# rg_host NS PEER BRIDGE ADDR4 ADDR6 GW4 GW6: a host namespace behind BRIDGE
rg_host() {
	local ns=$1 peer=$2 br=$3 a4=$4 a6=$5 gw4=$6 gw6=$7
	ip -n "$ns" link add "$RG_HOST_IF" type veth peer name "$peer" netns "$RG_NS_ROUTER" || return 1
	ip -n "$RG_NS_ROUTER" link set "$peer" master "$br" up || return 1
	rg_sysctls "$RG_NS_ROUTER" "net.ipv6.conf.$peer.disable_ipv6=1"
	rg_sysctls "$ns" "net.ipv6.conf.$RG_HOST_IF.accept_dad=0"
	ip -n "$ns" addr add "$a4/24" dev "$RG_HOST_IF" &&
		ip -n "$ns" addr add "$a6/64" dev "$RG_HOST_IF" nodad &&
		ip -n "$ns" link set "$RG_HOST_IF" up &&
		ip -n "$ns" route add default via "$gw4" &&
		ip -n "$ns" -6 route add default via "$gw6" || return 1
	rg_offload_off "$ns" "$RG_HOST_IF"
	rg_offload_off "$RG_NS_ROUTER" "$peer"
}

# ns_setup: create the five namespaces, check they talk (TCP over IPv4 and
# IPv6, both clients to both servers). Returns non-zero (and tears down) on
# failure.
ns_setup() {
	if [ "$(id -u)" -ne 0 ]; then rg_err "ns_setup needs root"; return 1; fi
	local t; for t in ip ss ethtool "$RG_PY"; do
		command -v "$t" >/dev/null || { [ "$t" = ethtool ] && [ "${RG_OFFLOAD:-off}" = on ]; } ||
			{ rg_err "missing $t"; return 1; }
	done
	[ "$RG_UP" = 1 ] && return 0
	rg_lab_id
	RG_NS_CLIENT=rg-cli-$RG_ID RG_NS_CLIENT2=rg-cli2-$RG_ID RG_NS_ROUTER=rg-rtr-$RG_ID
	RG_NS_SERVER=rg-srv-$RG_ID RG_NS_SERVER2=rg-srv2-$RG_ID
	RG_NSES=("$RG_NS_CLIENT" "$RG_NS_CLIENT2" "$RG_NS_ROUTER" "$RG_NS_SERVER" "$RG_NS_SERVER2")
	RG_NS_CLIENT3=rg-cli3-$RG_ID
	[ "${RG_WITH_CLIENT3:-0}" = 1 ] && RG_NSES+=("$RG_NS_CLIENT3")
	rg_lab_begin || return 1
	if ! rg_build; then
		rg_err "topology set-up failed"
		ns_teardown
		return 1
	fi
	if ! rg_settle; then
		rg_err "settle check failed"
		ns_teardown
		return 1
	fi
	rg_log "lab up"
}

rg_lab_id() { RG_ID=${RG_ID:-$$$(printf %04x $((RANDOM)))}; }

# rg_lab_begin: $RG_DIR, the EXIT trap, and the namespaces named in
# RG_NSES (lo up, no DAD, no RA); tears down and fails if one cannot be
# made. ns_setup's first half; another topology (tests/ns/ha.sh) names
# its own namespaces and calls it.
rg_lab_begin() {
	RG_DIR=$(mktemp -d "/tmp/rg-ns-$RG_ID.XXXXXX") || return 1
	: >"$RG_DIR/pids"
	RG_UP=1 RG_TORN=0
	trap ns_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	rg_log "setting up ${RG_NSES[*]} (dir $RG_DIR)"
	local ns
	for ns in "${RG_NSES[@]}"; do
		ip netns add "$ns" || { rg_err "ip netns add $ns failed"; ns_teardown; return 1; }
		RG_CREATED+=("$ns")
		ip -n "$ns" link set lo up
		rg_sysctls "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0
	done
}

rg_build() {
	local r=$RG_NS_ROUTER br
	rg_sysctls "$r" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
		net.bridge.bridge-nf-call-arptables=0
	for br in "$RG_LAN_IF" "$RG_WAN_IF"; do
		ip -n "$r" link add "$br" type bridge stp_state 0 forward_delay 0 mcast_snooping 0 || return 1
		rg_sysctls "$r" "net.ipv6.conf.$br.accept_dad=0"
	done
	ip -n "$r" addr add "$RG_ROUTER_LAN4/24" dev "$RG_LAN_IF" &&
		ip -n "$r" addr add "$RG_ROUTER_LAN6/64" dev "$RG_LAN_IF" nodad &&
		ip -n "$r" addr add "$RG_ROUTER_WAN4/24" dev "$RG_WAN_IF" &&
		ip -n "$r" addr add "$RG_ROUTER_WAN6/64" dev "$RG_WAN_IF" nodad &&
		ip -n "$r" link set "$RG_LAN_IF" up && ip -n "$r" link set "$RG_WAN_IF" up || return 1
	rg_host "$RG_NS_CLIENT" c1 "$RG_LAN_IF" "$RG_CLIENT4" "$RG_CLIENT6" "$RG_ROUTER_LAN4" "$RG_ROUTER_LAN6" &&
		rg_host "$RG_NS_CLIENT2" c2 "$RG_LAN_IF" "$RG_CLIENT2_4" "$RG_CLIENT2_6" "$RG_ROUTER_LAN4" "$RG_ROUTER_LAN6" &&
		rg_host "$RG_NS_SERVER" s1 "$RG_WAN_IF" "$RG_SERVER4" "$RG_SERVER6" "$RG_ROUTER_WAN4" "$RG_ROUTER_WAN6" &&
		rg_host "$RG_NS_SERVER2" s2 "$RG_WAN_IF" "$RG_SERVER2_4" "$RG_SERVER2_6" "$RG_ROUTER_WAN4" "$RG_ROUTER_WAN6" ||
		return 1
	if [ "${RG_WITH_CLIENT3:-0}" = 1 ]; then
		rg_host "$RG_NS_CLIENT3" c3 "$RG_LAN_IF" "$RG_CLIENT3_4" "$RG_CLIENT3_6" "$RG_ROUTER_LAN4" "$RG_ROUTER_LAN6" ||
			return 1
	fi
	rg_offload_off "$r" "$RG_LAN_IF" "$RG_WAN_IF"
}

# A real TCP connect, both families, from each client to each server,
# through the router. 10 s at most.
rg_settle() {
	local port=9 p1 p2 rc=0
	ns_bg server "$RG_PY" "$RG_LIB_DIR/tcp_probe.py" listen $port "$RG_SERVER4" "$RG_SERVER6" >/dev/null
	p1=$RG_LAST_PID
	ns_bg server2 "$RG_PY" "$RG_LIB_DIR/tcp_probe.py" listen $port "$RG_SERVER2_4" "$RG_SERVER2_6" >/dev/null
	p2=$RG_LAST_PID
	wait_tcp_listen server "$RG_SERVER6" $port 5 && wait_tcp_listen server2 "$RG_SERVER2_6" $port 5 || rc=1
	if [ $rc = 0 ]; then
		in_client "$RG_PY" "$RG_LIB_DIR/tcp_probe.py" connect 5 "$RG_SERVER4" $port "$RG_SERVER6" $port \
			"$RG_SERVER2_4" $port "$RG_SERVER2_6" $port &&
			in_client2 "$RG_PY" "$RG_LIB_DIR/tcp_probe.py" connect 5 "$RG_SERVER4" $port "$RG_SERVER6" $port \
				"$RG_SERVER2_4" $port "$RG_SERVER2_6" $port || rc=1
	fi
	ns_stop "$p1" 1
	ns_stop "$p2" 1
	return $rc
}

# ------------------------------------------------------------ teardown
# The processes of the lab: everything in our namespaces, and our ns_bg
# children that have not entered theirs yet (still unreaped jobs of this
# shell, so a recycled PID is never hit).
rg_lab_pids() {
	local ns out="" p jp
	for ns in "${RG_CREATED[@]}"; do
		out+=" $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')" || true
	done
	jp=" $(jobs -p | tr '\n' ' ') "
	for p in "${RG_PIDS[@]}"; do
		[[ "$jp" == *" $p "* && " $out " != *" $p "* ]] && out+=" $p"
	done
	echo $out
}

# ns_teardown: run ns_at_exit commands, kill every process in the lab's
# namespaces (those started with ns_bg and any other: ip netns pids), delete
# the namespaces and $RG_DIR (unless RG_KEEP=1). Idempotent.
ns_teardown() {
	[ "${RG_UP:-0}" = 1 ] || return 0
	[ "${RG_TORN:-0}" = 1 ] && return 0
	RG_TORN=1
	local i ns pids="" p
	for ((i = ${#RG_AT_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${RG_AT_EXIT[$i]}" || true
	done
	# TERM, children first (samba's rpcd_* workers, so their parent reaps
	# them), then everything; again for late arrivals; KILL after 2 s
	local pids kids q pp p
	pids=$(rg_lab_pids)
	[ -n "$pids" ] && rg_log "killing $pids"
	kids=""
	for q in $pids; do
		pp=$(ps -o ppid= -p "$q" 2>/dev/null | tr -d " ") || true
		[[ " $pids " == *" $pp "* ]] && kids+=" $q"
	done
	if [ -n "$kids" ]; then
		kill -TERM $kids 2>/dev/null || true
		for ((i = 0; i < 10; i++)); do
			p=""
			for q in $kids; do [ -e "/proc/$q/ns/net" ] && p+=" $q"; done
			[ -z "$p" ] && break
			sleep 0.05
		done
	fi
	for ((i = 0; i < 40; i++)); do
		pids=$(rg_lab_pids)
		[ -z "$pids" ] && break
		kill -TERM $pids 2>/dev/null || true
		sleep 0.05
	done
	pids=$(rg_lab_pids)
	if [ -n "$pids" ]; then
		rg_log "KILL $pids"
		kill -KILL $pids 2>/dev/null || true
	fi
	for p in "${RG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	for ns in "${RG_CREATED[@]}"; do
		ip netns del "$ns" 2>/dev/null || rg_err "ip netns del $ns failed"
	done
	RG_CREATED=()
	if [ "${RG_KEEP:-0}" = 1 ]; then
		echo "ns: kept $RG_DIR" >&2
	elif [ -n "${RG_DIR:-}" ] && [ -d "$RG_DIR" ]; then
		rm -rf "$RG_DIR"
	fi
	rg_log "lab down"
	return 0
}
