# shellcheck shell=bash
# tests/ns/daemon.sh: running rpcgated in the lab's router namespace.
# Source after lib.sh.
#   gate_start CONF_TEXT [rpcgated args...]  writes $RG_DIR/rpcgate.conf
#       (with state_file = "$RG_DIR/state/pinholes" unless CONF_TEXT sets
#       one), starts rpcgated -f -s $RG_DIR/control in the router, waits
#       for its "started" line
#   gate_stop                                 SIGTERM, wait, reap
#   gate_log                                  the daemon's log so far
#   map_and_connect CLIENT_NS SERVER IFACE [epm_client args...]
#       prints the client's JSON lines
#   first_try OUT                             0 if OUT shows a connect on the first SYN
#   blocked OUT                               0 if OUT shows a connect that timed out
#   pinholes FAMILY [TABLE]                   the pinhole set's elements
#   open_range_ruleset                        ruleset shape (a), for nft -f

RG_BIN=${RG_BIN:-$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/rpcgated}
RG_GATE_PID=

gate_log() { cat "$RG_DIR/rpcgated.log" 2>/dev/null; }

gate_start() {
	local conf=$1 i; shift
	# never the host's /run/rpcgate: each lab keeps its own
	case $conf in
	*state_file*) ;;
	*) conf="$conf
state_file = \"$RG_DIR/state/pinholes\";" ;;
	esac
	printf '%s\n' "$conf" >"$RG_DIR/rpcgate.conf"
	: >"$RG_DIR/rpcgated.log"
	ns_bg router "$RG_BIN" -f -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control" "$@" 2>>"$RG_DIR/rpcgated.log"
	RG_GATE_PID=$RG_LAST_PID
	for ((i = 0; i < 100; i++)); do
		grep -q 'rpcgated: started' "$RG_DIR/rpcgated.log" && return 0
		kill -0 "$RG_GATE_PID" 2>/dev/null || break
		sleep 0.05
	done
	rg_err "rpcgated did not start: $(tail -n 5 "$RG_DIR/rpcgated.log")"
	return 1
}

gate_stop() {
	[ -n "$RG_GATE_PID" ] && ns_stop "$RG_GATE_PID" 5
	RG_GATE_PID=
}

map_and_connect() {
	local ns=$1 server=$2 iface=$3; shift 3
	in_ns "$ns" "$RG_PY" "$RG_LIB_DIR/epm_client.py" "$server" --iface "$iface" "$@" 2>&1
}

connect_only() { # connect_only NS SERVER PORT
	in_ns "$1" "$RG_PY" "$RG_LIB_DIR/epm_client.py" "$2" --connect-only "$3" 2>&1
}

first_try() { grep -q '"connected_first_try": true' <<<"$1"; }
blocked() { grep -q '"connected": false' <<<"$1" && ! grep -q '"connected": true' <<<"$1"; }
count_connected_first_try() { grep -c '"connected_first_try": true' <<<"$1"; }

# pinholes FAMILY [TABLE]: the elements of pinholes4/pinholes6 in inet TABLE
# (default rpcgate; nft_mode "sets": the administrator's) as nft lists them,
# on one line ("a . b . tcp . 49160 timeout 2m expires 1m59s, ..."); nft
# puts a second element on a line of its own
pinholes() {
	in_router nft list set inet "${2:-rpcgate}" "pinholes$1" 2>/dev/null |
		sed -n '/elements = {/,/}/p' | tr -d '\n' |
		sed 's/.*elements = { *//; s/ *}.*//; s/,[[:space:]]*/, /g'
}

# open_range_ruleset: ruleset shape (a), the administrator's forward chain
# (policy drop) opening 135 and the whole high range to the server
open_range_ruleset() {
	cat <<EOF
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ip daddr $RG_SERVER4 tcp dport { 135, 1024-65535 } accept
		ip6 daddr $RG_SERVER6 tcp dport { 135, 1024-65535 } accept
	}
}
EOF
}
