/*
 * The nftables session: one libmnl socket, opened once, that sends
 * rpcgate's batches (built by nft_rules.c and nft_elements.c, in
 * nft_batch.c's buffers) and its few queries.  Every batch is atomic; a
 * kernel error is mapped back by sequence number to the message that
 * caused it.
 */
#ifndef RPCGATE_NFT_H
#define RPCGATE_NFT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "nft_elements.h"
#include "nft_rules.h"

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

/*
 * Whether the kernel renews an element's timeout when it is added again
 * with NFT_ELEMENT_REFRESH (Linux 6.10): 1 or 0, found by adding an
 * element no pinhole can have with a second's timeout, adding it again
 * with an hour's, reading it back and deleting it; -errno when the
 * kernel could not be asked.
 */
int nft_probe_element_update(struct nft *n, const struct rpcgate_config *cfg);

struct nft_batch *nft_batch_begin(struct nft *n, const struct rpcgate_config *cfg);
/* Sends the batch, waits for the kernel's answer, frees the batch. */
int nft_batch_commit(struct nft_batch *b, char *err, size_t errlen);

/*
 * Milliseconds the kernel still gives a pinhole (traffic refreshes it), or
 * -ENOENT once it expired.  With admitted: the new connections the
 * pinhole let in since its element was added (its counter; an update of
 * the timeout keeps it, a replace starts it again), or -1 where the set
 * counts nothing (nft_mode "sets").
 */
int64_t nft_pinhole_remaining(struct nft *n, const struct rpcgate_config *cfg,
			      const struct pinhole *p, int64_t *admitted);

#endif
