#!/usr/bin/env bash
# Runs every test and ends with one line: "N passed, N failed[, N skipped]".
# Usage: tests/run.sh [BUILD_DIR]   (run by `make check`, after building)
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
captures=${CAPTURES:-../shared/captures}
passed=0 failed=0 skipped=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }

# Unit tests print "ok NAME" / "not ok NAME" per test.
run_unit() {
	local bin=$1 label=$2 out rc line
	out=$("$bin" 2>&1); rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "$label/${line#ok }" ;;
		"not ok "*) fail "$label/${line#not ok }" ;;
		"#"*) echo "$line" ;;
		esac
	done <<<"$out"
	# a crash or sanitizer report after the last test line must not pass
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' <<<"$out"; then
		fail "$label" "exit status $rc"
		tail -n 20 <<<"$out"
	fi
}

for bin in "$build"/tests/test_*; do
	[ -x "$bin" ] && run_unit "$bin" "unit/$(basename "$bin")"
done
for bin in "$build"/asan/tests/test_*; do
	[ -x "$bin" ] && run_unit "$bin" "asan/$(basename "$bin")"
done

# Replay against golden tuples derived with tshark (tests/golden/).
replay_golden() {
	local input=$1 golden=$2 label=$3 got
	if [ ! -r "$input" ]; then
		fail "$label" "input $input missing"
		return
	fi
	got=$("$build/rpcgated" -r "$input" 2>/dev/null | tests/replay_tuples.py)
	if [ "$got" == "$(cat "$golden")" ]; then
		pass "$label"
	else
		fail "$label" "tuples differ from $golden"
		diff <(echo "$got") "$golden" | head -n 10
	fi
}

for golden in tests/golden/captures/*.tsv; do
	[ -e "$golden" ] || continue
	name=$(basename "$golden" .tsv)
	replay_golden "$captures/$name" "$golden" "replay/capture/$name"
done
for golden in tests/golden/vectors/*.tsv; do
	[ -e "$golden" ] || continue
	name=$(basename "$golden" .tsv)
	replay_golden "tests/vectors/$name" "$golden" "replay/vector/$name"
done

# Script tests (replay, config, and namespace tests against the real
# kernel): each prints PASS/FAIL/SKIP lines of its own.
for script in tests/replay/*.sh tests/ns/test_*.sh; do
	[ -e "$script" ] || continue
	while IFS= read -r line; do
		case $line in
		"PASS "*) pass "${line#PASS }" ;;
		"FAIL "*) fail "${line#FAIL }" ;;
		"SKIP "*) label=${line#SKIP }; skip "${label%%: *}" "${label#*: }" ;;
		*) echo "$line" ;;
		esac
	done < <(BUILD="$build" bash "$script" 2>&1)
done

echo "$passed passed, $failed failed$([ $skipped -gt 0 ] && echo ", $skipped skipped")"
[ $failed -eq 0 ]
