/*
 * Conntrack through libnetfilter_conntrack: cutting off connections that a
 * revoked pinhole admitted.
 */
#ifndef RPCGATE_CONNTRACK_H
#define RPCGATE_CONNTRACK_H

#include "nft.h"

/*
 * Deletes the conntrack entries of connections from the pinhole's client
 * to its server and port that carry the pinhole mark.  Returns how many,
 * or -errno.
 */
int conntrack_revoke(const struct pinhole *p, uint32_t mark);

#endif
