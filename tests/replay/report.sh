#!/usr/bin/env bash
# The port-pinning report (`rpcgated -r FILE --report`) against golden
# files in tests/golden/report/NAME.txt, for the project's vectors and for
# the shared Outlook<->Exchange capture (RPCGATE_CAPTURES, default
# ../shared/captures: skipped when absent, a failure under CI).  What it
# proposes must be usable as it is: the fixed_ports block passes
# `rpcgated -t` and the nft rule loads with `nft -c` (in a namespace of
# its own).
set -u
cd "$(dirname "$0")/../.."
bin=${BUILD:-build}/rpcgated
captures=${RPCGATE_CAPTURES:-../shared/captures}
work=$(mktemp -d)
ns=rg-report-$$
trap 'rm -rf "$work"; ip netns del "$ns" 2>/dev/null' EXIT

check_usable() { # check_usable NAME REPORT
	local name=$1 report=$2
	if grep -q 'groups = (' "$report"; then
		{ echo 'servers = [ "203.0.113.1" ];'; sed -n '/groups = (/,/); } );/p' "$report"; } >"$work/$name.conf"
		if out=$("$bin" -t -c "$work/$name.conf" 2>&1); then
			echo "PASS report/$name/config-block-valid"
		else
			echo "FAIL report/$name/config-block-valid: $out"
		fi
	fi
	if grep -q 'ct state new accept' "$report"; then
		{ printf 'table inet t {\n\tchain f {\n\t\ttype filter hook forward priority 0;\n'
		  grep 'ct state new accept' "$report"; printf '\t}\n}\n'; } >"$work/$name.nft"
		ip netns add "$ns" 2>/dev/null
		if out=$(ip netns exec "$ns" nft -c -f "$work/$name.nft" 2>&1); then
			echo "PASS report/$name/nft-rule-valid"
		else
			echo "FAIL report/$name/nft-rule-valid: $out"
		fi
	fi
}

for golden in tests/golden/report/*.txt; do
	name=$(basename "$golden" .txt)
	if [ -e "tests/vectors/$name" ]; then
		input=tests/vectors/$name
	elif [ -r "$captures/$name" ]; then
		input=$captures/$name
	elif [ "${CI:-}" = true ]; then
		echo "FAIL report/$name: $captures/$name missing (set RPCGATE_CAPTURES to the shared captures)"
		continue
	else
		echo "SKIP report/$name: $captures/$name absent (set RPCGATE_CAPTURES to the shared captures folder)"
		continue
	fi
	"$bin" -r "$input" --report >"$work/$name" 2>"$work/$name.err"
	if cmp -s "$work/$name" "$golden"; then
		echo "PASS report/$name"
	else
		echo "FAIL report/$name: differs from $golden"
		diff "$work/$name" "$golden" | head -n 10
	fi
	check_usable "$name" "$work/$name"
done

# --json is one JSON object naming the same ports
"$bin" -r tests/vectors/fragmented_response.pcap --report --json >"$work/json"
if /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
ports = sorted((e["iface_name"], e["ports"][0]["port"]) for e in r["entries"])
assert ports == [("EMSMDB", 49160), ("NSPI", 49161), ("RFR", 49162)], ports
assert all(e["stable"] and e["registry_value"] for e in r["entries"])
' "$work/json"; then
	echo "PASS report/json"
else
	echo "FAIL report/json: $(head -c 300 "$work/json")"
fi
# --report without -r is a usage error
"$bin" --report >/dev/null 2>&1
[ $? -eq 64 ] && echo "PASS report/usage-without-replay" || echo "FAIL report/usage-without-replay"
