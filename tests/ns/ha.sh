# shellcheck shell=bash disable=SC2086,SC2034
# tests/ns/ha.sh: a router pair for rpcgate, keepalived (VRRPv3) and
# conntrackd (FT-FW) in namespaces. Source after lib.sh.
#
#   client 192.0.2.10    ─ lan ┬ lan0 [R1] wan0 ┬ wan ─ server 198.51.100.20
#          2001:db8:1::10      │ 192.0.2.2      │ 198.51.100.2   2001:db8:2::20
#                              │ 2001:db8:1::2  │ 2001:db8:2::2
#                              │     sync0 203.0.113.1
#                              │       │ (veth: conntrackd's FT-FW link)
#                              │     sync0 203.0.113.2
#                              └ lan0 [R2] wan0 ┘
#                                192.0.2.3      198.51.100.3
#                                2001:db8:1::3  2001:db8:2::3
#
# lan and wan are bridges in a switch namespace. The routers share the
# virtual addresses 192.0.2.1 and 2001:db8:1::1 (lan0), 198.51.100.1 and
# 2001:db8:2::1 (wan0), the hosts' gateways, through one VRRP sync group
# of four instances (R1 priority 150, R2 100); its notify script is
# conf/rpcgate-ha-notify.sh, as the README documents.
# Namespaces: rg-hac-ID rg-has-ID rg-hr1-ID rg-hr2-ID rg-hsw-ID.
#
#   ha_setup || exit 1         # the lab, no daemons
#   ha_conntrackd_start 1; ha_conntrackd_start 2
#   ha_keepalived_start 1; ha_keepalived_start 2; ha_wait_master 1
#   ha_gate_start 1 CONF_TEXT  # rpcgated in R1 ($RG_DIR/rpcgated-r1.log)

RG_HA_CLIENT4=192.0.2.10 RG_HA_SERVER4=198.51.100.20
RG_HA_CLIENT6=2001:db8:1::10 RG_HA_SERVER6=2001:db8:2::20
RG_HA_LAN_VIP4=192.0.2.1 RG_HA_WAN_VIP4=198.51.100.1
RG_HA_LAN_VIP6=2001:db8:1::1 RG_HA_WAN_VIP6=2001:db8:2::1
RG_HA_CONF_DIR=$(cd "$RG_LIB_DIR/../../conf" && pwd)
RG_BIN=${RG_BIN:-$(cd "$RG_LIB_DIR/../.." && pwd)/${BUILD:-build}/rpcgated}
declare -A RG_HA_GATE_PID RG_HA_KEEPALIVED_PID RG_HA_CONNTRACKD_PID

ha_router() { eval echo "\$RG_NS_R$1"; }   # ha_router 1|2: its namespace
in_r() { local ns; ns=$(ha_router "$1"); shift; ip netns exec "$ns" "$@"; }

# ha_link NS1 DEV1 NS2 DEV2 [BRIDGE]: a veth NS1/DEV1 -- NS2/DEV2, the
# second end made a port of BRIDGE in NS2 when given
ha_link() {
	local ns1=$1 d1=$2 ns2=$3 d2=$4 br=${5:-}
	ip -n "$ns1" link add "$d1" type veth peer name "$d2" netns "$ns2" || return 1
	[ -n "$br" ] && { ip -n "$ns2" link set "$d2" master "$br" || return 1; }
	ip -n "$ns1" link set "$d1" up && ip -n "$ns2" link set "$d2" up || return 1
	rg_offload_off "$ns1" "$d1"
	rg_offload_off "$ns2" "$d2"
}

ha_setup() {
	if [ "$(id -u)" -ne 0 ]; then rg_err "ha_setup needs root"; return 1; fi
	rg_lab_id
	RG_NS_HACLIENT=rg-hac-$RG_ID RG_NS_HASERVER=rg-has-$RG_ID
	RG_NS_R1=rg-hr1-$RG_ID RG_NS_R2=rg-hr2-$RG_ID RG_NS_SWITCH=rg-hsw-$RG_ID
	RG_NSES=("$RG_NS_HACLIENT" "$RG_NS_HASERVER" "$RG_NS_R1" "$RG_NS_R2" "$RG_NS_SWITCH")
	rg_lab_begin || return 1
	if ! ha_build; then
		rg_err "HA topology set-up failed"
		ns_teardown
		return 1
	fi
	rg_log "HA lab up"
}

