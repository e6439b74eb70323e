#!/usr/bin/env bash
# Runs every test and ends with one line: "N passed, N failed[, N skipped]".
# Usage: tests/run.sh [BUILD_DIR]   (run by `make test` and `make check`,
# after building).  tests/README.md says what each suite proves.
#
#   RPCGATE_CAPTURES  the real captures (default ../shared/captures from the
#                     project root); absent, their tests are skipped, and
#                     under CI=true they fail
#   RPCGATE_NS=0      leaves out the namespace tests (tests/ns/, ~3 min)
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
captures=${RPCGATE_CAPTURES:-../shared/captures}
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

# The replay of one input under valgrind: no memory error, no leak (a
# capture with frame errors exits 65, which is not valgrind's concern).
replay_valgrind() {
	local input=$1 label=$2 log rc
	if ! command -v valgrind >/dev/null; then
		skip "$label" "valgrind not installed (make deps)"
		return
	fi
	log=$(mktemp)
	valgrind -q --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=all --errors-for-leak-kinds=all \
		--log-file="$log" "$build/rpcgated" -r "$input" >/dev/null 2>&1
	rc=$?
	if [ $rc -ne 99 ] && [ ! -s "$log" ]; then
		pass "$label"
	else
		fail "$label" "valgrind reports errors or leaks"
		head -n 30 "$log"
	fi
	rm -f "$log"
}

# The captures are not part of the project (../shared/README.md): a clone
# without them skips their tests, CI must have them.
if [ -d "$captures" ]; then
	capture_missing=
elif [ "${CI:-}" = true ]; then
	capture_missing="folder $captures missing (CI=true requires the captures; set RPCGATE_CAPTURES)"
else
	capture_missing="folder $captures missing: set RPCGATE_CAPTURES to a folder holding the real captures (shared/captures; their origins in its MANIFEST.md)"
fi
capture_test() { # runner input label...
	if [ -z "$capture_missing" ]; then
		"$@"
	elif [ "${CI:-}" = true ]; then
		fail "${*: -1}" "$capture_missing"
	else
		skip "${*: -1}" "$capture_missing"
	fi
}

for golden in tests/golden/captures/*.tsv; do
	[ -e "$golden" ] || continue
	name=$(basename "$golden" .tsv)
	capture_test replay_golden "$captures/$name" "$golden" "replay/capture/$name"
	capture_test replay_valgrind "$captures/$name" "valgrind/capture/$name"
done
for golden in tests/golden/vectors/*.tsv; do
	[ -e "$golden" ] || continue
	name=$(basename "$golden" .tsv)
	replay_golden "tests/vectors/$name" "$golden" "replay/vector/$name"
	replay_valgrind "tests/vectors/$name" "valgrind/vector/$name"
done

# Script tests (replay, config, and namespace tests against the real
# kernel): each prints PASS/FAIL/SKIP lines of its own; prefix goes before
# each label.
run_script() { # script [prefix [env assignments...]]
	local script=$1 prefix=${2:-} line label
	while IFS= read -r line; do
		case $line in
		"PASS "*) pass "$prefix${line#PASS }" ;;
		"FAIL "*) fail "$prefix${line#FAIL }" ;;
		"SKIP "*) label=${line#SKIP }; skip "$prefix${label%%: *}" "${label#*: }" ;;
		*) echo "$line" ;;
		esac
	done < <(env BUILD="$build" RPCGATE_CAPTURES="$captures" "${@:3}" bash "$script" 2>&1)
}

for script in tests/replay/*.sh; do
	[ -e "$script" ] && run_script "$script"
done
if [ "${RPCGATE_NS:-1}" != 0 ]; then
	for script in tests/ns/test_*.sh; do
		[ -e "$script" ] && run_script "$script"
	done
	# One namespace test again with the ASan/UBSan daemon: what its own
	# checks see, and any sanitizer report the daemon wrote on the way.
	if [ -x "$build/asan/rpcgated" ]; then
		reports=$(mktemp -d)
		run_script tests/ns/test_exchange.sh asan/ RG_BIN="$(pwd)/$build/asan/rpcgated" \
			ASAN_OPTIONS="log_path=$reports/asan" UBSAN_OPTIONS="log_path=$reports/ubsan"
		if compgen -G "$reports/*" >/dev/null; then
			fail "asan/rpcgated" "sanitizer reports"
			head -n 40 "$reports"/*
		else
			pass "asan/rpcgated"
		fi
		rm -rf "$reports"
	else
		fail "asan/rpcgated" "$build/asan/rpcgated not built (make asan)"
	fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
