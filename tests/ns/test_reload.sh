#!/usr/bin/env bash
# SIGHUP: a narrower configuration revokes what it no longer allows, and
# with revoke_established cuts the connections those pinholes admitted; a
# broken file changes nothing. IPv4 and IPv6 in the same reload: EMSMDB and
# NSPI are mapped, a connection through EMSMDB's pinhole echoes a line every
# 0.2 s (epm_server.py --echo, epm_client.py --hold), then interfaces
# becomes NSPI alone. The router's ruleset is the printed one.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail reload/setup "namespace lab"; exit 1; }
NSPI=f5cc5a18-4264-101a-8c59-08002b2f8426
HOLD=5        # seconds the held connections last; the reload comes ~1 s in

epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" --echo ||
	{ t_fail reload/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB) nspi=$(epm_port "$RG_DIR/epm" NSPI)
conf() { # conf INTERFACES [MORE]: the configuration text
	printf 'servers = [ "%s", "%s" ];\ninterfaces = [ %s ];\nrevoke_established = true;\npinhole_timeout = 60;\n%s\nstate_file = "%s/state/pinholes";\n' \
		"$RG_SERVER4" "$RG_SERVER6" "$1" "${2:-}" "$RG_DIR"
}
# hup UNTIL: SIGHUP, then wait (5 s at most) for a new log line matching UNTIL
hup() {
	local before i
	before=$(wc -l <"$RG_DIR/rpcgated.log")
	kill -HUP "$RG_GATE_PID"
	for ((i = 0; i < 100; i++)); do
		tail -n +$((before + 1)) "$RG_DIR/rpcgated.log" | grep -q "$1" && return 0
		sleep 0.05
	done
	echo "no '$1' in the log after SIGHUP: $(tail -n 3 "$RG_DIR/rpcgated.log" | tr '\n' ' ')"
	return 1
}
# echoes_cut FILE T DONE: the held connection in FILE echoed before T, the
# SIGHUP (3 lines at least), and not after DONE, when the reload had
# finished, but for one echo already on its way (0.5 s)
echoes_cut() {
	"$RG_PY" - "$1" "$2" "$3" <<'PY'
import json, sys
t, done = float(sys.argv[2]), float(sys.argv[3])
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
echoes = [r['t'] for r in recs if r.get('event') == 'echo']
before = [e for e in echoes if e < t]
# an echo every 0.2 s: one may still have been on its way back
late = [round(e - done, 3) for e in echoes if e > done + 0.5]
if len(before) >= 3 and not late and any(r.get('event') == 'hold' for r in recs):
    sys.exit(0)
print('%d echoes before the reload, %d after it; after it had finished: %s' %
      (len(before), len(echoes) - len(before), late[:5]))
sys.exit(1)
PY
}

