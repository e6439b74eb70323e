/*
 * All nftables netlink I/O: rpcgate's table, its sets and rules, and the
 * pinhole elements, written with libnftnl in batches over one libmnl
 * socket.  Every batch is atomic; a kernel error is mapped back by sequence
 * number to the message that caused it.
 *
 * The table (inet, name from the config):
 *   set servers4/servers6   the configured endpoint mappers (intervals)
 *   set epm_ports           TCP ports the endpoint mappers listen on
 *   set pinholes4/pinholes6 client . server . l4proto . port, with timeouts
 *   set fixed4/fixed6       server . port of fixed-mode groups, open to all
 *   map dnat4/dnat6         client . public address . l4proto . port :
 *                           server . port, for published servers
 *   chain prerouting        nat, priority dstnat - 10: the DNAT map
 *   chain forward           hook forward, priority filter - 10, policy accept:
 *     EPM traffic to or from a server        -> queue to the daemon
 *     new connection to a fixed port         -> mark, accept
 *     new connection matching a pinhole      -> refresh it, mark the
 *                                               conntrack entry, accept
 *     other new connection to a server port
 *     inside the pinhole port range          -> drop
 * In "sets" mode the pinhole sets are in the administrator's table, whose
 * ruleset carries the pinhole rule (--print-ruleset); rpcgated's own table
 * (rpcgate_queue) keeps the rest.
 */
#ifndef RPCGATE_NFT_H
#define RPCGATE_NFT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct pinhole {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;		/* host order */
	uint8_t client[16];
	uint8_t server[16];
};

enum nft_queue_kind {
	NFT_QUEUE_NATIVE,	/* the nft "queue" expression */
	NFT_QUEUE_XT,		/* xtables NFQUEUE target through nft_compat */
};

struct nft;
struct nft_batch;

struct nft *nft_open(void);
void nft_close(struct nft *n);

/*
 * Creates the table (or, on reload, replaces its server and port sets and
 * its rules, keeping the pinholes) in one atomic batch.  The native queue
 * expression is tried first and the xtables target if the kernel lacks it.
 * Returns 0, or -errno with a description in err.
 */
int nft_install(struct nft *n, const struct rpcgate_config *cfg, bool reload,
		char *err, size_t errlen);
enum nft_queue_kind nft_queue_kind(const struct nft *n);
/*
 * 1 while the table rpcgated installed (its own, or in sets mode its
 * queue table) is there, 0 once something removed it (`nft flush
 * ruleset`, an `nft -f` of a file that starts with it), -errno when the
 * kernel could not be asked.
 */
int nft_table_present(struct nft *n, const struct rpcgate_config *cfg);
/* Deletes rpcgate's table, or in sets mode flushes the pinhole sets. */
int nft_remove(struct nft *n, const struct rpcgate_config *cfg);

struct nft_batch *nft_batch_begin(struct nft *n, const struct rpcgate_config *cfg);
void nft_batch_pinhole_add(struct nft_batch *b, const struct pinhole *p,
			   uint32_t timeout_s);
void nft_batch_pinhole_del(struct nft_batch *b, const struct pinhole *p);
/*
 * A published (DNAT) server: the client reaches it as public_addr; new
 * connections from the client to public_addr and the pinhole's port are
 * translated to the server.
 */
void nft_batch_dnat_add(struct nft_batch *b, const struct pinhole *p,
			const uint8_t *public_addr, uint64_t timeout_ms);
void nft_batch_dnat_del(struct nft_batch *b, const struct pinhole *p,
			const uint8_t *public_addr);
/* Sends the batch, waits for the kernel's answer, frees the batch. */
int nft_batch_commit(struct nft_batch *b, char *err, size_t errlen);

/*
 * Milliseconds the kernel still gives a pinhole (traffic refreshes it), or
 * -ENOENT once it expired.  With admitted: the new connections the
 * pinhole let in since it was last opened or re-advertised (its element's
 * counter), or -1 where the set counts nothing (nft_mode "sets").
 */
int64_t nft_pinhole_remaining(struct nft *n, const struct rpcgate_config *cfg,
			      const struct pinhole *p, int64_t *admitted);

/* A complete ruleset for a forward-policy-drop router, for `nft -f`. */
void nft_print_ruleset(FILE *out, const struct rpcgate_config *cfg);

#endif
