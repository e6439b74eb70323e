#!/usr/bin/env bash
# Configuration golden files, as OpenBSD's bgpd regress does them: for each
# tests/config/NAME.expected, `rpcgated -t -c tests/config/NAME.conf` must
# write exactly that file's lines on stderr (the path as given, relative),
# nothing on stdout, and exit with the status on its last line, "exit N".
# shipped.expected is for conf/rpcgate.conf; missing.expected has no .conf
# on purpose.  To write a new .expected, run the command and read every
# line before keeping it.
set -u
cd "$(dirname "$0")/../.."
bin=${BUILD:-build}/rpcgated
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# An rpcgated without -t/-c answers with its usage (64): one SKIP line then,
# not a FAIL per file.
"$bin" -t -c conf/rpcgate.conf >/dev/null 2>&1
if [ $? -eq 64 ]; then
	echo "SKIP config/golden: $bin has no -t/-c"
	exit 0
fi

for expected in tests/config/*.expected; do
	name=$(basename "$expected" .expected)
	conf=tests/config/$name.conf
	[ "$name" = shipped ] && conf=conf/rpcgate.conf
	"$bin" -t -c "$conf" >"$work/out" 2>"$work/err"
	echo "exit $?" >>"$work/err"
	if ! cmp -s "$work/err" "$expected"; then
		echo "FAIL config/$name"
		diff "$work/err" "$expected" | head -n 20
	elif [ -s "$work/out" ]; then
		echo "FAIL config/$name"
		echo "stdout not empty:"
		head -n 5 "$work/out"
	else
		echo "PASS config/$name"
	fi
done

# The effective policy (`-t -v`): tests/config/NAME.printed is what it
# prints, and what it prints loads again to the same policy.
for printed in tests/config/*.printed; do
	name=$(basename "$printed" .printed)
	conf=tests/config/$name.conf
	[ "$name" = shipped ] && conf=conf/rpcgate.conf
	"$bin" -t -v -c "$conf" >"$work/printed" 2>"$work/err"
	if ! cmp -s "$work/printed" "$printed"; then
		echo "FAIL config/printed/$name"
		diff "$work/printed" "$printed" | head -n 20
		continue
	fi
	echo "PASS config/printed/$name"
	cp "$work/printed" "$work/again.conf"
	if "$bin" -t -v -c "$work/again.conf" >"$work/again" 2>"$work/err" &&
		cmp -s "$work/again" "$printed"; then
		echo "PASS config/printed/$name/loads-again"
	else
		echo "FAIL config/printed/$name/loads-again: $(head -n 3 "$work/err")"
	fi
done
