#!/usr/bin/env bash
# make bench-gateway: endpoint-mapper lookups through the namespace lab's
# router, a static rule against rpcgated.  A benchmark, never a test: it
# prints tables and exits 0 whatever the numbers (non-zero only when the
# lab or a tool cannot start).  Root; namespaces only (tests/ns/lib.sh),
# removed on exit.
#
# Configurations, interleaved round by round so that whatever else loads
# the machine hits both alike:
#   A  a static rule: forward policy drop, established accepted, TCP 135
#      and 1024-65535 to the server accepted (the "open the range" router)
#   B  rpcgated with its printed ruleset (`rpcgated --print-ruleset`, as
#      tests/ns/test_exchange.sh loads it)
#   C, D, ...  as B with another build: BENCH_BIN_C=path/to/rpcgated (to
#      compare builds within one run; each gets its own table against A)
# at each BENCH_CONCURRENCY, BENCH_ROUNDS times, then one overload run
# each at BENCH_OVERLOAD concurrent clients.  The load is epm_load against
# epm_serve (tests/bench/): every answer a new port from a pool of 16384
# listening sockets, 16 client addresses, so every lookup needs a pinhole
# of its own.  rpcgated is started afresh for each B run; its CPU is
# /proc/PID/schedstat (run time in ns, user + system) before and after the
# run, its RSS VmRSS at the end and VmHWM, the packets it read from the
# queue (its statistics line) per lookup.
#
# Then the data plane: new connections per second through a pinhole
# (epm_load -C) with 0, 100k and 1M other pinholes in rpcgated's set
# (filled with `nft -f` of generated elements), and the idle CPU of the
# 1M-element set: whole-machine busy time from /proc/stat (all but idle
# and iowait) and the CPU of kworker/ksoftirqd threads (/proc/PID/stat)
# over BENCH_IDLE_SECONDS with the 1M elements, then with the set
# emptied, alternated twice.  The set's garbage collection runs in
# kworkers that belong to no namespace, so only the difference between
# the two states is attributable; other load on the machine is noise in
# both.
#
# Knobs (environment):
#   BENCH_ROUNDS=3 BENCH_SECONDS=5 BENCH_CONCURRENCY="1 8 64"
#   BENCH_OVERLOAD=1024 BENCH_OVERLOAD_SECONDS=8 BENCH_CONFIGS="A B" (empty:
#   no overload run, no lookups)
#   BENCH_PINHOLES="0 100000 1000000" (empty: no data-plane part)
#   BENCH_IDLE_SECONDS=10 BENCH_RESULTS=FILE (the markdown, also on stdout)
#   BENCH_GATE_CONF="extra config lines for rpcgated"
# Default run: about 5 minutes.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BUILD=${BUILD:-build}
export BUILD
ROUNDS=${BENCH_ROUNDS:-3}
RUN_SECONDS=${BENCH_SECONDS:-5}
CONCURRENCY=${BENCH_CONCURRENCY:-"1 8 64"}
OVERLOAD=${BENCH_OVERLOAD-1024}
OVERLOAD_SECONDS=${BENCH_OVERLOAD_SECONDS:-8}
CONFIGS=${BENCH_CONFIGS-"A B"}
PINHOLE_COUNTS=${BENCH_PINHOLES-"0 100000 1000000"}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-10}
RESULTS=${BENCH_RESULTS:-$BUILD/bench/gateway-latest.md}
LOAD=$ROOT/$BUILD/bench/epm_load
SERVE=$ROOT/$BUILD/bench/epm_serve
POOL_BASE=20000 POOL_SIZE=16384
N_SOURCES=16

. tests/ns/lib.sh
. tests/ns/daemon.sh

for bin in "$LOAD" "$SERVE" "$RG_BIN"; do
	[ -x "$bin" ] || { echo "bench-gateway: $bin missing (make all $BUILD/bench/epm_load $BUILD/bench/epm_serve)" >&2; exit 1; }
done
started_at=$(date +%s)
ns_setup || { echo "bench-gateway: namespace lab failed" >&2; exit 1; }
mkdir -p "$(dirname "$RESULTS")"

# ---------------------------------------------------------------- lab
SOURCES=""
for ((i = 0; i < N_SOURCES; i++)); do
	a=192.0.2.$((100 + i))
	in_client ip addr add "$a/24" dev "$RG_HOST_IF"
	SOURCES+=${SOURCES:+,}$a
