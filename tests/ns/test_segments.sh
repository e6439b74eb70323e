#!/usr/bin/env bash
# Issue 7's held-segment attack, live: on one real endpoint-mapper
# connection a client sends 65,535 one-byte segments ahead of a one-byte gap
# (tests/tools/ooo_segments, raw socket), ascending and descending over
# IPv4, ascending over IPv6.  rpcgated's memory grows by less than 2 x max_buffer_bytes
# plus SLACK_KB, another client's lookup meanwhile connects on its first SYN,
# and the daemon lives.  How many segments got through, the RSS and CPU the
# daemon spent are printed as "# " lines: figures, not verdicts.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
TOOL=$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/tools/ooo_segments
if [ ! -x "$TOOL" ]; then
	# missing in CI is a failure, not a skip
	if [ "${CI:-}" = true ]; then t_fail segments "$TOOL not built (make tools)"
	else t_skip segments "$TOOL not built (make tools)"; fi
	exit 0
fi
ns_setup || { t_fail segments/setup "namespace lab"; exit 1; }

MAX_BUFFER=65536
# What the daemon may grow by besides the held bytes: one flow and its
# decoders (under 1 KiB), glibc's heap growing by whole pages and keeping
# freed chunks (up to its 128 KiB top pad), the netlink and queue buffers
# touched for the first time under load.  The old list (one node per byte)
# grew 2.1 MiB here.
SLACK_KB=256
SEGMENTS=65535

vm_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$RG_GATE_PID/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$RG_GATE_PID/stat"; }
# gate_stat WORD: the number before WORD in a fresh statistics line
gate_stat() {
	local n i
	n=$(grep -c 'statistics:' "$RG_DIR/rpcgated.log")
	kill -USR1 "$RG_GATE_PID"
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'statistics:' "$RG_DIR/rpcgated.log")" -gt "$n" ] && break
		sleep 0.05
	done
	grep 'statistics:' "$RG_DIR/rpcgated.log" | tail -n 1 |
		grep -o "[0-9]* $1" | head -n 1 | cut -d' ' -f1
}
# one-byte segments from the client that reached the server
arrived() {
	in_server nft list counter inet rgtest "one_byte$1" | grep -o 'packets [0-9]*' | cut -d' ' -f2
}

epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" ||
	{ t_fail segments/epm-server; exit 1; }
gate_start "servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
interfaces = [ \"exchange\" ];
max_buffer_bytes = $MAX_BUFFER;" || { t_fail segments/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - ||
	t_fail segments/ruleset "nft refused the printed ruleset"
in_server nft -f - <<NFT || t_fail segments/counter "nft refused the server's counter"
table inet rgtest {
	counter one_byte4 { }
	counter one_byte6 { }
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr $RG_CLIENT4 tcp dport 135 meta length 41 counter name one_byte4
		ip6 saddr $RG_CLIENT6 tcp dport 135 meta length 61 counter name one_byte6
	}
}
NFT

# the daemon's steady state first: one lookup followed through
t_check segments/warm-up first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"

for run in 4/ascending 4/descending 6/ascending; do
	fam=${run%/*} order=${run#*/} name=segments$run
	eval server=\$RG_SERVER$fam
	flag=; [ $order = descending ] && flag=-d
	rss0=$(vm_kb VmRSS) hwm0=$(vm_kb VmHWM) cpu0=$(cpu_ticks)
	pkts0=$(gate_stat packets) desync0=$(gate_stat desynchronized) got0=$(arrived $fam)
	# 64 segments every 2 ms: about 2 s of sending, so the lookup below
	# overlaps it, and slow enough not to overrun the queue
	ns_bg client "$TOOL" $flag -n $SEGMENTS -b 64 -g 2000 -t 3 "$server" 135 >"$RG_DIR/ooo-$fam$order" 2>&1
	tool=$RG_LAST_PID
	sleep 0.2
	out=$(map_and_connect client2 "$server" EMSMDB)
	t_check "$name/other-client-first-syn" first_try "$out"
	grep -q '"event": "sent"' "$RG_DIR/ooo-$fam$order" && echo "# $run: the lookup ended after the last segment"
	for ((i = 0; i < 1200; i++)); do
		grep -q '"event": "sent"' "$RG_DIR/ooo-$fam$order" && break
		kill -0 "$tool" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q '"event": "sent"' "$RG_DIR/ooo-$fam$order"; then
		t_fail "$name/sent" "$(tail -n 2 "$RG_DIR/ooo-$fam$order")"
		ns_stop "$tool"
		continue
	fi
	sleep 0.5	# the last queued segments
	rss1=$(vm_kb VmRSS) hwm1=$(vm_kb VmHWM) cpu1=$(cpu_ticks)
	pkts1=$(gate_stat packets) desync1=$(gate_stat desynchronized) got1=$(arrived $fam)
	echo "# $run: $SEGMENTS sent, $((got1 - got0)) reached the server" \
		"(window $(json_get "$RG_DIR/ooo-$fam$order" sent server_window) bytes)," \
		"rpcgated saw $((pkts1 - pkts0)) packets, desynchronized flows +$((desync1 - desync0))"
	echo "# $run: rpcgated VmRSS ${rss0} -> ${rss1} kB (+$((rss1 - rss0)) kB)," \
		"VmHWM ${hwm0} -> ${hwm1} kB, CPU $(((cpu1 - cpu0) * 1000 / $(getconf CLK_TCK))) ms"
	t_check "$name/rss-bound" [ $((rss1 - rss0)) -lt $((2 * MAX_BUFFER / 1024 + SLACK_KB)) ]
	t_check "$name/peak-rss-bound" [ $((hwm1 - hwm0)) -lt $((2 * MAX_BUFFER / 1024 + SLACK_KB)) ]
	t_check "$name/most-reached-daemon" [ $((pkts1 - pkts0)) -gt $((SEGMENTS / 2)) ]
	t_check "$name/daemon-alive" kill -0 "$RG_GATE_PID"
	# descending, every byte is a run of its own: max_held_segments stops
	# following the connection, counted and logged
	if [ $order = descending ]; then
		t_check "$name/desync-counted" [ $((desync1 - desync0)) -ge 1 ]
		t_check "$name/desync-logged" grep -q "no longer followed: .*max_held_segments" "$RG_DIR/rpcgated.log"
	fi
	ns_stop "$tool"
done

t_check segments/after-first-syn first_try "$(map_and_connect client2 "$RG_SERVER4" NSPI)"
gate_stop
in_router nft delete table inet filter
