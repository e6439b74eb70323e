/*
 * Leaving root: rpcgated is started as root, opens its netlink sockets and
 * its control socket, then runs as an unprivileged user keeping only
 * CAP_NET_ADMIN (nftables, NFQUEUE verdicts and conntrack need it; nothing
 * else does).  In two steps, because the control socket is made between
 * them: owned by root, in the user's group.
 */
#ifndef RPCGATE_PRIVILEGES_H
#define RPCGATE_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privileges {
	uid_t uid;
	gid_t gid;
};

/* The user's uid and primary group; false with a reason in err. */
bool privileges_lookup(const char *user, struct privileges *p, char *err,
		       size_t errlen);
/* No supplementary groups, the user's group: files made now get it. */
bool privileges_set_group(const struct privileges *p, char *err, size_t errlen);
/* The user's uid, with CAP_NET_ADMIN alone effective and permitted. */
bool privileges_set_user(const struct privileges *p, char *err, size_t errlen);

#endif
