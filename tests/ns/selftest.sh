#!/usr/bin/env bash
# shellcheck disable=SC2015,SC1091  # t_pass/t_fail always return 0
# tests/ns/selftest.sh: proves the namespace lab works, WITHOUT rpcgate.
# The router only forwards (no ruleset). Checks:
#   lab/*      set-up, offloads, IPv6 addresses, empty ruleset, teardown
#   epm/*      epm_server.py in the server namespace, epm_client.py in the
#              client namespace: EMSMDB over IPv4 and IPv6 (port from the
#              map, connect on the first SYN, banner), NSPI, NDR64, an
#              unregistered interface, ept_lookup, client2 -> server2, a
#              hostile answer reaching the client
#   tshark/*   the map answer crossing the router is a real EPM response
#              (skipped when tshark is missing)
#   samba/*    samba-dcerpcd standalone in the server namespace: ept_lookup,
#              impacket hept_map + connect, rpcclient srvinfo (installs
#              samba samba-common-bin smbclient if missing, unless
#              RG_NO_INSTALL=1; skipped if it cannot)
# Prints PASS/FAIL/SKIP ns/NAME lines; exit 0 when nothing failed.
# Every wait is bounded; the namespaces go away on exit and on Ctrl-C.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/ns/lib.sh

started=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - started) / 1000000 )) ms"; }

if [ "$(id -u)" -ne 0 ]; then
	t_skip selftest "needs root (network namespaces)"
	exit 0
fi
if [ "${RG_NO_INSTALL:-0}" != 1 ]; then
	scripts/install-deps.sh iproute2 ethtool python3-impacket >/dev/null 2>&1 ||
		echo "# selftest: could not install iproute2 ethtool python3-impacket"
fi
if ! "$RG_PY" -c 'import impacket.dcerpc.v5.epm' 2>/dev/null; then
	t_skip selftest "no python3-impacket for $RG_PY"
	exit 0
fi

# ------------------------------------------------------------------ lab
if ! ns_setup; then
	t_fail lab/setup "ns_setup failed"
	exit 1
fi
t_pass lab/setup
ns_ids=$RG_ID
mkdir -p "$RG_DIR/epm" "$RG_DIR/samba"

offloads_off() {
	local ns dev bad=""
	for ns in client server client2 server2; do
		in_ns $ns ethtool -k eth0 | grep -Eq '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload): on' &&
			bad+=" $ns/eth0"
	done
	for dev in c1 c2 s1 s2 lan0 wan0; do
		in_router ethtool -k $dev | grep -Eq '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload): on' &&
			bad+=" router/$dev"
	done
	[ -z "$bad" ] || { echo "offloads on:$bad"; return 1; }
}
t_check lab/offloads-off offloads_off

v6_ready() {
	local ns
	for ns in client server client2 server2 router; do
		in_ns $ns ip -6 addr | grep -Eq 'tentative|dadfailed' && { echo "$ns: tentative address"; return 1; }
	done
	return 0
}
t_check lab/ipv6-no-dad v6_ready

if command -v nft >/dev/null; then
	t_check lab/router-no-ruleset test -z "$(in_router nft list ruleset 2>&1)"
fi

# ------------------------------------------------------------------ EPM
S=$RG_DIR/epm-server.json
# run_client NAME NS CLIENT-ARGS...: epm_client.py in NS, 30 s at most;
# output in $RG_DIR/NAME.json, exit status in $crc
run_client() {
	local name=$1 ns=$2; shift 2
	timeout 30 ip netns exec "$(rg_ns "$ns")" "$RG_PY" "$RG_LIB_DIR/epm_client.py" "$@" \
		>"$RG_DIR/$name.json" 2>"$RG_DIR/$name.err"
	crc=$?
}
out() { cat "$RG_DIR/$1.json" "$RG_DIR/$1.err" | tail -n 3 | tr '\n' ' '; }

# map_and_connect NAME NS SERVER IFACE [ARGS...]: port from the map is the
# server's port for IFACE, first-SYN connect, banner
map_and_connect() {
	local name=$1 ns=$2 srv=$3 iface=$4 want got first; shift 4
	want=$(epm_port "${SRVJSON:-$S}" "$iface")
	run_client "$name" "$ns" "$srv" --iface "$iface" "$@"
	got=$(json_get "$RG_DIR/$name.json" map port)
	first=$(json_get "$RG_DIR/$name.json" connect connected_first_try)
	if [ $crc -eq 0 ] && [ "$got" = "$want" ] && [ "$first" = true ]; then
		t_pass "$name"
	else
		t_fail "$name" "rc $crc, port $got (want $want), first try $first: $(out "$name")"
	fi
}

