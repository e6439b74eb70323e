#!/usr/bin/env bash
# The manual pages say what the code does: every config key in
# daemon/config.c's key table is in rpcgate.conf(5) and in the effective
# policy `rpcgated -t -v` prints; every option of rpcgated is in
# rpcgated(8); every page passes `mandoc -T lint -W warning`.
set -u
cd "$(dirname "$0")/../.."
bin=${BUILD:-build}/rpcgated

keys=$(sed -n '/^static const struct key keys\[\] = {/,/^};/p' daemon/config.c |
	grep -oE '^[[:space:]]*(\[K_[A-Z_]+\] = )?\{ "[a-z0-9_]+"' | grep -oE '"[a-z0-9_]+"' | tr -d '"')
if [ -z "$keys" ]; then
	echo "FAIL manpages/config-keys-found: no keys read from daemon/config.c"
	exit 0
fi
printed=$("$bin" -t -v -c tests/config/fixed-valid.conf 2>&1)
for key in $keys; do
	if grep -q "^\.It Ic $key\b" man/rpcgate.conf.5; then
		echo "PASS manpages/rpcgate.conf.5/$key"
	else
		echo "FAIL manpages/rpcgate.conf.5/$key: not in man/rpcgate.conf.5"
	fi
	if grep -qE "^[[:space:]]*$key = " <<<"$printed"; then
		echo "PASS manpages/printconf/$key"
	else
		echo "FAIL manpages/printconf/$key: rpcgated -t -v does not print it"
	fi
done

# short options from the getopt string, long ones from the option table
shorts=$(grep -oE 'getopt_long\(argc, argv, "[^"]*"' daemon/rpcgated.c | sed 's/.*"\(.*\)"/\1/' | tr -d ':' | fold -w1)
longs=$(grep -oE '^[[:space:]]*\{ "[a-z-]+", (no|required|optional)_argument' daemon/rpcgated.c | grep -oE '"[a-z-]+"' | tr -d '"')
for opt in $shorts; do
	if grep -qE "^\.It Fl $opt( |$)" man/rpcgated.8; then
		echo "PASS manpages/rpcgated.8/-$opt"
	else
		echo "FAIL manpages/rpcgated.8/-$opt: not in man/rpcgated.8"
	fi
done
for opt in $longs; do
	if grep -qE "^\.It .*Fl \\\\-$opt( |$)" man/rpcgated.8; then
		echo "PASS manpages/rpcgated.8/--$opt"
	else
		echo "FAIL manpages/rpcgated.8/--$opt: not in man/rpcgated.8"
	fi
done

for page in man/*.[0-9]; do
	if out=$(mandoc -T lint -W warning "$page" 2>&1) && [ -z "$out" ]; then
		echo "PASS manpages/lint/$(basename "$page")"
	else
		echo "FAIL manpages/lint/$(basename "$page"): $(head -n 1 <<<"$out")"
	fi
done
