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
in_page() { # in_page PAGE LABEL REGEX: PASS when REGEX matches a line of man/PAGE
	if grep -qE "$3" "man/$1"; then
		echo "PASS manpages/$1/$2"
	else
		echo "FAIL manpages/$1/$2: not in man/$1"
	fi
}

printed=$("$bin" -t -v -c tests/config/fixed-valid.conf 2>&1)
for key in $keys; do
	in_page rpcgate.conf.5 "$key" "^\.It Ic $key( |$)"
	if grep -qE "^[[:space:]]*$key = " <<<"$printed"; then
		echo "PASS manpages/printconf/$key"
	else
		echo "FAIL manpages/printconf/$key: rpcgated -t -v does not print it"
	fi
done

# short options from the getopt string, long ones from the option table
shorts=$(grep -oE 'getopt_long\(argc, argv, "[^"]*"' daemon/rpcgated.c | sed 's/.*"\(.*\)"/\1/' | tr -d ':' | fold -w1)
longs=$(grep -oE '^[[:space:]]*\{ "[a-z-]+", (no|required|optional)_argument' daemon/rpcgated.c | grep -oE '"[a-z-]+"' | tr -d '"')
for opt in $shorts; do in_page rpcgated.8 "-$opt" "^\.It Fl $opt( |$)"; done
for opt in $longs; do in_page rpcgated.8 "--$opt" "^\.It .*Fl \\\\-$opt( |$)"; done

for page in man/*.[0-9]; do
	if out=$(mandoc -T lint -W warning "$page" 2>&1) && [ -z "$out" ]; then
		echo "PASS manpages/lint/$(basename "$page")"
	else
		echo "FAIL manpages/lint/$(basename "$page"): $(head -n 1 <<<"$out")"
	fi
done
