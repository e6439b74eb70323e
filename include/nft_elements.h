/*
 * Pinhole set elements and DNAT map entries as batch messages, and
 * reading back what the kernel says of one element.  No I/O: nft.c
 * sends the batches and the queries.
 */
#ifndef RPCGATE_NFT_ELEMENTS_H
#define RPCGATE_NFT_ELEMENTS_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>

#include "nft_batch.h"

struct pinhole {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;		/* host order */
	uint8_t client[16];
	uint8_t server[16];
};

/* client . server . l4proto . port, each padded to 4 bytes */
#define NFT_PINHOLE_KEY_MAX 40
void nft_pinhole_key(const struct pinhole *p, uint8_t key[NFT_PINHOLE_KEY_MAX],
		     uint32_t *len);

/*
 * How an element is written.  An add of an element the kernel holds is
 * no error (no NLM_F_EXCL), but keeps the old timeout unless the kernel
 * can update it (Linux 6.10, "netfilter: nf_tables: set element timeout
 * update support", and the add says the expiration).
 */
enum nft_element_write {
	NFT_ELEMENT_KEEP,	/* nothing: the element has time enough */
	NFT_ELEMENT_ADD,	/* one add: the kernel does not hold it */
	/*
	 * One add that also sets the expiration: creates the element, or
	 * renews one the kernel holds where it updates timeouts.
	 */
	NFT_ELEMENT_REFRESH,
	/*
	 * Add, delete, add: renews the timeout on any kernel, atomically,
	 * but the delete queues nf_tables' deferred destroy work, which
	 * closing a netfilter socket waits for (~15 ms).
	 */
	NFT_ELEMENT_REPLACE,
};

void nft_batch_pinhole_add(struct nft_batch *b, const struct pinhole *p,
			   uint32_t timeout_s, enum nft_element_write how);
void nft_batch_pinhole_del(struct nft_batch *b, const struct pinhole *p);
/*
 * A pinhole of an earlier run into a set that lacks it: remaining_ms
 * left now, timeout_s again after each new connection.
 */
void nft_batch_pinhole_adopt(struct nft_batch *b, const struct pinhole *p,
			     uint32_t timeout_s, uint64_t remaining_ms);
/*
 * A published (DNAT) server: the client reaches it as public_addr; new
 * connections from the client to public_addr and the pinhole's port are
 * translated to the server.
 */
void nft_batch_dnat_add(struct nft_batch *b, const struct pinhole *p,
			const uint8_t *public_addr, uint64_t timeout_ms,
			enum nft_element_write how);
void nft_batch_dnat_del(struct nft_batch *b, const struct pinhole *p,
			const uint8_t *public_addr);

/* What a GETSETELEM answer says of an element. */
struct nft_element_state {
	int64_t ms;
	bool counted;
	uint64_t packets;
};

/* A mnl callback filling a struct nft_element_state. */
int nft_element_state_cb(const struct nlmsghdr *nlh, void *data);

#endif
