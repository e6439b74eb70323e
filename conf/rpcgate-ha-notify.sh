#!/bin/sh
# keepalived notify script for an rpcgate router pair: conntrackd's
# documented primary-backup.sh (conntrack-tools, doc/sync/primary-backup.sh).
#
#   notify_master "/etc/rpcgate/rpcgate-ha-notify.sh primary"
#   notify_backup "/etc/rpcgate/rpcgate-ha-notify.sh backup"
#   notify_fault  "/etc/rpcgate/rpcgate-ha-notify.sh fault"
#
# An optional second argument names conntrackd's configuration (default
# /etc/conntrackd/conntrackd.conf); its LockFile is read from it.
#
# On promotion, `conntrackd -c` commits the entries the peer replicated into
# this router's kernel: the established connections, and the carrier
# entries of rpcgate's pinholes (sync_pinholes), which rpcgated turns back
# into pinholes when its policy allows them.
CONNTRACKD=${CONNTRACKD:-/usr/sbin/conntrackd}
CONFIG=${2:-/etc/conntrackd/conntrackd.conf}
LOCK=$(sed -n 's/^[[:space:]]*LockFile[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$CONFIG" | head -n 1)
LOCK=${LOCK:-/var/lock/conntrack.lock}

run() { # run WHAT OPTION: conntrackd OPTION, logged when it fails
	"$CONNTRACKD" -C "$CONFIG" "$2" || logger -t rpcgate-ha "ERROR: conntrackd $2 ($1) failed"
}

case "$1" in
primary)
	run "commit the external cache into the kernel" -c
	run "flush the internal and external caches" -f
	run "resynchronise the internal cache with the kernel" -R
	run "send a bulk update to the backup" -B
	;;
backup)
	if ! "$CONNTRACKD" -C "$CONFIG" -s >/dev/null 2>&1; then
		if [ -f "$LOCK" ]; then
			logger -t rpcgate-ha "WARNING: conntrackd was not cleanly stopped"
			rm -f "$LOCK"
		fi
		"$CONNTRACKD" -C "$CONFIG" -d || { logger -t rpcgate-ha "ERROR: cannot start conntrackd"; exit 1; }
	fi
	run "shorten the kernel's timers of entries the master now owns" -t
	run "ask the master for a resynchronisation" -n
	;;
fault)
	run "shorten the kernel's timers" -t
	;;
*)
	echo "usage: $0 {primary|backup|fault} [conntrackd.conf]" >&2
	exit 1
	;;
esac
exit 0
