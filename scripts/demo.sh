#!/usr/bin/env bash
# The demo: a client, a router running rpcgated and an Exchange-shaped
# endpoint mapper, each in its own network namespace (documentation
# addresses only), with a forward-policy-drop ruleset on the router.  The
# client asks where the store, the address book and a non-Exchange
# interface listen, and connects; the transcript says what happened.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
. tests/ns/lib.sh
. tests/ns/daemon.sh

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show() { sed 's/^/    /'; }

# the client's JSON lines, told as sentences
narrate() {
	"$RG_PY" -c '
import json, sys
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "map":
        if e.get("ok"):
            print("endpoint mapper answered: %s is on port %s" % (e["iface"], e["port"]))
        else:
            print("endpoint mapper answered: %s not available (%s)" % (e.get("iface"), e.get("status")))
    elif e.get("event") == "connect":
        if e.get("connected_first_try"):
            print("connected to port %s on the first SYN (%.2f ms), server said %r" % (e["port"], e["ms"], e.get("banner")))
        elif e.get("connected"):
            print("connected to port %s, but only after retransmitting" % e["port"])
        else:
            print("connection to port %s: no answer (%s) -- the router dropped it" % (e["port"], e.get("error")))'
}

say "Setting up namespaces: client 192.0.2.10 | router | server 198.51.100.20"
ns_setup || exit 1
epm_server_start server "$RG_DIR/epm" --addr "$RG_SERVER4" --addr "$RG_SERVER6" || exit 1
for iface in EMSMDB NSPI SAMR; do
	echo "    server: $iface listens on port $(epm_port "$RG_DIR/epm" "$iface")"
done

CONF="servers = [ \"$RG_SERVER4\", \"$RG_SERVER6\" ];
interfaces = [ \"exchange\" ];
pinhole_timeout = 120;"
say "rpcgate.conf"
echo "$CONF" | show
gate_start "$CONF" || exit 1
say "Router ruleset (rpcgated --print-ruleset | nft -f -): forward policy drop"
"$RG_BIN" --print-ruleset -c "$RG_DIR/rpcgate.conf" | tee "$RG_DIR/ruleset.nft" | grep -v '^#' | show
in_router nft -f "$RG_DIR/ruleset.nft" || exit 1

port=$(epm_port "$RG_DIR/epm" EMSMDB)
say "1. The client tries the store's port without asking the endpoint mapper"
connect_only client "$RG_SERVER4" "$port" | narrate | show
say "2. Outlook-style: ept_map(EMSMDB) on port 135, then connect"
map_and_connect client "$RG_SERVER4" EMSMDB | narrate | show
say "3. The address book, NSPI, over IPv6"
map_and_connect client "$RG_SERVER6" NSPI | narrate | show
say "4. SAMR, which is not an Exchange interface"
map_and_connect client "$RG_SERVER4" SAMR | narrate | show
say "5. A second client that did no lookup tries the store's port"
connect_only client2 "$RG_SERVER4" "$port" | narrate | show

say "What rpcgated logged (one line per decision)"
gate_log | show
say "nft list set inet rpcgate pinholes4 / pinholes6"
in_router nft list set inet rpcgate pinholes4 | grep elements | show
in_router nft list set inet rpcgate pinholes6 | grep elements | show
gate_stop
say "rpcgated stopped and left its table: the high range stays closed, the pinholes run out"
in_router nft list tables | show
say "rpcgated --remove: the router's own ruleset alone decides again"
in_router "$RG_BIN" --remove -c "$RG_DIR/rpcgate.conf" -s "$RG_DIR/control" | show
say "Done; the namespaces go now."