done
# two connections per lookup, thousands a second: no TIME_WAIT on the
# client (the server closes first on 135, the client resets the data
# connection), conntrack forgets closed connections after a second
rg_sysctls "$RG_NS_CLIENT" net.ipv4.tcp_tw_reuse=1 "net.ipv4.ip_local_port_range=1024 65000"
rg_sysctls "$RG_NS_SERVER" net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=8192
rg_sysctls "$RG_NS_ROUTER" net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 \
	net.netfilter.nf_conntrack_tcp_timeout_close=1 net.netfilter.nf_conntrack_tcp_timeout_fin_wait=1 \
	net.netfilter.nf_conntrack_tcp_timeout_last_ack=1 net.netfilter.nf_conntrack_tcp_timeout_close_wait=1

ns_bg server "$SERVE" -a "$RG_SERVER4" -b $POOL_BASE -n $POOL_SIZE -r "$RG_DIR/serve.ready" \
	>"$RG_DIR/serve.out" 2>&1
wait_file "$RG_DIR/serve.ready" 30 || { echo "bench-gateway: epm_serve: $(cat "$RG_DIR/serve.out")" >&2; exit 1; }

STATIC_RULES="table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ip daddr $RG_SERVER4 tcp dport { 135, 1024-65535 } accept
	}
}"
GATE_CONF="servers = [ \"$RG_SERVER4\" ];
interfaces = [ \"exchange\" ];
pinhole_timeout = 30;
max_pinholes = 1048576;
max_pinholes_per_client = 1048576;
max_flows = 16384;
max_flows_per_client = 16384;
${BENCH_GATE_CONF:-}"

gate_cpu_ns() { awk '{print $1}' "/proc/$RG_GATE_PID/schedstat" 2>/dev/null || echo 0; }
gate_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$RG_GATE_PID/status" 2>/dev/null; }

gate_bin() { # gate_bin B|C|...: the rpcgated a configuration runs
	local var=BENCH_BIN_$1
	echo "${!var:-$B_BIN}"
}
B_BIN=$RG_BIN
configure() { # configure A|B|C...: the router's ruleset (and daemon)
	if [ "$1" = A ]; then
		in_router nft -f - <<<"$STATIC_RULES"
	else
		RG_BIN=$(gate_bin "$1")
		gate_start "$GATE_CONF" || return 1
		"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f -
	fi
}
unconfigure() {
	# a stop leaves rpcgated's table (and its pinholes) in place: the next
	# run starts from a router without it
	if [ "$1" != A ]; then
		gate_stop
		in_router "$RG_BIN" --remove -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control" >/dev/null
	fi
	in_router nft delete table inet filter 2>/dev/null
	sleep 1.2 # conntrack forgets the run's closed connections
}

# run_lookups CONFIG CONCURRENCY SECONDS ROUND: one line of runs.txt
run_lookups() {
	local cfg=$1 conc=$2 secs=$3 round=$4 out cpu0=0 cpu1=0 rss="-" hwm="-" cpu="-" stats="-" queued="-" per_lookup="-"
	configure "$cfg" || { echo "bench-gateway: $cfg would not start: $(gate_log | tail -n 3)" >&2; return 1; }
	[ "$cfg" != A ] && cpu0=$(gate_cpu_ns)
	out=$(in_client "$LOAD" -s "$RG_SERVER4" -S "$SOURCES" -c "$conc" -d "$secs")
	if [ "$cfg" != A ]; then
		cpu1=$(gate_cpu_ns)
		rss=$(gate_kb VmRSS) hwm=$(gate_kb VmHWM)
		kill -USR1 "$RG_GATE_PID"
		sleep 0.2
		stats=$(gate_log | grep -o 'flows .*' | tail -n 1 | sed 's/ /_/g')
		queued=$(gate_log | grep -o 'statistics: [0-9]* packets' | tail -n 1 | grep -o '[0-9][0-9]*')
	fi
	local lookups; lookups=$(grep -o 'lookups=[0-9]*' <<<"$out" | cut -d= -f2)
	[ "$cfg" != A ] && [ "${lookups:-0}" -gt 0 ] && cpu=$(((cpu1 - cpu0) / 1000 / lookups)) &&
		per_lookup=$(awk -v q="${queued:-0}" -v l="$lookups" 'BEGIN{printf "%.2f", q / l}')
	unconfigure "$cfg"
	echo "cfg=$cfg round=$round $out cpu_us=$cpu queued_per_lookup=$per_lookup rss_kb=$rss hwm_kb=$hwm stats=$stats" | tee -a "$RG_DIR/runs.txt" >&2
}

# ---------------------------------------------------------------- lookups
for ((round = 1; round <= ROUNDS; round++)); do
	for conc in $CONCURRENCY; do
		for cfg in $CONFIGS; do
			run_lookups "$cfg" "$conc" "$RUN_SECONDS" "$round"
		done
	done
done
if [ -n "$OVERLOAD" ]; then
	for cfg in $CONFIGS; do
		run_lookups "$cfg" "$OVERLOAD" "$OVERLOAD_SECONDS" 1
	done
fi

# ---------------------------------------------------------------- data plane
busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
kthread_jiffies() { # kworker and ksoftirqd threads, utime + stime
	local f sum=0 line
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		case $line in
		*"(kworker"* | *"(ksoftirqd"*)
			line=${line##*) }
			set -- $line
			sum=$((sum + ${12} + ${13})) ;;
		esac
	done
	echo $sum
}
# idle_cpu LABEL: one IDLE_SECONDS measurement
idle_cpu() {
	local b0 k0 b1 k1 hz
	hz=$(getconf CLK_TCK)
	b0=$(busy_jiffies) k0=$(kthread_jiffies)
	sleep "$IDLE_SECONDS"
	b1=$(busy_jiffies) k1=$(kthread_jiffies)
	echo "idle=$1 machine_busy_pct=$(awk -v d=$((b1 - b0)) -v s="$IDLE_SECONDS" -v hz="$hz" 'BEGIN{printf "%.2f", 100 * d / hz / s}') kthreads_pct=$(awk -v d=$((k1 - k0)) -v s="$IDLE_SECONDS" -v hz="$hz" 'BEGIN{printf "%.2f", 100 * d / hz / s}')" |
		tee -a "$RG_DIR/runs.txt" >&2
}
# fill_pinholes FROM TO: elements FROM..TO-1 of the filler, nft -f in chunks
fill_pinholes() {
	local from=$1 to=$2 t0 t1
	"${RG_PY}" - "$from" "$to" "$RG_SERVER4" >"$RG_DIR/fill.nft" <<'PY'
import sys
lo, hi, server = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
chunk = []
def flush():
    if chunk:
        print("add element inet rpcgate pinholes4 { %s }" % ", ".join(chunk))
        chunk.clear()
for i in range(lo, hi):
    # 203.0.113.0/24 clients x ports 1024..: never the benchmark's own
    chunk.append("203.0.113.%d . %s . tcp . %d timeout 30m" % (i % 256, server, 1024 + i // 256))
    if len(chunk) == 20000:
        flush()
flush()
PY
	t0=$(date +%s.%N)
	in_router nft -f "$RG_DIR/fill.nft" || echo "bench-gateway: nft -f of the filler failed" >&2
	t1=$(date +%s.%N)
	echo "fill=$from-$to seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')" | tee -a "$RG_DIR/runs.txt" >&2
}
# the pinholes the data-plane client connects through, afresh: each
# connection's `update @pinholes4` set them back to the set's timeout
own_pinholes() {
	local elems="" i
	for ((i = 0; i < N_SOURCES; i++)); do
		elems+="${elems:+, }192.0.2.$((100 + i)) . $RG_SERVER4 . tcp . $POOL_BASE"
	done
	in_router nft delete element inet rpcgate pinholes4 "{ $elems }" 2>/dev/null
	in_router nft add element inet rpcgate pinholes4 "{ ${elems//$POOL_BASE/$POOL_BASE timeout 30m} }"
}
connect_rate() { # connect_rate N_FILLER
	local out
	own_pinholes
	out=$(in_client "$LOAD" -s "$RG_SERVER4" -S "$SOURCES" -C $POOL_BASE -c 8 -d "$RUN_SECONDS")
	echo "pinholes=$1 $out" | tee -a "$RG_DIR/runs.txt" >&2
}
if [ -n "$PINHOLE_COUNTS" ]; then
	configure B || exit 1
	filled=0
	for n in $PINHOLE_COUNTS; do
		[ "$n" -gt "$filled" ] && fill_pinholes "$filled" "$n" && filled=$n
		connect_rate "$n"
	done
	if [ "$filled" -gt 0 ]; then
		for pass in 1 2; do
			idle_cpu "$filled"
			in_router nft flush set inet rpcgate pinholes4
			idle_cpu 0
			[ $pass = 1 ] && fill_pinholes 0 "$filled"
		done
		connect_rate 0
	fi
	unconfigure B
fi

# ---------------------------------------------------------------- report
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo "+dirty")
machine="$(uname -r), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
"${RG_PY}" - "$RG_DIR/runs.txt" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$commit" "$machine" \
	"$(($(date +%s) - started_at))" "$(for cfg in $CONFIGS; do [ "$cfg" != A ] && echo "$cfg=$(gate_bin "$cfg")"; done)" <<'PY' | tee "$RESULTS"
import statistics, sys
path, when, commit, machine, elapsed = sys.argv[1:6]
bins = dict(line.split("=", 1) for line in sys.argv[6].splitlines() if "=" in line)
runs = []
for line in open(path):
    runs.append(dict(kv.split("=", 1) for kv in line.split() if "=" in kv))
def med(rows, key):
    vals = [float(r[key]) for r in rows if r.get(key) not in (None, "-")]
    return statistics.median(vals) if vals else None
def fmt(v, unit=""):
    if v is None:
        return "-"
    if unit == "us":
        return "%.1f ms" % (v / 1000) if v >= 10000 else "%d µs" % v
    return "{:,.0f}".format(v)
def total(rows, key):
    return sum(int(r.get(key, 0)) for r in rows)
print("### bench-gateway, %s, commit %s" % (when, commit))
print()
print("Machine: %s; %s s in all." % (machine, elapsed))
print()
concs = sorted({int(r["concurrency"]) for r in runs if r.get("mode") == "lookup"})
gates = sorted({r["cfg"] for r in runs if r.get("mode") == "lookup" and r["cfg"] != "A"})
for g in gates:
  if len(gates) > 1:
    print("#### %s: %s" % (g, bins.get(g, "-")))
    print()
  print("| concurrency | runs | A lookups/s | B lookups/s | B/A | A p50 / p99 | B p50 / p99 | B−A p99 | first-SYN failures A / B | no pinhole A / B | B CPU/lookup | B queued/lookup | B RSS (HWM) |")
  print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
  for c in concs:
    a = [r for r in runs if r.get("mode") == "lookup" and r["cfg"] == "A" and int(r["concurrency"]) == c]
    b = [r for r in runs if r.get("mode") == "lookup" and r["cfg"] == g and int(r["concurrency"]) == c]
    ra, rb = med(a, "rate"), med(b, "rate")
    ratio = "%.3f" % (rb / ra) if ra and rb is not None else "-"
    pa, pb = med(a, "p99_us"), med(b, "p99_us")
    added = fmt(pb - pa, "us") if pa is not None and pb is not None and pb >= pa else ("-%s" % fmt(pa - pb, "us") if pa is not None and pb is not None else "-")
    cpu = med(b, "cpu_us")
    rss = "%s KiB (%s)" % (b[-1]["rss_kb"], b[-1]["hwm_kb"]) if b else "-"
    queued = med(b, "queued_per_lookup")
    print("| %d | %d+%d | %s | %s | %s | %s / %s | %s / %s | %s | %d / %d | %d / %d | %s | %s | %s |" % (
        c, len(a), len(b), fmt(ra), fmt(rb), ratio, fmt(med(a, "p50_us"), "us"), fmt(pa, "us"),
        fmt(med(b, "p50_us"), "us"), fmt(pb, "us"), added,
        total(a, "first_syn_fail"), total(b, "first_syn_fail"), total(a, "no_pinhole"), total(b, "no_pinhole"),
        "%d µs" % cpu if cpu is not None else "-", "%.1f" % queued if queued is not None else "-", rss))
  print()
print("Medians over the runs (lookups/s, percentiles, CPU); failures summed. "
      "A lookup is counted when its answer arrived within the run; the connects "
      "of answers still in flight at the end are counted too.")
over = [r for r in runs if r.get("mode") == "lookup" and r["cfg"] == "B" and r.get("stats", "-") != "-"]
if over:
    print()
    print("rpcgated's statistics after the B run at %s: `%s`" % (over[-1]["concurrency"], over[-1]["stats"].replace("_", " ")))
dp = [r for r in runs if "pinholes" in r and r.get("mode") == "connect"]
if dp:
    print()
    print("| pinholes in the set | new connections/s (8 at once) | vs. empty | first-SYN failures |")
    print("|---|---|---|---|")
    empty = [float(r["rate"]) for r in dp if r["pinholes"] == "0"]
    base = statistics.mean(empty) if empty else None
    for r in dp:
        print("| {:,} | {:,.0f} | {} | {} |".format(int(r["pinholes"]), float(r["rate"]),
              "%.3f" % (float(r["rate"]) / base) if base else "-", r["first_syn_fail"]))
fills = [r for r in runs if "fill" in r]
if fills:
    print()
    print("Filling the set with `nft -f`: " + ", ".join("%s in %s s" % (r["fill"], r["seconds"]) for r in fills) + ".")
idle = [r for r in runs if "idle" in r]
if idle:
    print()
    print("| idle, elements in the set | machine busy (% of one core, /proc/stat) | kworker + ksoftirqd (% of one core) |")
    print("|---|---|---|")
    for r in idle:
        print("| {:,} | {} | {} |".format(int(r["idle"]), r["machine_busy_pct"], r["kthreads_pct"]))
PY
