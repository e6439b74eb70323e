/*
 * rpcgate's ruleset, built as nftables messages without talking to the
 * kernel (nft.c sends them), and the ruleset printed for an
 * administrator's router (--print-ruleset).
 *
 * The table (inet, name from the config):
 *   set servers4/servers6   the configured endpoint mappers (intervals)
 *   set epm_ports           TCP ports the endpoint mappers listen on
 *   set pinholes4/pinholes6 client . server . l4proto . port, with timeouts
 *   set fixed4/fixed6       server . port of fixed-mode groups, open to all
 *   map dnat4/dnat6         client . public address . l4proto . port :
 *                           server . port, for published servers
 *   chain answers           prerouting, priority raw - 10: answers failing
 *                           the reverse path -> mark, queue (the daemon
 *                           drops them)
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
#ifndef RPCGATE_NFT_RULES_H
#define RPCGATE_NFT_RULES_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "nft_batch.h"

enum nft_queue_kind {
	NFT_QUEUE_NATIVE,	/* the nft "queue" expression */
	NFT_QUEUE_XT,		/* xtables NFQUEUE target through nft_compat */
};

/*
 * The whole table (or, on reload, the messages that replace its server
 * and port sets and its rules, keeping the pinholes), queueing with kind.
 */
void nft_rules_build(struct nft_batch *b, bool reload, enum nft_queue_kind kind);
/*
 * The whole table in place of whatever is left of it (all of it, some
 * of it, none), in the same batch: nothing in between is ever live.
 */
void nft_rules_build_replace(struct nft_batch *b, enum nft_queue_kind kind);
/* Deletes rpcgate's table, or (pinhole_sets) flushes the pinhole sets. */
void nft_rules_build_remove(struct nft_batch *b, bool pinhole_sets);

/* A complete ruleset for a forward-policy-drop router, for `nft -f`. */
void nft_print_ruleset(FILE *out, const struct rpcgate_config *cfg);

#endif