ha_build() {
	local sw=$RG_NS_SWITCH br r
	rg_sysctls "$sw" net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-arptables=0
	for br in lan wan; do
		ip -n "$sw" link add "$br" type bridge stp_state 0 forward_delay 0 mcast_snooping 0 &&
			ip -n "$sw" link set "$br" up || return 1
	done
	ha_link "$RG_NS_HACLIENT" eth0 "$sw" c lan && ha_link "$RG_NS_HASERVER" eth0 "$sw" s wan &&
		ip -n "$RG_NS_HACLIENT" addr add "$RG_HA_CLIENT4/24" dev eth0 &&
		ip -n "$RG_NS_HACLIENT" addr add "$RG_HA_CLIENT6/64" dev eth0 nodad &&
		ip -n "$RG_NS_HACLIENT" route add default via "$RG_HA_LAN_VIP4" &&
		ip -n "$RG_NS_HACLIENT" -6 route add default via "$RG_HA_LAN_VIP6" &&
		ip -n "$RG_NS_HASERVER" addr add "$RG_HA_SERVER4/24" dev eth0 &&
		ip -n "$RG_NS_HASERVER" addr add "$RG_HA_SERVER6/64" dev eth0 nodad &&
		ip -n "$RG_NS_HASERVER" route add default via "$RG_HA_WAN_VIP4" &&
		ip -n "$RG_NS_HASERVER" -6 route add default via "$RG_HA_WAN_VIP6" || return 1
	for r in 1 2; do
		local ns; ns=$(ha_router $r)
		rg_sysctls "$ns" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		ha_link "$ns" lan0 "$sw" "r${r}l" lan && ha_link "$ns" wan0 "$sw" "r${r}w" wan &&
			ip -n "$ns" addr add "192.0.2.$((r + 1))/24" dev lan0 &&
			ip -n "$ns" addr add "2001:db8:1::$((r + 1))/64" dev lan0 nodad &&
			ip -n "$ns" addr add "198.51.100.$((r + 1))/24" dev wan0 &&
			ip -n "$ns" addr add "2001:db8:2::$((r + 1))/64" dev wan0 nodad || return 1
	done
	ha_link "$RG_NS_R1" sync0 "$RG_NS_R2" sync0 &&
		ip -n "$RG_NS_R1" addr add 203.0.113.1/24 dev sync0 &&
		ip -n "$RG_NS_R2" addr add 203.0.113.2/24 dev sync0
}

# ha_conntrackd_conf R: R's conntrackd.conf, the shape of
# conf/conntrackd.conf.example with this lab's addresses and paths
ha_conntrackd_conf() {
	local r=$1 me=203.0.113.$1 peer=203.0.113.$((3 - $1))
	cat <<EOF
Sync {
	Mode FTFW {
		DisableExternalCache off
	}
	UDP {
		IPv4_address $me
		IPv4_Destination_Address $peer
		Port 3780
		Interface sync0
		Checksum on
	}
}
General {
	HashSize 8192
	HashLimit 65536
	LogFile $RG_DIR/conntrackd-r$r.log
	Syslog off
	LockFile $RG_DIR/conntrackd-r$r.lock
	UNIX {
		Path $RG_DIR/conntrackd-r$r.ctl
	}
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth 8388608
	Filter From Userspace {
		Protocol Accept {
			TCP
			UDP
		}
		Address Ignore {
			IPv4_address 127.0.0.1
			IPv4_address 192.0.2.1
			IPv4_address 192.0.2.2
			IPv4_address 192.0.2.3
			IPv4_address 198.51.100.1
			IPv4_address 198.51.100.2
			IPv4_address 198.51.100.3
			IPv4_address 203.0.113.0/24
			IPv6_address ::1
			IPv6_address 2001:db8:1::1
			IPv6_address 2001:db8:1::2
			IPv6_address 2001:db8:1::3
			IPv6_address 2001:db8:2::1
			IPv6_address 2001:db8:2::2
			IPv6_address 2001:db8:2::3
		}
	}
}
EOF
}

ha_conntrackd_start() { # ha_conntrackd_start R: conntrackd in the foreground
	local r=$1 i
	ha_conntrackd_conf "$r" >"$RG_DIR/conntrackd-r$r.conf"
	ns_bg "$(ha_router "$r")" conntrackd -C "$RG_DIR/conntrackd-r$r.conf" \
		>"$RG_DIR/conntrackd-r$r.out" 2>&1
	RG_HA_CONNTRACKD_PID[$r]=$RG_LAST_PID
	for ((i = 0; i < 100; i++)); do
		in_r "$r" conntrackd -C "$RG_DIR/conntrackd-r$r.conf" -s >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	rg_err "conntrackd in R$r did not start: $(tail -n 3 "$RG_DIR/conntrackd-r$r.out" "$RG_DIR/conntrackd-r$r.log")"
	return 1
}

