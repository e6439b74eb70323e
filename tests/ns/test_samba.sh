#!/usr/bin/env bash
# Real peers: Samba's samba-dcerpcd (its endpoint mapper on 135, rpcd_lsad,
# rpcd_classic and rpcd_winreg on dynamic ports) in the server namespace,
# rpcclient and impacket in the clients. rpcgated allows SRVSVC only; the
# router's ruleset is `rpcgated --print-ruleset` (forward policy drop).
# Over IPv4 and IPv6: rpcclient srvinfo and impacket's hept_map + first-SYN
# connect get through, each on its own map; LSARPC (rpcclient lsaquery,
# hept_map) is mapped but its port stays dropped. Samba missing is a FAIL:
# `make check` installs samba samba-common-bin smbclient (TEST_DEPS).
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
. "$RG_LIB_DIR/samba.sh"
SRVSVC=4b324fc8-1670-01d3-1278-5a47bf6ee188
LSA_TIMEOUT=8        # a dropped port hangs rpcclient far longer than this

samba_ok || { t_fail samba/installed "samba-dcerpcd, $RG_SAMBA/rpcd_{${RG_SAMBA_RPCDS// /,}} or rpcclient missing: apt-get install samba samba-common-bin smbclient"; exit 1; }
ns_setup || { t_fail samba/setup "namespace lab"; exit 1; }
samba_start server "$RG_SERVER4" "$RG_SERVER6" || { t_fail samba/dcerpcd-start "see above"; exit 1; }

# samba_port IFACE: the port Samba's endpoint mapper gives IFACE, asked in
# the server namespace (not through the router); ports are the same over
# IPv4 and IPv6
samba_port() {
	in_server "$RG_PY" "$RG_LIB_DIR/epm_client.py" "$RG_SERVER4" --iface "$1" --no-connect >"$RG_DIR/port-$1" 2>&1
	json_get "$RG_DIR/port-$1" map port
}
srvsvc=$(samba_port SRVSVC) lsarpc=$(samba_port LSARPC)
if [ -z "$srvsvc" ] || [ -z "$lsarpc" ] || [ "$srvsvc" = "$lsarpc" ]; then
	t_fail samba/ports "SRVSVC '$srvsvc', LSARPC '$lsarpc': $(tail -n 1 "$RG_DIR/port-SRVSVC" "$RG_DIR/port-LSARPC")"
	exit 1
fi

# rpcclient_ok NS SERVER CMD: rpcclient CMD succeeds through the router
rpcclient_ok() {
	local out rc
	out=$(rpcclient_in "$1" 20 "ncacn_ip_tcp:$2" -U% -c "$3" 2>&1); rc=$?
	[ $rc -eq 0 ] && grep -q platform_id <<<"$out" && return 0
	echo "rpcclient -c $3: rc $rc: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	return 1
}
# lsaquery_hung FILE: the lsaquery in FILE (exit status on its last line)
# was killed by its timeout (124): it hung on the dropped port. A reachable
# lsad port answers NT_STATUS_ACCESS_DENIED at once (the control below).
lsaquery_hung() {
	[ "$(tail -n 1 "$1")" = "rc 124" ] && return 0
	echo "lsaquery did not hang: $(tail -n 2 "$1" | tr '\n' ' ')"
	return 1
}

# control, no ruleset yet: the lsad port answers, so rc 124 below means dropped
rpcclient_in client $LSA_TIMEOUT "ncacn_ip_tcp:$RG_SERVER4" -U% -c lsaquery >"$RG_DIR/lsaquery-control" 2>&1
echo "rc $?" >>"$RG_DIR/lsaquery-control"
t_check samba/lsaquery-control-answers grep -q NT_STATUS_ACCESS_DENIED "$RG_DIR/lsaquery-control"

gate_start "servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
interfaces = [ \"$SRVSVC\" ];" || { t_fail samba/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - ||
	t_fail samba/ruleset "nft refused the printed ruleset"

for fam in 4 6; do
	eval server=\$RG_SERVER$fam client=\$RG_CLIENT$fam client2=\$RG_CLIENT2_$fam
	t_check "samba$fam/dropped-before-lookup" blocked "$(connect_only client "$server" "$srvsvc")"
	# rpcclient maps SRVSVC itself, then connects to what it was given
	t_check "samba$fam/rpcclient-srvinfo" rpcclient_ok client "$server" srvinfo
	t_check "samba$fam/other-client-dropped" blocked "$(connect_only client2 "$server" "$srvsvc")"
	out=$(map_and_connect client2 "$server" "$SRVSVC" --no-banner)
	t_check "samba$fam/hept-map-port" grep -q "\"port\": $srvsvc, \"binding\"" <<<"$out"
	t_check "samba$fam/hept-map-first-syn" first_try "$out"

	# LSARPC: the answer passes, its port stays closed
	rpcclient_in client $LSA_TIMEOUT "ncacn_ip_tcp:$server" -U% -c lsaquery >"$RG_DIR/lsaquery$fam" 2>&1 &
	lsa=$!
	out=$(map_and_connect client "$server" LSARPC --no-banner)
	t_check "samba$fam/lsarpc-mapped" grep -q "\"port\": $lsarpc, \"binding\"" <<<"$out"
	t_check "samba$fam/lsarpc-dropped" blocked "$out"
	wait $lsa
	echo "rc $?" >>"$RG_DIR/lsaquery$fam"
	t_check "samba$fam/rpcclient-lsaquery-dropped" lsaquery_hung "$RG_DIR/lsaquery$fam"

	t_check "samba$fam/logged-opened" \
		grep -q "opened tcp .* SRVSVC tcp/$srvsvc advertised by $server to $client2\$" "$RG_DIR/rpcgated.log"
	t_check "samba$fam/logged-opened-rpcclient" \
		grep -q "opened tcp .* SRVSVC tcp/$srvsvc advertised by $server to $client\$" "$RG_DIR/rpcgated.log"
	t_check "samba$fam/logged-refused-lsarpc" \
		grep -q "refused 1 endpoint(s) advertised by $server to $client (LSARPC tcp/$lsarpc): interface not in interfaces" \
		"$RG_DIR/rpcgated.log"
	t_check "samba$fam/lsarpc-not-in-set" bash -c "! grep -q 'tcp . $lsarpc' <<<'$(pinholes "$fam")'"
done
t_check samba/daemon-alive kill -0 "$RG_GATE_PID"
gate_stop
