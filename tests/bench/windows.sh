#!/usr/bin/env bash
# The moments the high range is open, measured (a benchmark, never a
# test): ruleset shape (a) (tests/ns/daemon.sh's open_range_ruleset), a
# client that did no lookup sending one SYN to an unpinholed high port of
# the server every 10 ms (build/tools/syn_probe), through each event,
# WINDOW_ROUNDS times (default 5).  Prints one line per round: the event,
# SYNs sent, SYNs that got through, and (x 10 ms) how long it stayed open.
#   restart-kill   kill -9, 0.5 s down, start      (on_failure "closed")
#   restart-term   SIGTERM, 0.5 s down, start      (on_failure "closed")
#   reload-nft-f   nft -f of the administrator's file, which starts with
#                  `flush ruleset`: open until rpcgated repairs it
#   flush-ruleset  a bare `nft flush ruleset`: no ruleset at all (the
#                  router forwards everything) until rpcgated repairs it
# WINDOW_EVENTS picks some (default all four), WINDOW_FAMILY=6 probes the
# server's IPv6 address.  Run as root: sudo bash tests/bench/windows.sh
set -u
. "$(dirname "$0")/../ns/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ROUNDS=${WINDOW_ROUNDS:-5}
EVENTS=${WINDOW_EVENTS:-restart-kill restart-term reload-nft-f flush-ruleset}
PROBE=$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/tools/syn_probe
ns_setup || exit 1
{ echo "flush ruleset"; open_range_ruleset; } >"$RG_DIR/admin.nft"
in_router nft -f "$RG_DIR/admin.nft" || exit 1
eval TARGET=\$RG_SERVER"${WINDOW_FAMILY:-4}"
CONF="servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
on_failure = \"closed\";"
gate_start "$CONF" || exit 1

# round EVENT: the probe for 3 s around one EVENT
round() {
	ns_bg client2 "$PROBE" "$TARGET" 50999 10 3 >"$RG_DIR/probe"
	local probe=$RG_LAST_PID
	sleep 0.5
	case $1 in
	restart-kill) kill -KILL "$RG_GATE_PID"; wait "$RG_GATE_PID" 2>/dev/null
		sleep 0.5; gate_start "$CONF" >/dev/null ;;
	restart-term) gate_stop; sleep 0.5; gate_start "$CONF" >/dev/null ;;
	reload-nft-f) in_router nft -f "$RG_DIR/admin.nft" ;;
	flush-ruleset) in_router nft flush ruleset ;;
	esac
	wait "$probe"
	# the administrator's ruleset back, outside the measurement
	[ "$1" = flush-ruleset ] && in_router nft -f "$RG_DIR/admin.nft" && sleep 1.5
	read -r _ _ sent _ through _ _ <"$RG_DIR/probe"
	read -r _ _ _ _ _ _ first <"$RG_DIR/probe"
	printf '%-14s sent %4s through %3s open ~%s ms (first at %s ms)\n' "$1" "$sent" "$through" "$((through * 10))" "$first"
}
for event in $EVENTS; do
	for ((i = 0; i < ROUNDS; i++)); do round "$event"; done
done
gate_stop