# ha_keepalived_conf R: R's keepalived.conf, the shape of
# conf/keepalived.conf.example
ha_keepalived_conf() {
	local r=$1 prio
	prio=$((r == 1 ? 150 : 100))
	local notify="$RG_HA_CONF_DIR/rpcgate-ha-notify.sh"
	local ctconf="$RG_DIR/conntrackd-r$r.conf"
	cat <<EOF
global_defs {
	router_id rg-r$r
	vrrp_version 3
	script_user root
	vrrp_garp_master_repeat 2
}
vrrp_sync_group RPCGATE {
	group {
		LAN
		WAN
		LAN6
		WAN6
	}
	notify_master "$notify primary $ctconf"
	notify_backup "$notify backup $ctconf"
	notify_fault "$notify fault $ctconf"
}
vrrp_instance LAN {
	state BACKUP
	interface lan0
	virtual_router_id 51
	priority $prio
	advert_int 0.1
	virtual_ipaddress {
		$RG_HA_LAN_VIP4/24
	}
}
vrrp_instance WAN {
	state BACKUP
	interface wan0
	virtual_router_id 52
	priority $prio
	advert_int 0.1
	virtual_ipaddress {
		$RG_HA_WAN_VIP4/24
	}
}
vrrp_instance LAN6 {
	state BACKUP
	interface lan0
	virtual_router_id 61
	priority $prio
	advert_int 0.1
	virtual_ipaddress {
		$RG_HA_LAN_VIP6/64
	}
}
vrrp_instance WAN6 {
	state BACKUP
	interface wan0
	virtual_router_id 62
	priority $prio
	advert_int 0.1
	virtual_ipaddress {
		$RG_HA_WAN_VIP6/64
	}
}
EOF
}

ha_keepalived_start() { # ha_keepalived_start R: keepalived, VRRP only, foreground
	local r=$1
	ha_keepalived_conf "$r" >"$RG_DIR/keepalived-r$r.conf"
	ns_bg "$(ha_router "$r")" keepalived --vrrp -n -l -D -f "$RG_DIR/keepalived-r$r.conf" \
		-p "$RG_DIR/keepalived-r$r.pid" -r "$RG_DIR/keepalived-vrrp-r$r.pid" \
		>"$RG_DIR/keepalived-r$r.log" 2>&1
	RG_HA_KEEPALIVED_PID[$r]=$RG_LAST_PID
}

ha_has_vip() { # ha_has_vip R [4|6]: R holds the virtual addresses (of one family)
	local a fam=${2:-46}
	a=$(in_r "$1" ip addr show)
	{ [ "$fam" = 6 ] || { grep -q " $RG_HA_LAN_VIP4/" <<<"$a" && grep -q " $RG_HA_WAN_VIP4/" <<<"$a"; }; } &&
		{ [ "$fam" = 4 ] || { grep -q " $RG_HA_LAN_VIP6/" <<<"$a" && grep -q " $RG_HA_WAN_VIP6/" <<<"$a"; }; }
}

# ha_wait_master R [timeout]: until R holds both virtual addresses and the
# other router neither (timeout s, default 15)
ha_wait_master() {
	local r=$1 t=${2:-15} i
	for ((i = 0; i < t * 20; i++)); do
		ha_has_vip "$r" && ! ha_has_vip $((3 - r)) && return 0
		sleep 0.05
	done
	rg_err "R$r is not the master after ${t}s"
	return 1
}

# ha_gate_start R CONF_TEXT: rpcgated in R, its log $RG_DIR/rpcgated-rR.log
ha_gate_start() {
	local r=$1 conf=$2 i log="$RG_DIR/rpcgated-r$1.log"
	# each router its own state file, never the host's /run
	printf '%s\nstate_file = "%s";\n' "$conf" "$RG_DIR/state-r$r/pinholes" \
		>"$RG_DIR/rpcgate-r$r.conf"
	: >"$log"
	ns_bg "$(ha_router "$r")" "$RG_BIN" -f -c "$RG_DIR/rpcgate-r$r.conf" \
		-s "$RG_DIR/control-r$r" 2>>"$log"
	RG_HA_GATE_PID[$r]=$RG_LAST_PID
	for ((i = 0; i < 100; i++)); do
		grep -q 'rpcgated: started' "$log" && return 0
		kill -0 "${RG_HA_GATE_PID[$r]}" 2>/dev/null || break
		sleep 0.05
	done
	rg_err "rpcgated in R$r did not start: $(tail -n 5 "$log")"
	return 1
}