if epm_server_start server "$S" --addr "$RG_SERVER4" --addr "$RG_SERVER6" &&
	S_PID=$RG_EPM_PID && wait_tcp_listen server "$RG_SERVER6" 135 5; then
	t_pass epm/server-ready
	map_and_connect epm/emsmdb-ipv4 client "$RG_SERVER4" EMSMDB
	map_and_connect epm/emsmdb-ipv6 client "$RG_SERVER6" EMSMDB
	map_and_connect epm/nspi-ipv4 client "$RG_SERVER4" NSPI
	map_and_connect epm/emsmdb-ndr64-ipv6 client "$RG_SERVER6" EMSMDB --ndr64
	map_and_connect epm/client2-samr-ipv4 client2 "$RG_SERVER4" SAMR
	# tower floor 5: the server's IPv4 address over IPv4, 0.0.0.0 over IPv6
	ta4=$(json_get "$RG_DIR/epm/emsmdb-ipv4.json" map tower_addr)
	ta6=$(json_get "$RG_DIR/epm/emsmdb-ipv6.json" map tower_addr)
	if [ "$ta4" = "$RG_SERVER4" ] && [ "$ta6" = 0.0.0.0 ]; then
		t_pass epm/tower-address
	else
		t_fail epm/tower-address "got $ta4 / $ta6"
	fi
	run_client epm/not-registered client "$RG_SERVER4" --iface NETLOGON
	st=$(json_get "$RG_DIR/epm/not-registered.json" map status)
	[ $crc -eq 5 ] && [ "$st" = 0x16c9a0d6 ] && t_pass epm/not-registered ||
		t_fail epm/not-registered "rc $crc status $st: $(out epm/not-registered)"
	run_client epm/lookup client "$RG_SERVER6" --lookup --max-ents 2
	n=$(json_get "$RG_DIR/epm/lookup.json" lookup tcp_entries)
	[ $crc -eq 0 ] && [ "$n" = 3 ] && t_pass epm/lookup ||
		t_fail epm/lookup "rc $crc, $n TCP entries (want 3): $(out epm/lookup)"
	# the "client that did no lookup": without rpcgate it gets through too
	run_client epm/connect-only client "$RG_SERVER4" --connect-only "$(epm_port "$S" EMSMDB)"
	[ $crc -eq 0 ] && t_pass epm/connect-only-without-rpcgate ||
		t_fail epm/connect-only-without-rpcgate "rc $crc: $(out epm/connect-only)"
	run_client epm/repeat client "$RG_SERVER4" --iface NSPI --repeat 3
	[ $crc -eq 0 ] && [ "$(json_get "$RG_DIR/epm/repeat.json" "done" ok_runs)" = 3 ] &&
		t_pass epm/repeat || t_fail epm/repeat "rc $crc: $(out epm/repeat)"
else
	t_fail epm/server-ready "$(tail -n 3 "$S.err" 2>/dev/null | tr '\n' ' ')"
fi

# a second, hostile endpoint mapper on server2: the third-host tower reaches
# the client unchanged (the lab forwards everything)
S2=$RG_DIR/epm-server2.json
if epm_server_start server2 "$S2" --addr "$RG_SERVER2_4" --addr "$RG_SERVER2_6" --hostile third-host; then
	SRVJSON=$S2 map_and_connect epm/server2-ipv6 client2 "$RG_SERVER2_6" EMSMDB
	run_client epm/server2-third-host client2 "$RG_SERVER2_4" --no-connect
	ta=$(json_get "$RG_DIR/epm/server2-third-host.json" map tower_addr)
	[ "$ta" = 203.0.113.99 ] && t_pass epm/server2-third-host ||
		t_fail epm/server2-third-host "tower address $ta: $(out epm/server2-third-host)"
else
	t_fail epm/server2-ready "$(tail -n 3 "$S2.err" 2>/dev/null | tr '\n' ' ')"
fi

# ------------------------------------------------------------------ tshark
if ! command -v tshark >/dev/null; then
	t_skip tshark/epm-map-response "tshark not installed"
elif [ ! -s "$S.ready" ]; then
	t_skip tshark/epm-map-response "no epm_server"
