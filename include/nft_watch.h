/*
 * What rpcgated's nftables objects should look like, and reading what the
 * kernel says of them -- without talking to the kernel (nft.c sends the
 * dumps and reads the events).
 *
 * The expected objects are read back from an install batch that
 * nft_rules_build puts together in memory: its tables, its chains with
 * the number of rules each gets, its sets with the number of elements
 * rpcgated puts in the fixed ones (servers, endpoint-mapper ports, fixed
 * ports).  The answers to GETTABLE, GETCHAIN, GETRULE, GETSET and
 * GETSETELEM dumps are then fed in, message by message, and what is
 * missing is judged and named for the warning.  NFNLGRP_NFTABLES events
 * are judged here too: whether one concerns rpcgated's objects and came
 * from someone else.
 */
#ifndef RPCGATE_NFT_WATCH_H
#define RPCGATE_NFT_WATCH_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "nft_elements.h"
#include "nft_rules.h"

/* tables, chains and sets of an install batch (about twenty) */
#define NFT_WATCH_MAX_OBJECTS 48

enum nft_object_kind { NFT_OBJECT_TABLE, NFT_OBJECT_CHAIN, NFT_OBJECT_SET };

struct nft_object {
	enum nft_object_kind kind;
	char table[CONFIG_NAME_MAX];
	char name[CONFIG_NAME_MAX];	/* a table's is its own */
	bool foreign;		/* the administrator's table (nft_mode "sets") */
	bool fixed_elements;	/* a set whose elements rpcgated puts in */
	bool pinholes;		/* pinholes4 or pinholes6 */
	uint32_t expected;	/* rules of a chain, elements of a fixed set */
	/* what the kernel's dumps said */
	bool present;
	uint32_t found;
	uint64_t handle;	/* a table's or a set's */
};

struct nft_expected {
	size_t n;
	struct nft_object o[NFT_WATCH_MAX_OBJECTS];
	bool overflow;		/* more objects than fit: the check says so */
};

/*
 * mnl_nlmsg_ok, also for a length past 2 GiB (libmnl 1.0.4 reads it as
 * negative, and fits): for walking messages read from a socket.
 */
bool nft_message_ok(const struct nlmsghdr *nlh, int left);

/* The objects an install batch for cfg creates; false when out of memory. */
bool nft_expected_build(struct nft_expected *x, const struct rpcgate_config *cfg,
			enum nft_queue_kind kind);
/*
 * One message of a dump answer (NEWTABLE, NEWCHAIN, NEWRULE, NEWSET or
 * NEWSETELEM, as the kernel sends them): marks what it shows present,
 * counts rules and elements, notes handles.
 */
void nft_expected_observe(struct nft_expected *x, const struct nlmsghdr *nlh);

/*
 * The pinhole sets' tables and sets as last seen whole: a set the
 * administrator's `nft -f` recreated has a new handle, and none of its
 * elements.
 */
struct nft_watch_baseline {
	bool known;
	uint64_t table_handle[2], set_handle[2];	/* IPv4, IPv6 */
};

struct nft_damage {
	bool replace;		/* rpcgated's table must be installed again */
	bool foreign_table_gone;	/* nowhere to put the pinhole sets */
	bool pinholes_suspect;	/* a pinhole set may have lost elements */
	char what[512];		/* what was removed, for the warning */
};

/*
 * What the observed dumps lack against what was installed.  base is
 * compared with the pinhole sets' handles (a change: the sets were
 * emptied) and, when nothing is wrong, updated.
 */
void nft_expected_judge(struct nft_expected *x, struct nft_watch_baseline *base,
			struct nft_damage *d);
/* Appends to the damage's description ("; " between parts). */
void nft_damage_note(struct nft_damage *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Whether an NFNLGRP_NFTABLES event deletes or flushes something of
 * rpcgated's (its table; in sets mode also the administrator's table
 * and pinhole sets, or their re-creation) and was sent by someone other
 * than the session whose netlink port is own_portid.
 */
bool nft_event_concerns(const struct nlmsghdr *nlh, uint32_t own_portid,
			const struct rpcgate_config *cfg);

/* The elements the kernel's pinhole sets hold, sorted by key. */
struct nft_held_pinhole {
	uint8_t key[NFT_PINHOLE_KEY_MAX];
	uint32_t len;
	uint64_t expires_ms;	/* from the dump */
};

struct nft_held_pinholes {
	size_t n, cap;
	struct nft_held_pinhole *e;
	bool failed_alloc;
};

/* One message of a GETSETELEM dump of a pinhole set. */
void nft_held_observe(struct nft_held_pinholes *h, const struct nlmsghdr *nlh);
void nft_held_sort(struct nft_held_pinholes *h);
/* Milliseconds the kernel still gives p, or -1 when it does not hold it. */
int64_t nft_held_find(const struct nft_held_pinholes *h, const struct pinhole *p);
void nft_held_release(struct nft_held_pinholes *h);

#endif
