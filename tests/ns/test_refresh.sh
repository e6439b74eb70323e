#!/usr/bin/env bash
# A re-advertised pinhole: where the kernel updates an element's timeout
# (Linux 6.10), one add renews it and nothing is ever deleted; on the
# older path (forced with RPCGATE_NO_ELEMENT_UPDATE=1) nothing is sent
# while more than half of pinhole_timeout is left, and the element is
# replaced (add, delete, add) once less is.  A new pinhole is one add on
# both.  Oracles: the element's expiry as `nft list set` shows it, and
# `nft monitor elements` in the router, which prints every element the
# kernel adds or deletes.  The lookups that refresh are map-only, so
# that no connection through the pinhole (the rule's dynset update)
# renews it behind the daemon's back.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
CTL=${RG_CTL:-$(dirname "$RG_BIN")/rpcgatectl}
ns_setup || { t_fail refresh/setup "namespace lab"; exit 1; }
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" ||
	{ t_fail refresh/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
TIMEOUT=16
KEY="$RG_CLIENT4 . $RG_SERVER4 . tcp . $emsmdb"

# expiry_ms: milliseconds the kernel still gives the pinhole (-1: none)
expiry_ms() {
	pinholes 4 | "$RG_PY" -c '
import re, sys
key = sys.argv[1]
for el in sys.stdin.read().split(", "):
    if el.startswith(key + " "):
        m = re.search(r"expires ((?:\d+(?:ms|d|h|m|s))+)", el)
        unit = {"d": 86400000, "h": 3600000, "m": 60000, "s": 1000, "ms": 1}
        print(sum(int(n) * unit[u] for n, u in re.findall(r"(\d+)(ms|d|h|m|s)", m.group(1))))
        sys.exit(0)
print(-1)' "$KEY"
}

# kernel_updates: the nft command's own answer, in a scratch table of the
# router: does adding an element again with an expiration renew it?
kernel_updates() {
	local out
	in_router nft -f - <<EOF || return 2
table inet rg_probe { set s { type ipv4_addr; flags timeout; }; }
EOF
	in_router nft add element inet rg_probe s '{ 192.0.2.99 timeout 1s }'
	in_router nft add element inet rg_probe s '{ 192.0.2.99 timeout 1h expires 1h }'
	out=$(in_router nft list set inet rg_probe s)
	in_router nft delete table inet rg_probe
	grep -q 'expires [0-9]*m' <<<"$out"
}

# events WHAT: how many "add" or "delete" element events the monitor saw for KEY
events() { grep -c "^$1 element inet rpcgate pinholes4 { $KEY " "$RG_DIR/monitor" ; }

map_only() { map_and_connect client "$RG_SERVER4" EMSMDB --no-connect; }

if kernel_updates; then updates=1; else updates=0; fi
for path in auto forced; do
	if [ $path = forced ]; then export RPCGATE_NO_ELEMENT_UPDATE=1; else unset RPCGATE_NO_ELEMENT_UPDATE; fi
	: >"$RG_DIR/monitor"
	ns_bg router nft monitor elements >"$RG_DIR/monitor"
	mon_pid=$RG_LAST_PID
	sleep 0.3	# the monitor subscribes
	gate_start "servers = [ \"$RG_SERVER4\" ];
interfaces = [ \"exchange\" ];
pinhole_timeout = $TIMEOUT;" || { t_fail "refresh-$path/daemon-start" "$(gate_log | tail -n 3)"; ns_stop "$mon_pid"; continue; }
	unset RPCGATE_NO_ELEMENT_UPDATE
	"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - ||
		t_fail "refresh-$path/ruleset" "nft refused the printed ruleset"
	refresh=$("$CTL" -s "$RG_DIR/control" status --json |
		"$RG_PY" -c 'import json, sys; print(json.load(sys.stdin)["status"]["pinhole_refresh"])')
	if [ $path = forced ] || [ $updates = 0 ]; then
		older=1 want="replace when short"
	else
		older=0 want=update
	fi
	t_check "refresh-$path/status-says-${want// /-}" [ "$refresh" = "$want" ]
	t_check "refresh-$path/logged-how" grep -q "rpcgated: nftables: .*re-advertised pinhole is $([ $older = 1 ] && echo replaced || echo refreshed)" "$RG_DIR/rpcgated.log"

	t_check "refresh-$path/first-lookup-connects" first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"
	sleep 0.3	# the monitor prints
	t_check "refresh-$path/new-pinhole-one-add" [ "$(events add)" -eq 1 ]
	t_check "refresh-$path/new-pinhole-no-delete" [ "$(events delete)" -eq 0 ]

	sleep 3
	before=$(expiry_ms)
	map_only >/dev/null
	after=$(expiry_ms)
	sleep 0.3
	if [ $older = 0 ]; then
		t_check "refresh-$path/re-advertised-expiry-up" [ "$after" -gt $((before + 1000)) ]
		t_check "refresh-$path/re-advertised-no-delete" [ "$(events delete)" -eq 0 ]
	else
		# more than half of TIMEOUT left: nothing sent
		t_check "refresh-$path/plenty-left-expiry-same" [ "$after" -le "$before" -a "$after" -gt 0 ]
		t_check "refresh-$path/plenty-left-nothing-sent" [ "$(events add)" -eq 1 -a "$(events delete)" -eq 0 ]
		t_check "refresh-$path/plenty-left-logged" grep -q "opened tcp .* more (open already)" "$RG_DIR/rpcgated.log"
		# less than half left: replaced
		for ((i = 0; i < 100 && $(expiry_ms) > TIMEOUT * 1000 / 2 - 500; i++)); do sleep 0.1; done
		before=$(expiry_ms)
		map_only >/dev/null
		after=$(expiry_ms)
		sleep 0.3
		t_check "refresh-$path/short-replaced-expiry-up" [ "$after" -gt $((before + 3000)) ]
		t_check "refresh-$path/short-replaced-one-delete" [ "$(events delete)" -eq 1 ]
	fi
	t_check "refresh-$path/connects-after" first_try "$(connect_only client "$RG_SERVER4" "$emsmdb")"
	gate_stop
	ns_stop "$mon_pid"
	in_router nft delete table inet filter
done