else
	cap=$RG_DIR/router-lan.pcapng
	ns_bg router tshark -n -i "$RG_LAN_IF" -f "tcp port 135" -w "$cap" >"$RG_DIR/tshark.log" 2>&1
	tpid=$RG_LAST_PID
	for ((i = 0; i < 100; i++)); do
		grep -q 'Capture started' "$RG_DIR/tshark.log" 2>/dev/null && break
		sleep 0.05
	done
	run_client epm/tshark-map client "$RG_SERVER4" --iface EMSMDB --no-connect
	sleep 0.3
	kill -INT "$tpid" 2>/dev/null
	ns_stop "$tpid" 5
	want=$(epm_port "$S" EMSMDB)
	got=$(timeout 30 tshark -n -r "$cap" -d tcp.port==135,dcerpc \
		-Y 'epm.opnum == 3 && dcerpc.pkt_type == 2' -T fields \
		-e epm.proto.tcp_port -e epm.proto.ip 2>/dev/null | head -n 1)
	if [ "$got" = "$want	$RG_SERVER4" ]; then
		t_pass tshark/epm-map-response
	else
		t_fail tshark/epm-map-response "tshark saw '$got', want '$want	$RG_SERVER4'"
	fi
fi

# ------------------------------------------------------------------ Samba
# port 135 in the server namespace is Samba's from here on
[ -n "${S_PID:-}" ] && ns_stop "$S_PID" 3
. tests/ns/samba.sh
if ! samba_ok && [ "${RG_NO_INSTALL:-0}" != 1 ]; then
	timeout 600 scripts/install-deps.sh samba samba-common-bin smbclient >/dev/null 2>&1 ||
		echo "# selftest: could not install samba samba-common-bin smbclient"
fi
if ! samba_ok; then
	t_skip samba "samba-dcerpcd or rpcclient not installed"
elif samba_start server "$RG_SERVER4" "$RG_SERVER6"; then
	t_pass samba/dcerpcd-ready
	run_client samba/lookup client "$RG_SERVER4" --lookup
	n=$(json_get "$RG_DIR/samba/lookup.json" lookup tcp_entries)
	if [ $crc -eq 0 ] && [ "${n:-0}" -ge 1 ]; then
		t_pass samba/lookup
		"$RG_PY" - "$RG_DIR/samba/lookup.json" <<'PY' | sed 's/^/# samba on TCP: /'
import json, sys
seen = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get('event') == 'lookup_entry' and r.get('proto') == 'tcp':
        seen.setdefault((r.get('port'), r.get('addr')), []).append('%s v%s' % (r.get('iface'), r.get('version')))
for (port, addr), names in sorted(seen.items(), key=lambda x: x[0][0]):
    print('%s:%s  %s' % (addr, port, ', '.join(sorted(set(names)))))
PY
	else
		t_fail samba/lookup "rc $crc, $n TCP entries: $(out samba/lookup)"
	fi
	for fam in 4 6; do
		[ $fam = 4 ] && a=$RG_SERVER4 || a=$RG_SERVER6
		run_client samba/srvsvc-ipv$fam client "$a" --iface SRVSVC --no-banner
		got=$(json_get "$RG_DIR/samba/srvsvc-ipv$fam.json" map port)
		first=$(json_get "$RG_DIR/samba/srvsvc-ipv$fam.json" connect connected_first_try)
		if [ $crc -eq 0 ] && [ "$first" = true ]; then
			t_pass samba/srvsvc-ipv$fam
			echo "# samba: hept_map SRVSVC over IPv$fam -> port $got, tower address $(json_get "$RG_DIR/samba/srvsvc-ipv$fam.json" map tower_addr)"
		else
			t_fail samba/srvsvc-ipv$fam "rc $crc, port $got, first try $first: $(out samba/srvsvc-ipv$fam)"
		fi
	done
	t=$(date +%s%N)
	rpc=$(rpcclient_in client 20 "ncacn_ip_tcp:$RG_SERVER4" -U% -c srvinfo 2>&1)
	rrc=$?
	if [ $rrc -eq 0 ] && grep -q platform_id <<<"$rpc"; then
		t_pass samba/rpcclient-srvinfo
		echo "# samba: rpcclient srvinfo (EPM map + call) took $(( ($(date +%s%N) - t) / 1000000 )) ms"
	else
		t_fail samba/rpcclient-srvinfo "rc $rrc: $(tail -n 2 <<<"$rpc" | tr '\n' ' ')"
	fi
else
	t_fail samba/dcerpcd-ready "samba-dcerpcd did not listen (see above)"
fi

# ------------------------------------------------------------------ teardown
pids=("${RG_PIDS[@]}")
ns_teardown
left=$(ip netns list | grep -E "^rg-[a-z0-9]+-$ns_ids( |$)")
alive=""
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive+=" $p"; done
if [ -z "$left" ] && [ -z "$alive" ] && { [ "${RG_KEEP:-0}" = 1 ] || [ ! -d "$RG_DIR" ]; }; then
	t_pass lab/teardown
else
	t_fail lab/teardown "left: namespaces [$left] processes [$alive]"
fi
echo "# ns selftest took $(elapsed) (pass $RG_T_PASS, fail $RG_T_FAIL, skip $RG_T_SKIP)"
[ "$RG_T_FAIL" -eq 0 ]
