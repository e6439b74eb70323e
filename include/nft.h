/*
 * The nftables session: one libmnl socket, opened once, that sends
 * rpcgate's batches (built by nft_rules.c and nft_elements.c, in
 * nft_batch.c's buffers) and its few queries and dumps.  Every batch is
 * atomic; a kernel error is mapped back by sequence number to the
 * message that caused it.  A second socket, also opened once, hears the
 * nftables events (someone else's changes) for the event loop; what they
 * and the dumps mean is nft_watch.c's to say.
 */
#ifndef RPCGATE_NFT_H
#define RPCGATE_NFT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "nft_elements.h"
#include "nft_rules.h"
#include "nft_watch.h"

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

/* A pinhole of an earlier run, to go back into the kernel at start. */
struct nft_adopted {
	struct pinhole key;
	uint64_t remaining_ms;
	bool published;		/* and then its DNAT mapping, for dnat_ms */
	uint8_t public_addr[16];
	uint64_t dnat_ms;
};
/*
 * The start (nft_install without reload is this without pinholes): one
 * atomic batch takes over the table an earlier run left -- its chains
 * and sets flushed and refilled as on reload, or, when it has another
 * shape, deleted and made anew -- or creates it, and puts pins in it with
 * their remaining time; the pinhole sets (in sets mode the
 * administrator's) hold only pins.  Refused, it changes nothing.
 * Returns 0, or -errno with err.
 */
int nft_install_adopting(struct nft *n, const struct rpcgate_config *cfg,
			 const struct nft_adopted *pins, size_t n_pins,
			 char *err, size_t errlen);
/*
 * Whether rpcgated's tables, chains, rules and sets are what it installs
 * (GETTABLE, GETCHAIN, GETSET, GETRULE and GETSETELEM dumps against an
 * install batch built in memory), and in sets mode whether the
 * administrator's pinhole sets are there and not replaced since base
 * (nft_watch.h).  0 with *d filled, or -errno when the kernel could not
 * be asked.
 */
int nft_ruleset_check(struct nft *n, const struct rpcgate_config *cfg,
		      struct nft_watch_baseline *base, struct nft_damage *d);
/*
 * The elements the pinhole sets hold now, with the milliseconds each has
 * left (a set not there holds none): how many of the two sets were
 * there, or -errno.
 */
int nft_pinholes_held(struct nft *n, const struct rpcgate_config *cfg,
		      struct nft_held_pinholes *h);
/*
 * A batch that begins by putting the whole table in place of what is
 * left of it, queueing as at install; the caller adds the pinholes and
 * commits it (nft_batch_commit).
 */
struct nft_batch *nft_repair_begin(struct nft *n, const struct rpcgate_config *cfg);

/*
 * The nftables events (NFNLGRP_NFTABLES) on a second, non-blocking
 * netlink socket of the session, for the daemon's event loop.
 * nft_events_read reads what is queued, a bounded number of reads
 * (*more: it stopped before the socket was empty), and counts the events
 * that deleted or flushed something of rpcgated's and came from someone
 * else -- and the times the kernel dropped events (ENOBUFS), which may
 * have.
 */
struct nft_events;
struct nft_events *nft_events_open(const struct nft *n);
void nft_events_close(struct nft_events *ev);
int nft_events_fd(const struct nft_events *ev);
unsigned nft_events_read(struct nft_events *ev, const struct rpcgate_config *cfg,
			 bool *more);

/*
 * 1 while the table rpcgated installs (its own, or in sets mode its
 * queue table) is there, 0 when it is not, -errno when the kernel could
 * not be asked.
 */
int nft_table_present(struct nft *n, const struct rpcgate_config *cfg);
/*
 * Deletes rpcgate's table (in sets mode: its queue table, and empties the
 * pinhole sets in the administrator's); what is not there is no error.
 * The daemon leaves its table when it stops; `rpcgated --remove` calls
 * this.
 */
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
