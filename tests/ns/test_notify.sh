#!/usr/bin/env bash
# The systemd protocol as rpcgated speaks it wherever NOTIFY_SOCKET is set:
# READY=1 once the queue is bound and the table in place, RELOADING=1 and
# READY=1 around a reload, WATCHDOG=1 from its timer, STOPPING=1; and
# without -f it logs to syslog, not stderr, and stays the main process.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail notify/setup "namespace lab"; exit 1; }

sock=$RG_DIR/notify.sock
"$RG_PY" - "$sock" >"$RG_DIR/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    while True:
        print(s.recv(4096).decode(errors="replace").replace("\n", " "), flush=True)
except socket.timeout:
    pass
PY
listener=$!
ns_at_exit "kill $listener 2>/dev/null"
for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.05; done

printf 'servers = [ "%s" ];\nstate_file = "%s/state/pinholes";\n' "$RG_SERVER4" "$RG_DIR" >"$RG_DIR/rpcgate.conf"
ns_bg router env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=2000000 "$RG_BIN" -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control" 2>"$RG_DIR/stderr"
pid=$RG_LAST_PID
for i in $(seq 100); do grep -q READY=1 "$RG_DIR/notify.log" && break; sleep 0.05; done
t_check notify/ready grep -q '^READY=1' "$RG_DIR/notify.log"
t_check notify/table-in-place-when-ready in_router nft list table inet rpcgate
t_check notify/stays-main-process kill -0 "$pid"
sleep 1.5
t_check notify/watchdog grep -q '^WATCHDOG=1' "$RG_DIR/notify.log"
kill -HUP "$pid"; sleep 0.5
t_check notify/reloading-then-ready bash -c "grep -A1 '^RELOADING=1' '$RG_DIR/notify.log' | grep -q '^READY=1'"
kill -TERM "$pid"; wait "$pid" 2>/dev/null
t_check notify/stopping grep -q '^STOPPING=1' "$RG_DIR/notify.log"
t_check notify/no-stderr-without-f [ ! -s "$RG_DIR/stderr" ]
