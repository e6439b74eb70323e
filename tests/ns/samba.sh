# shellcheck shell=bash disable=SC2034
# tests/ns/samba.sh: Samba's samba-dcerpcd, standalone, in a lab namespace,
# and rpcclient in another. Source after lib.sh.
#   samba_ok                      0 when samba-dcerpcd, the rpcd_* helpers it
#                                 runs here and rpcclient are installed
#   samba_start NS ADDR4 ADDR6    writes $RG_DIR/samba/smb.conf, starts
#       samba-dcerpcd in NS (endpoint mapper on 135 and rpcd_epmapper, lsad,
#       classic, winreg on dynamic ports 49152-49200 of ADDR4 and ADDR6),
#       waits until 135 and the three dynamic ports listen (10 s at most).
#       RG_SAMBA_PID is its PID, RG_SAMBA_DIR its directory (logs in log/).
#   samba_ports NS                the TCP ports samba-dcerpcd listens on
#   rpcclient_in NS SECONDS BINDING ARGS...
#       rpcclient with the lab's client config ($RG_DIR/samba-cli), killed
#       after SECONDS (a dropped port hangs it for a minute or more);
#       timeout's exit status (124 when it had to be killed)
# Nothing is written outside $RG_DIR: the rpcd_* wrappers keep
# samba-dcerpcd's --list-interfaces probe out of /var/log/samba.

RG_SAMBA=${RG_SAMBA:-/usr/libexec/samba}
RG_SAMBA_RPCDS="epmapper lsad classic winreg"   # rpcd_classic needs rpcd_winreg

samba_ok() {
	local r
	[ -x "$RG_SAMBA/samba-dcerpcd" ] && command -v rpcclient >/dev/null || return 1
	for r in $RG_SAMBA_RPCDS; do [ -x "$RG_SAMBA/rpcd_$r" ] || return 1; done
}

# samba_conf_dirs DIR: creates DIR's private directories and prints the
# smb.conf lines that keep Samba's state in them
samba_conf_dirs() {
	local dir=$1 kv
	mkdir -p "$dir/log" || return 1
	for kv in "lock directory=lock" "state directory=state" "cache directory=cache" \
		"private dir=private" "pid directory=pid" "ncalrpc dir=ncalrpc"; do
		mkdir -p "$dir/${kv#*=}" || return 1
		printf '\t%s = %s/%s\n' "${kv%%=*}" "$dir" "${kv#*=}"
	done
	chmod 700 "$dir/private"
	printf '\tlog file = %s/log/%%m.log\n' "$dir"
}

samba_ports() {
	in_ns "$1" ss -Hltnp | grep samba-dcerpcd | awk '{n=split($4,a,":"); print a[n]}' | sort -nu
}

samba_start() {
	local ns=$1 a4=$2 a6=$3 sd=$RG_DIR/samba sc=$RG_DIR/samba-cli r i ports rpcds=()
	RG_SAMBA_DIR=$sd
	mkdir -p "$sd/bin" "$sc" || return 1
	{
		printf '[global]\n'
		cat <<EOF
	server role = standalone server
	workgroup = RGLAB
	netbios name = RGLABSRV
	interfaces = $a4/24 $a6/64
	bind interfaces only = yes
	disable netbios = yes
	# samba-dcerpcd refuses to run on its own unless this is "no"
	rpc start on demand helpers = no
	rpc server dynamic port range = 49152-49200
	passdb backend = tdbsam
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
EOF
		samba_conf_dirs "$sd"
	} >"$sd/smb.conf" || return 1
	{
		printf '[global]\n\tworkgroup = RGLAB\n\tnetbios name = RGLABCLI\n'
		printf '\tdisable netbios = yes\n\tname resolve order = host\n'
		samba_conf_dirs "$sc"
	} >"$sc/smb.conf" || return 1
	for r in $RG_SAMBA_RPCDS; do
		printf '#!/bin/sh\nexec %s --log-basename=%s "$@"\n' "$RG_SAMBA/rpcd_$r" "$sd/log" >"$sd/bin/rpcd_$r"
		chmod 755 "$sd/bin/rpcd_$r"
		rpcds+=("$sd/bin/rpcd_$r")
	done
	# </dev/null (ns_bg): samba-dcerpcd -F exits on EOF of a pipe on stdin
	ns_bg "$ns" "$RG_SAMBA/samba-dcerpcd" -F --no-process-group -s "$sd/smb.conf" -l "$sd/log" -d 1 \
		"${rpcds[@]}" >"$sd/log/stdout" 2>&1
	RG_SAMBA_PID=$RG_LAST_PID
	# 135, and one port per rpcd with a TCP endpoint (lsad, classic, winreg)
	for ((i = 0; i < 200; i++)); do
		ports=$(samba_ports "$ns")
		grep -qx 135 <<<"$ports" && [ "$(grep -cvx 135 <<<"$ports")" -ge 3 ] && return 0
		kill -0 "$RG_SAMBA_PID" 2>/dev/null || break
		sleep 0.05
	done
	rg_err "samba-dcerpcd not listening: $(tail -n 3 "$sd/log/stdout" "$sd"/log/*.log 2>/dev/null | tr '\n' ' ')"
	return 1
}

rpcclient_in() {
	local ns t=$2 binding=$3
	ns=$(rg_ns "$1") || return 2
	shift 3
	timeout "$t" ip netns exec "$ns" rpcclient -s "$RG_DIR/samba-cli/smb.conf" -l "$RG_DIR/samba-cli/log" \
		"$binding" "$@"
}
