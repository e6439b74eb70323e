#!/usr/bin/env bash
# The Debian package, as CI checks it (about a minute, so not part of
# `make check`): dpkg-buildpackage builds rpcgate_*.deb from a copy of the
# tree, lintian finds nothing at warning level, the package installs with
# dpkg -i, /etc/rpcgate/rpcgate.conf is a conffile, the unit is installed
# but not enabled, `rpcgated -t` runs from it, and it removes cleanly.
# Prints PASS/FAIL lines and "package: N of M checks passed"; as root.
set -u
cd "$(dirname "$0")/.."
# what building and checking a package takes, beside the build's own deps
scripts/install-deps.sh dpkg-dev debhelper lintian || exit 1
passed=0 failed=0
pass() { echo "PASS package/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL package/$1${2:+: $2}"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name"; fi; }

work=$(mktemp -d)
installed_before=$(dpkg-query -W -f='${Status}' rpcgate 2>/dev/null | grep -c 'install ok installed')
# the package's tmpfiles.d makes /run/rpcgate at install; a purge leaves it
run_dir_before=0
[ -e /run/rpcgate ] && run_dir_before=1
trap 'rm -rf "$work"; [ "$installed_before" = 0 ] && dpkg -r rpcgate >/dev/null 2>&1
      [ "$installed_before" = 0 ] && [ "$run_dir_before" = 0 ] && rm -rf /run/rpcgate' EXIT
version=$(dpkg-parsechangelog -S Version)
src=$work/rpcgate-$version
mkdir -p "$src"
git ls-files -z | xargs -0 cp --parents -t "$src"

if (cd "$src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
	pass build
else
	fail build "$(tail -n 3 "$work/build.log")"
	echo "$passed passed, $failed failed"
	exit 1
fi
deb=$work/rpcgate_${version}_$(dpkg --print-architecture).deb
check deb-exists test -s "$deb"
if out=$(lintian --fail-on warning "$work"/rpcgate_*.changes 2>&1) &&
	! grep -qE '^[EW]:' <<<"$out"; then
	pass lintian
else
	fail lintian "$(grep -E '^[EW]:' <<<"$out" | head -n 3)"
fi
check conffile bash -c "dpkg-deb --ctrl-tarfile '$deb' | tar -xOf - ./conffiles | grep -qx /etc/rpcgate/rpcgate.conf"
check man-pages bash -c "dpkg -c '$deb' | grep -q 'man8/rpcgated.8.gz' && dpkg -c '$deb' | grep -q 'man5/rpcgate.conf.5.gz'"
if dpkg -i "$deb" >"$work/install.log" 2>&1; then pass install; else fail install "$(tail -n 3 "$work/install.log")"; fi
check rpcgated-t /usr/sbin/rpcgated -t -c /etc/rpcgate/rpcgate.conf
check version bash -c "/usr/sbin/rpcgated --version | grep -q '$version'"
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	check unit-not-enabled bash -c "! systemctl is-enabled rpcgate >/dev/null 2>&1"
fi
check unit-installed test -f /lib/systemd/system/rpcgate.service
if [ "$installed_before" = 0 ]; then
	check remove dpkg -r rpcgate
	check conffile-kept-after-remove test -f /etc/rpcgate/rpcgate.conf
	check purge dpkg -P rpcgate
	check conffile-gone-after-purge test ! -e /etc/rpcgate/rpcgate.conf
fi
echo "package: $passed of $((passed + failed)) checks passed"
[ $failed -eq 0 ]
