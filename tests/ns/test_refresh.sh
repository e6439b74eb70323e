#!/usr/bin/env bash
# A re-advertised pinhole: where the kernel updates an element's timeout
# (Linux 6.10), one add renews it and nothing is ever deleted; on the
# older path (forced with RPCGATE_NO_ELEMENT_UPDATE=1) nothing is sent
# while more than half of pinhole_timeout is left, and the element is
# replaced (add, delete, add) once less is.  A new pinhole is one add on
# both.  The same for a published server's DNAT mapping: client asks the
# server directly, client2 through the public address P (its pinhole and
# its mapping).  Oracles: the elements' expiry as `nft list` shows it, and
# `nft monitor elements` in the router, which prints every element the
# kernel adds or deletes.  The lookups that refresh are map-only, so that
# no connection through the pinhole (the rule's dynset update) renews it
# behind the daemon's back.  IPv4.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
CTL=${RG_CTL:-$(dirname "$RG_BIN")/rpcgatectl}
ns_setup || { t_fail refresh/setup "namespace lab"; exit 1; }
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" ||
	{ t_fail refresh/epm-server; exit 1; }
emsmdb=$(epm_port "$RG_DIR/epm" EMSMDB)
TIMEOUT=16
PUBLIC=203.0.113.10
# what: "set-or-map name key" of each element the test follows
direct="set pinholes4 $RG_CLIENT4 . $RG_SERVER4 . tcp . $emsmdb"
published="set pinholes4 $RG_CLIENT2_4 . $RG_SERVER4 . tcp . $emsmdb"
mapping="map dnat4 $RG_CLIENT2_4 . $PUBLIC . tcp . $emsmdb"

# expiry_ms KIND NAME KEY...: milliseconds the kernel still gives the element (-1: none)
expiry_ms() {
	local kind=$1 name=$2; shift 2
	in_router nft list "$kind" inet rpcgate "$name" | "$RG_PY" -c '
import re, sys
key = sys.argv[1]
text = " ".join(sys.stdin.read().split())
for el in re.split(r"[{,] ", text):
    if el.startswith(key + " "):
        m = re.search(r"expires ((?:\d+(?:ms|d|h|m|s))+)", el)
        unit = {"d": 86400000, "h": 3600000, "m": 60000, "s": 1000, "ms": 1}
        print(sum(int(n) * unit[u] for n, u in re.findall(r"(\d+)(ms|d|h|m|s)", m.group(1))))
        sys.exit(0)
print(-1)' "$*"
}

# events WHAT KIND NAME KEY...: how many "add" or "delete" element events
# the monitor printed for the element
events() {
	local what=$1 name=$3; shift 3
	grep -cF "$what element inet rpcgate $name { $* " "$RG_DIR/monitor"
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

# re_advertise: both clients look up again, map only; prints nothing
re_advertise() {
	map_and_connect client "$RG_SERVER4" EMSMDB --no-connect >/dev/null
	map_and_connect client2 "$PUBLIC" EMSMDB --no-connect >/dev/null
	sleep 0.3	# the monitor prints
}

# expiries: the three elements' expiry, one per line
expiries() { local el; for el in "$direct" "$published" "$mapping"; do expiry_ms $el; done; }

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
	{ "$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf"
	  echo "table inet publish { chain prerouting { type nat hook prerouting priority dstnat;"
	  echo "	ip daddr $PUBLIC tcp dport 135 dnat ip to $RG_SERVER4; }; }"
	} | in_router nft -f - || t_fail "refresh-$path/ruleset" "nft refused the printed ruleset or the DNAT rule"
	refresh=$("$CTL" -s "$RG_DIR/control" status --json |
		"$RG_PY" -c 'import json, sys; print(json.load(sys.stdin)["status"]["pinhole_refresh"])')
	if [ $path = forced ] || [ $updates = 0 ]; then
		older=1 want="replace when short"
	else
		older=0 want=update
	fi
	t_check "refresh-$path/status-says-${want// /-}" [ "$refresh" = "$want" ]
	t_check "refresh-$path/logged-how" grep -q "rpcgated: pinhole refresh: .*re-advertised pinhole is $([ $older = 1 ] && echo replaced || echo refreshed)" "$RG_DIR/rpcgated.log"

	t_check "refresh-$path/first-lookup-connects" first_try "$(map_and_connect client "$RG_SERVER4" EMSMDB)"
	t_check "refresh-$path/first-published-lookup-connects" first_try "$(map_and_connect client2 "$PUBLIC" EMSMDB)"
	sleep 0.3	# the monitor prints
	for el in direct published mapping; do
		t_check "refresh-$path/$el-new-one-add" [ "$(events add ${!el})" -eq 1 ]
		t_check "refresh-$path/$el-new-no-delete" [ "$(events delete ${!el})" -eq 0 ]
	done

	sleep 3
	mapfile -t before < <(expiries)
	re_advertise
	mapfile -t after < <(expiries)
	i=0
	for el in direct published mapping; do
		if [ $older = 0 ]; then
			t_check "refresh-$path/$el-re-advertised-expiry-up" [ "${after[i]}" -gt $((before[i] + 1000)) ]
			t_check "refresh-$path/$el-re-advertised-no-delete" [ "$(events delete ${!el})" -eq 0 ]
		else
			# more than half of TIMEOUT left: nothing sent
			t_check "refresh-$path/$el-plenty-left-expiry-same" [ "${after[i]}" -le "${before[i]}" -a "${after[i]}" -gt 0 ]
			t_check "refresh-$path/$el-plenty-left-nothing-sent" [ "$(events add ${!el})" -eq 1 -a "$(events delete ${!el})" -eq 0 ]
		fi
		i=$((i + 1))
	done
	if [ $older = 1 ]; then
		t_check "refresh-$path/plenty-left-logged" grep -q "opened tcp .* more (open already)" "$RG_DIR/rpcgated.log"
		# less than half left on every element: replaced
		for ((i = 0; i < 200; i++)); do
			[ "$(expiries | sort -n | tail -n 1)" -le $((TIMEOUT * 1000 / 2 - 500)) ] && break
			sleep 0.1
		done
		mapfile -t before < <(expiries)
		re_advertise
		mapfile -t after < <(expiries)
		i=0
		for el in direct published mapping; do
			t_check "refresh-$path/$el-short-replaced-expiry-up" [ "${after[i]}" -gt $((before[i] + 3000)) ]
			t_check "refresh-$path/$el-short-replaced-one-delete" [ "$(events delete ${!el})" -eq 1 ]
			i=$((i + 1))
		done
	fi
	t_check "refresh-$path/connects-after" first_try "$(connect_only client "$RG_SERVER4" "$emsmdb")"
	t_check "refresh-$path/published-connects-after" first_try "$(connect_only client2 "$PUBLIC" "$emsmdb")"
	gate_stop
	ns_stop "$mon_pid"
	in_router nft delete table inet filter
	in_router nft delete table inet publish
done