gate_start "$(conf '"exchange"')" || { t_fail reload/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - ||
	t_fail reload/ruleset "nft refused the printed ruleset"
holds=()
for fam in 4 6; do
	eval server=\$RG_SERVER$fam
	t_check "reload$fam/emsmdb-mapped" first_try "$(map_and_connect client "$server" EMSMDB)"
	t_check "reload$fam/nspi-mapped" first_try "$(map_and_connect client "$server" NSPI)"
	t_check "reload$fam/both-in-set" bash -c "grep -q 'tcp . $emsmdb' <<<'$(pinholes "$fam")' &&
		grep -q 'tcp . $nspi' <<<'$(pinholes "$fam")'"
	ns_bg client "$RG_PY" "$RG_LIB_DIR/epm_client.py" "$server" --connect-only "$emsmdb" --hold $HOLD \
		>"$RG_DIR/hold$fam" 2>&1
	holds+=("$RG_LAST_PID")
done
# both connections echo before the reload (3 s at most)
for ((i = 0; i < 60; i++)); do
	[ "$(grep -c '"event": "echo"' "$RG_DIR/hold4")" -ge 4 ] &&
		[ "$(grep -c '"event": "echo"' "$RG_DIR/hold6")" -ge 4 ] && break
	sleep 0.05
done

conf "\"$NSPI\"" >"$RG_DIR/rpcgate.conf"
t_hup=$(date +%s.%N)
t_check reload/reloaded hup "reloaded"
# the "reloaded" line follows the revocations: from here no echo may come
# back but one already under way (no deadline on how long a reload takes)
t_reloaded=$(date +%s.%N)
for fam in 4 6; do
	eval server=\$RG_SERVER$fam client=\$RG_CLIENT$fam
	[ $fam = 4 ] && srv=$server || srv="[$server]"
	t_check "reload$fam/emsmdb-removed" bash -c "! grep -q 'tcp . $emsmdb' <<<'$(pinholes "$fam")'"
	t_check "reload$fam/nspi-kept" grep -q "tcp . $nspi" <<<"$(pinholes "$fam")"
	t_check "reload$fam/logged-revoked-cut" grep -qF \
		"revoked tcp $client -> $srv:$emsmdb: no longer allowed by the configuration, established connections cut" \
		"$RG_DIR/rpcgated.log"
	t_check "reload$fam/emsmdb-dropped" blocked "$(connect_only client "$server" "$emsmdb")"
done
for fam in 4 6; do
	# the --hold clients end by themselves after HOLD seconds
	for ((i = 0; i < (HOLD + 5) * 20; i++)); do
		grep -q '"event": "done"' "$RG_DIR/hold$fam" && break
		sleep 0.05
	done
	t_check "reload$fam/held-connection-cut" echoes_cut "$RG_DIR/hold$fam" "$t_hup" "$t_reloaded"
done
for p in "${holds[@]}"; do ns_stop "$p"; done

# a broken file: reported line by line, nothing changes
conf "\"$NSPI\"" "pinhole_timout = 60;" >"$RG_DIR/rpcgate.conf"
t_check reload/broken-file-kept hup "keeping the running policy"
t_check reload/broken-file-line grep -q "rpcgate.conf:5: unknown key \"pinhole_timout\"" "$RG_DIR/rpcgated.log"
for fam in 4 6; do
	eval server=\$RG_SERVER$fam
	t_check "reload$fam/nspi-after-broken-reload" first_try "$(connect_only client "$server" "$nspi")"
done
t_check reload/daemon-alive kill -0 "$RG_GATE_PID"
gate_stop

# allow_lookup = false on reload revokes what ept_lookup answers opened
# (the re-check is the decision, on the facts the pinhole was opened on);
# what an ept_map answer opened stays
gate_start "$(conf '"exchange"' 'allow_lookup = true;')" ||
	{ t_fail reload-lookup/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
in_client2 "$RG_PY" "$RG_LIB_DIR/epm_client.py" "$RG_SERVER4" --lookup >"$RG_DIR/lookup" 2>&1
t_check reload-lookup/lookup-opened first_try "$(connect_only client2 "$RG_SERVER4" "$emsmdb")"
t_check reload-lookup/map-opened first_try "$(map_and_connect client "$RG_SERVER4" NSPI)"
conf '"exchange"' 'allow_lookup = false;' >"$RG_DIR/rpcgate.conf"
t_check reload-lookup/reloaded hup "reloaded"
set4=$(pinholes 4)
t_check reload-lookup/lookup-pinholes-removed bash -c "! grep -q '$RG_CLIENT2_4 \.' <<<'$set4'"
t_check reload-lookup/map-pinhole-kept grep -q "$RG_CLIENT4 . $RG_SERVER4 . tcp . $nspi" <<<"$set4"
t_check reload-lookup/logged-revoked grep -qF \
	"revoked tcp $RG_CLIENT2_4 -> $RG_SERVER4:$emsmdb: no longer allowed by the configuration" \
	"$RG_DIR/rpcgated.log"
t_check reload-lookup/next-connect-dropped blocked "$(connect_only client2 "$RG_SERVER4" "$emsmdb")"
t_check reload-lookup/map-still-connects first_try "$(connect_only client "$RG_SERVER4" "$nspi")"
gate_stop
