#!/usr/bin/env bash
# rpcgatectl against a live rpcgated started with -u rpcgate (IPv4): the
# daemon leaves root keeping only CAP_NET_ADMIN; its control socket is
# root:rpcgate 0660 and refuses other users; pinholes lists a pinhole a real
# lookup opened, revoke closes it, stats counts a refusal by its reason, a
# bad file on reload is reported with file:line and changes nothing;
# malformed, oversized and unknown requests, idle and surplus clients get
# an error or are closed while the daemon keeps serving; at stop it writes
# its state file as rpcgate.  Then the shipped
# unit: systemd-analyze security exposure <= 2.0, systemd-analyze verify clean.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
CTL=${RG_CTL:-$(dirname "$RG_BIN")/rpcgatectl}
UNIT=$RG_LIB_DIR/../../systemd/rpcgate.service
ns_setup || { t_fail control/setup "namespace lab"; exit 1; }

# the user and group rpcgate: made for the test when absent, removed after
if ! getent passwd rpcgate >/dev/null; then
	if getent group rpcgate >/dev/null; then group=(-g rpcgate); else group=(-U); fi
	useradd -r -M -d /nonexistent -s /usr/sbin/nologin "${group[@]}" rpcgate ||
		{ t_fail control/user "useradd rpcgate"; exit 1; }
	# the daemon runs as rpcgate: stop it first, or userdel refuses
	ns_at_exit 'gate_stop; userdel rpcgate'
fi
# the daemon reads its file as rpcgate on reload
chmod 0711 "$RG_DIR"
sock=$RG_DIR/control
ctl() { "$CTL" -s "$sock" "$@"; }
# raw REQUEST-BYTES: what the daemon answers to exactly these bytes
raw() {
	"$RG_PY" - "$sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(sys.argv[2].encode('latin-1', 'surrogateescape'))
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
data = b''
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except ConnectionResetError:
    pass    # the daemon closed with the rest of an oversized request unread
print(data.decode(errors='replace'), end='')
PY
}
# json_check EXPR: EXPR (Python, over the JSON on stdin as j) is true
json_check() { "$RG_PY" -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($1) else (print(json.dumps(j)[:300]) or 1))"; }
# expect_exit N CMD...: CMD exits with status N
expect_exit() {
	local want=$1 rc; shift
	"$@" >"$RG_DIR/out" 2>"$RG_DIR/err"; rc=$?
	[ $rc -eq "$want" ] || { echo "exit $rc, not $want: $(cat "$RG_DIR/err" "$RG_DIR/out" | head -c 300 | tr '\n' ' ')"; return 1; }
}

epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --echo || { t_fail control/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
conf="servers = [ \"$RG_SERVER4\" ];
interfaces = [ \"exchange\" ];
pinhole_timeout = 60;
control_max_clients = 2;
control_timeout = 2;
state_file = \"$RG_DIR/state/pinholes\";"
gate_start "$conf" -u rpcgate || { t_fail control/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
chmod 0644 "$RG_DIR/rpcgate.conf"
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - ||
	t_fail control/ruleset "nft refused the printed ruleset"

# ---- privileges
uid=$(id -u rpcgate) gid=$(id -g rpcgate)
status() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$RG_GATE_PID/status"; }
t_check control/is-rpcgated [ "$(cat "/proc/$RG_GATE_PID/comm")" = rpcgated ]
t_check control/uid-rpcgate [ "$(status Uid | tr -s '\t ' ' ')" = "$uid $uid $uid $uid" ]
t_check control/gid-rpcgate [ "$(status Gid | tr -s '\t ' ' ')" = "$gid $gid $gid $gid" ]
t_check control/no-groups [ -z "$(status Groups | tr -d ' ')" ]
# CAP_NET_ADMIN is bit 12
t_check control/capeff-net-admin-only [ "$(status CapEff)" = 0000000000001000 ]
t_check control/capprm-net-admin-only [ "$(status CapPrm)" = 0000000000001000 ]
t_check control/socket-root-rpcgate-0660 [ "$(stat -c '%U:%G %a %F' "$sock")" = "root:rpcgate 660 socket" ]

# ---- status, pinholes, revoke
t_check control/status json_check "j['ok'] and j['status']['version'] and j['status']['mode'] == 'table' and
	j['status']['queue'] and j['status']['uptime_seconds'] >= 0" <<<"$(ctl status --json)"
t_check control/status-text grep -q '^uptime_seconds: *[0-9]' <<<"$(ctl status)"
t_check control/first-syn-after-map first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"
# two more connections through the pinhole: three admitted in all
t_check control/two-more-connections [ "$(count_connected_first_try "$(connect_only client "$RG_SERVER4" "$emsmdb"; connect_only client "$RG_SERVER4" "$emsmdb")")" -eq 2 ]
ctl pinholes --json >"$RG_DIR/pinholes.json"
t_check control/pinholes-json json_check "len(j['pinholes']) == 1 and all(j['pinholes'][0].get(k) == v for k, v in
	{'proto': 'tcp', 'client': '$RG_CLIENT4', 'server': '$RG_SERVER4', 'port': $emsmdb, 'interface': 'EMSMDB',
	 'answering_server': '$RG_SERVER4', 'id': 'tcp/$RG_CLIENT4/$RG_SERVER4/$emsmdb'}.items())
	and 50 <= j['pinholes'][0]['remaining_seconds'] <= 60" <"$RG_DIR/pinholes.json"
t_check control/pinholes-connections-admitted json_check "j['pinholes'][0]['connections_admitted'] == 3" <"$RG_DIR/pinholes.json"
t_check control/pinholes-client-filter json_check "j['pinholes'] == []" <<<"$(ctl --json pinholes --client "$RG_CLIENT2_4")"
t_check control/pinholes-server-filter json_check "len(j['pinholes']) == 1" <<<"$(ctl --json pinholes --server 198.51.100.0/24)"
ctl pinholes >"$RG_DIR/pinholes.txt"
t_check control/pinholes-text-columns bash -c "head -n 1 '$RG_DIR/pinholes.txt' | grep -q '^proto  client  *server  *port  interface  answering_server' &&
	grep -Eq '^tcp    $RG_CLIENT4  $RG_SERVER4  +$emsmdb  EMSMDB ' '$RG_DIR/pinholes.txt'"
t_check control/revoke-pinhole json_check "j['revoked']['pinholes'] == 1" <<<"$(ctl --json revoke "tcp/$RG_CLIENT4/$RG_SERVER4/$emsmdb")"
t_check control/revoked-not-listed json_check "j['pinholes'] == []" <<<"$(ctl --json pinholes)"
t_check control/revoked-not-in-set bash -c "! grep -q 'tcp . $emsmdb' <<<'$(pinholes 4)'"
t_check control/revoked-connect-dropped blocked "$(connect_only client "$RG_SERVER4" "$emsmdb")"
t_check control/logged-revoked grep -q "revoked tcp $RG_CLIENT4 -> $RG_SERVER4:$emsmdb: by rpcgatectl" <<<"$(gate_log)"
t_check control/remapped first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"
t_check control/report json_check "[e for e in j['report']['entries'] if e['server'] == '$RG_SERVER4' and
	e['iface_name'] == 'EMSMDB' and [p for p in e['ports'] if p['port'] == $emsmdb and p['answers'] == 2]]" <<<"$(ctl --json report)"
t_check control/report-text grep -q "EMSMDB" <<<"$(ctl report)"
# --established: a connection through the pinhole echoes every 0.2 s until
# the revoke cuts it
ns_bg client "$RG_PY" "$RG_LIB_DIR/epm_client.py" "$RG_SERVER4" --connect-only "$emsmdb" --hold 4 >"$RG_DIR/hold" 2>&1
hold=$RG_LAST_PID
for ((i = 0; i < 60; i++)); do [ "$(grep -c '"event": "echo"' "$RG_DIR/hold")" -ge 3 ] && break; sleep 0.05; done
ctl revoke --established "$RG_CLIENT4" >"$RG_DIR/revoke.txt"
echoes=$(grep -c '"event": "echo"' "$RG_DIR/hold")
t_check control/revoke-client-text grep -q '^pinholes: *1$' "$RG_DIR/revoke.txt"
# the held one, and the finished earlier ones conntrack still lists
t_check control/revoke-established-cut grep -q '^connections_cut: *[1-9]' "$RG_DIR/revoke.txt"
sleep 1.5
# one echo may have been under way when the connection was cut
t_check control/held-connection-stopped [ "$(grep -c '"event": "echo"' "$RG_DIR/hold")" -le $((echoes + 1)) ]
ns_stop "$hold"
t_check control/revoke-nothing grep -q '^pinholes: *0$' <<<"$(ctl revoke "$RG_CLIENT4")"

# ---- stats and metrics: a refused interface counted by its reason
t_check control/samr-dropped blocked "$(map_and_connect client "$RG_SERVER4" SAMR)"
t_check control/stats-reason json_check "{r['reason']: r['endpoints'] for r in j['reasons']}['iface'] >= 1 and
	{r['reason']: r['endpoints'] for r in j['reasons']}['open'] >= 2" <<<"$(ctl --json stats)"
t_check control/stats-server json_check "[s for s in j['servers'] if s['server'] == '$RG_SERVER4' and s['refused'] >= 1 and s['opened'] >= 2]" <<<"$(ctl --json stats)"
t_check control/stats-text grep -q '^decisions by reason:' <<<"$(ctl stats)"
ctl metrics >"$RG_DIR/metrics"
t_check control/metrics-reason grep -Eq '^rpcgate_decisions_total\{reason="iface"\} [1-9]' "$RG_DIR/metrics"
t_check control/metrics-types bash -c "grep -q '^# TYPE rpcgate_pinholes gauge' '$RG_DIR/metrics' &&
	grep -q '^# TYPE rpcgate_nft_errors_total counter' '$RG_DIR/metrics' && ! grep -Ev '^(# (HELP|TYPE) rpcgate_|rpcgate_[a-z_]+(\{[^}]*\})? [0-9]+$)' '$RG_DIR/metrics'"
t_check control/flows json_check "isinstance(j['flows'], list)" <<<"$(ctl --json flows)"

# ---- reload: a bad file is refused with file:line, the old policy stays
printf '%s\npinhole_timout = 60;\n' "$conf" >"$RG_DIR/rpcgate.conf"
t_check control/reload-bad-exit expect_exit 78 ctl reload
t_check control/reload-bad-file-line grep -q "rpcgate.conf:7: unknown key \"pinhole_timout\"" "$RG_DIR/err"
t_check control/old-policy-after-bad-reload first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"
printf '%s\n' "$conf" >"$RG_DIR/rpcgate.conf"
t_check control/reload-good expect_exit 0 ctl reload
t_check control/logged-reloaded grep -q "reloaded $RG_DIR/rpcgate.conf" <<<"$(gate_log)"

# ---- who may use the socket
t_check control/nobody-refused expect_exit 77 setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -s "$sock" status
t_check control/nobody-one-line bash -c "[ \$(wc -l <'$RG_DIR/err') -eq 1 ] && grep -q 'permission denied' '$RG_DIR/err'"
t_check control/group-member-allowed expect_exit 0 setpriv --reuid=65534 --regid="$gid" --clear-groups "$CTL" -s "$sock" status
t_check control/no-daemon expect_exit 69 "$CTL" -s "$RG_DIR/nothing" status
t_check control/usage expect_exit 64 "$CTL" -s "$sock" frobnicate

# ---- bad requests get an error answer; the daemon serves on
bad() { json_check "j['ok'] is False and j['status'] == 'bad-request' and $1" <<<"$(raw "$2")"; }
t_check control/malformed bad "'malformed' in j['error']" '{"command": "status",'
t_check control/not-json bad "'malformed' in j['error']" $'\x01\xff garbage\n'
t_check control/unknown-command bad "'unknown command' in j['error']" '{"command":"frobnicate"}'
t_check control/unknown-member bad "'takes no' in j['error']" '{"command":"status","verbose":true}'
t_check control/oversized bad "'larger than' in j['error']" "{\"command\":\"status\",\"x\":\"$(head -c 6000 /dev/zero | tr '\0' a)\"}"
t_check control/bad-address expect_exit 65 ctl pinholes --client 999.1.1.1
t_check control/serving-after-bad-requests expect_exit 0 ctl status

# ---- slow clients: two idle connections fill control_max_clients = 2;
# a third is answered busy; after control_timeout (2 s) both are closed
"$RG_PY" -c 'import socket, sys, time
ss = [socket.socket(socket.AF_UNIX) for _ in range(2)]
for s in ss: s.connect(sys.argv[1])
open(sys.argv[2], "w").write("connected\n")
time.sleep(8)' "$sock" "$RG_DIR/idle.ready" &
idle=$!
wait_file "$RG_DIR/idle.ready" 5
sleep 0.2    # the daemon accepts them from its loop
t_check control/busy-when-full expect_exit 75 ctl status
t_check control/busy-one-line grep -q 'too many control connections' "$RG_DIR/err"
sleep 3.5
t_check control/idle-clients-timed-out expect_exit 0 ctl status
kill "$idle" 2>/dev/null; wait "$idle" 2>/dev/null
t_check control/daemon-alive kill -0 "$RG_GATE_PID"
gate_stop
# the state file: written at stop by rpcgate alone (its directory is rpcgate's, 0700)
t_check control/state-dir-rpcgates [ "$(stat -c '%U %a' "$RG_DIR/state")" = "rpcgate 700" ]
t_check control/state-written-as-rpcgate [ "$(stat -c '%U %a' "$RG_DIR/state/pinholes" 2>&1)" = "rpcgate 600" ]
t_check control/no-state-warning bash -c "! grep -q 'state file' '$RG_DIR/rpcgated.log'"
t_check control/table-left-at-stop in_router nft list table inet rpcgate
t_check control/remove in_router "$RG_BIN" --remove -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control"
t_check control/table-removed bash -c "! ip netns exec $RG_NS_ROUTER nft list table inet rpcgate 2>/dev/null"

# ---- the shipped unit
if command -v systemd-analyze >/dev/null; then
	exposure=$(systemd-analyze security --offline=yes "$UNIT" 2>&1 |
		sed -n 's/.*Overall exposure level for rpcgate.service: \([0-9.]*\).*/\1/p')
	t_check control/unit-exposure-at-most-2.0 "$RG_PY" -c "import sys; e = '$exposure'; print('exposure', e or '?'); sys.exit(0 if e and float(e) <= 2.0 else 1)"
	echo "# control: systemd-analyze security exposure $exposure"
	# verify wants the binaries and man pages the unit names: the built
	# ones and the tree's pages, as make install would place them
	sed -e "s|/usr/sbin/|$(dirname "$RG_BIN")/|g" "$UNIT" >"$RG_DIR/rpcgate.service"
	mkdir -p "$RG_DIR/man/man5" "$RG_DIR/man/man8"
	cp "$RG_LIB_DIR"/../../man/*.5 "$RG_DIR/man/man5/" && cp "$RG_LIB_DIR"/../../man/*.8 "$RG_DIR/man/man8/"
	t_check control/unit-verify bash -c "out=\$(MANPATH='$RG_DIR/man' systemd-analyze verify '$RG_DIR/rpcgate.service' 2>&1); [ -z \"\$out\" ] || { echo \"\$out\" | tail -n 1; exit 1; }"
else
	t_fail control/systemd-analyze "systemd-analyze missing (package systemd)"
fi
