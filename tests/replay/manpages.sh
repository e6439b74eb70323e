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
in_page() { # in_page PAGE REGEX LABEL: PASS when REGEX matches a line of man/PAGE
	if grep -qE "$2" "man/$1"; then
		echo "PASS manpages/$1/$3"
	else
		echo "FAIL manpages/$1/$3: not in man/$1"
	fi
}

printed=$("$bin" -t -v -c tests/config/fixed-valid.conf 2>&1)
for key in $keys; do
	in_page rpcgate.conf.5 "^\.It Ic $key( |$)" "$key"
	if grep -qE "^[[:space:]]*$key = " <<<"$printed"; then
		echo "PASS manpages/printconf/$key"
	else
		echo "FAIL manpages/printconf/$key: rpcgated -t -v does not print it"
	fi
done

# long options from a getopt_long option table
long_options() {
	grep -oE '^[[:space:]]*\{ "[a-z-]+", (no|required|optional)_argument' "$1" | grep -oE '"[a-z-]+"' | tr -d '"'
}

# short options from the getopt string, long ones from the option table
shorts=$(grep -oE 'getopt_long\(argc, argv, "[^"]*"' daemon/rpcgated.c | sed 's/.*"\(.*\)"/\1/' | tr -d ':' | fold -w1)
for opt in $shorts; do in_page rpcgated.8 "^\.It Fl $opt( |$)" "-$opt"; done
for opt in $(long_options daemon/rpcgated.c); do in_page rpcgated.8 "^\.It .*Fl \\\\-$opt( |$)" "--$opt"; done

# rpcgatectl: every command and option is in rpcgatectl(8)
ctl_commands=$(sed -n '/static const char \*const commands\[\] = {/,/};/p' daemon/rpcgatectl.c |
	grep -oE '"[a-z]+"' | tr -d '"')
[ -n "$ctl_commands" ] || echo "FAIL manpages/rpcgatectl-commands-found: none read from daemon/rpcgatectl.c"
for c in $ctl_commands; do in_page rpcgatectl.8 "^\.It Cm $c( |$)" "$c"; done
for opt in $(long_options daemon/rpcgatectl.c); do in_page rpcgatectl.8 "^\.It .*Fl \\\\-$opt( |$)" "--$opt"; done

for page in man/*.[0-9]; do
	if out=$(mandoc -T lint -W warning "$page" 2>&1) && [ -z "$out" ]; then
		echo "PASS manpages/lint/$(basename "$page")"
	else
		echo "FAIL manpages/lint/$(basename "$page"): $(head -n 1 <<<"$out")"
	fi
done
