#!/usr/bin/env bash
# The endpoint mapper over UDP 135: an ept_map answer with a UDP tower opens
# a UDP pinhole for the asking client only.  IPv4 and IPv6.
set -u
. "$(dirname "$0")/lib.sh"
. "$RG_LIB_DIR/daemon.sh"
ns_setup || { t_fail udp/setup "namespace lab"; exit 1; }

PORT=50500
gate_start "servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
interfaces = [ \"exchange\" ];" || { t_fail udp/daemon-start "$(gate_log | tail -n 3)"; exit 1; }
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | in_router nft -f - || t_fail udp/ruleset
udp() { in_ns "$1" "$RG_PY" "$RG_LIB_DIR/udp_epm.py" "${@:2}"; }
fails() { ! "$@"; }

for fam in 4 6; do
	eval server=\$RG_SERVER$fam
	ns_bg server "$RG_PY" "$RG_LIB_DIR/udp_epm.py" serve "$server" "$PORT" >"$RG_DIR/udp$fam"
	wait_file "$RG_DIR/udp$fam" 10 || { t_fail "udp$fam/server"; continue; }
	t_check "udp$fam/closed-before-lookup" fails udp client ping "$server" "$PORT"
	t_check "udp$fam/map-answered" udp client map "$server"
	t_check "udp$fam/open-after-map" udp client ping "$server" "$PORT"
	t_check "udp$fam/closed-for-other-client" fails udp client2 ping "$server" "$PORT"
	t_check "udp$fam/pinhole-in-set" grep -q "udp . $PORT" <<<"$(pinholes "$fam")"
done
t_check udp/logged-opened grep -q "opened udp $RG_CLIENT4 -> $RG_SERVER4:$PORT" <<<"$(gate_log)"
