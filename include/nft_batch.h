/*
 * An nftables batch being built in memory, before the session (nft.c)
 * sends it: its messages, what each one does (to name the one the kernel
 * refuses, by sequence number), and the pieces every builder shares --
 * the two address families' layouts, and set element lists.  No I/O.
 */
#ifndef RPCGATE_NFT_BATCH_H
#define RPCGATE_NFT_BATCH_H

#include <libnftnl/set.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * In "sets" mode the pinhole sets live in the administrator's table, but
 * the queueing needs rules only rpcgated can write (a kernel may lack the
 * nft queue expression), so they get a small table of their own.
 */
#define QUEUE_TABLE "rpcgate_queue"

/* nft's data type ids, so that `nft list` shows the sets readably */
#define TYPE_IPADDR 7
#define TYPE_IP6ADDR 8
#define TYPE_INET_PROTOCOL 12
#define TYPE_INET_SERVICE 13
#define TYPE_BITS 6

struct nft;

struct nft_family {
	uint8_t nfproto;
	uint8_t addr_len;
	uint32_t saddr_offset, daddr_offset;
	uint32_t addr_type;
	const char *servers_set;
	const char *pinholes_set;
	const char *fixed_set;
	const char *dnat_map;
	/* registers of client . server . l4proto . port */
	uint32_t reg_client, reg_server, reg_proto, reg_port;
	/* register of the port in server . port (fixed set, DNAT data) */
	uint32_t reg_port_after_addr;
};

/* What each message of a batch did, to name it when the kernel refuses. */
struct sent_message {
	uint32_t seq;
	char what[96];
	bool queue_rule;
};

struct nft_batch {
	struct nft *nft;		/* the session that sends it (opaque here) */
	uint32_t *seq;		/* its next sequence number */
	const struct rpcgate_config *cfg;
	struct nftnl_batch *batch;
	size_t n_sent, cap_sent;
	struct sent_message *sent;
	bool failed_alloc;
	uint32_t set_ids;	/* names a set within its own batch */
};
/* IPv4 and IPv6, in that order */
extern const struct nft_family nft_families[2];
const struct nft_family *nft_family_of(uint8_t af);
/* The table rpcgated's rules live in (its own, or the queue table). */
const char *nft_rules_table(const struct rpcgate_config *cfg);
/* Concatenated keys pad every field to 4 bytes. */
uint32_t nft_pinhole_key_len(const struct nft_family *f);

/* A batch whose messages take their sequence numbers from *seq. */
struct nft_batch *nft_batch_new(struct nft *owner, uint32_t *seq,
				const struct rpcgate_config *cfg);
void nft_batch_free(struct nft_batch *b);
/* Starts the next message; `what` names it in error reports. */
struct nlmsghdr *nft_batch_message(struct nft_batch *b, uint16_t type,
				   uint16_t flags, const char *what);
void nft_batch_message_done(struct nft_batch *b);

/* An element list of one set, for a message or a query. */
struct nftnl_set *nft_element_list(const char *table, const char *set);
struct nftnl_set_elem *nft_element_add(struct nftnl_set *s, const void *key,
				       uint32_t len, uint32_t flags,
				       uint64_t timeout_ms);
/* Sends a set's elements (or, with none, flushes it on delete). */
void nft_batch_put_elements(struct nft_batch *b, uint16_t type,
			    struct nftnl_set *s, const char *what);
void nft_batch_flush_set(struct nft_batch *b, const char *table,
			 const char *name);

#endif
