/*
 * rpcgate's ruleset, built as nftables messages without talking to the
 * kernel (nft.c sends them), and the ruleset printed for an
 * administrator's router (--print-ruleset).  Both are made from one
 * description of the configuration (struct nft_ruleset), so that the
 * printed ruleset names the servers and ports as the table holds them;
 * tests/unit/test_nft_rules.c keeps golden files of both.
 *
 * The table (inet, name from the config):
 *   set servers4/servers6   the configured endpoint mappers (intervals)
 *   set epm_ports           TCP ports the endpoint mappers listen on
 *   set pinholes4/pinholes6 client . server . l4proto . port, with timeouts
 *   set fixed4/fixed6       server . port of fixed-mode groups, open to all
 *   map dnat4/dnat6         client . public address . l4proto . port :
 *                           server . port, for published servers
 *   set pure_acks4/6        (IP length word . TCP data offset and flags)
 *                           of a TCP segment without payload, SYN, FIN
 *                           or RST: the queue rules skip those
 *   chain answers           prerouting, priority raw - 10: answers failing
 *                           the reverse path -> mark, queue (the daemon
 *                           drops them)
 *   chain prerouting        nat, priority dstnat - 10: the DNAT map
 *   chain forward           hook forward, priority filter - 10, policy accept:
 *     EPM traffic to or from a server        -> queue to the daemon (no
 *                                               pure ACKs; the server's
 *                                               packets of DNAT connections
 *                                               marked with published_mark)
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
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "nft_batch.h"

/* An inclusive address range of one family (addr_len bytes used). */
struct nft_range {
	uint8_t first[16];
	uint8_t last[16];
};

/* A set's declaration, as the batch creates it and the printer prints it. */
struct nft_set_spec {
	const char *table;
	const char *name;
	uint32_t flags;			/* NFT_SET_* */
	uint32_t key_type, key_len;
	uint32_t data_type, data_len;	/* maps only */
	uint32_t size;			/* 0: the kernel's default */
	uint8_t fields[2];		/* concatenated interval keys: part lengths */
	uint32_t n_fields;
	bool counter;			/* each element counts what matches it */
};

/*
 * The ports of one fixed-mode group that does not ask for a lookup first,
 * open to every client: each of its server ranges . each port.
 */
struct nft_fixed_group {
	size_t first_range, n_ranges;	/* in nft_family_rules.fixed_ranges */
	size_t n_ports;
	uint16_t ports[CONFIG_MAX_FIXED];	/* host order, no repeats */
};

/* What one address family puts into the ruleset. */
struct nft_family_rules {
	const struct nft_family *family;
	uint8_t af;			/* AF_INET or AF_INET6 */
	/* every server prefix, sorted, overlapping and adjacent ones merged
	 * (the kernel refuses overlapping interval elements) */
	size_t n_servers;
	struct nft_range servers[CONFIG_MAX_SERVERS];
	size_t n_fixed_groups;
	struct nft_fixed_group fixed_groups[CONFIG_MAX_GROUPS + 1];
	size_t n_fixed_ranges;
	struct nft_range fixed_ranges[CONFIG_MAX_SERVERS];
	struct nft_set_spec servers_set, fixed_set, dnat_map, pinholes_set;
	struct nft_set_spec pure_acks_set;	/* constant: not queued */
};

/*
 * Everything the installed table and the printed ruleset are made of,
 * computed from the configuration alone, so that both say the same.
 */
struct nft_ruleset {
	const struct rpcgate_config *cfg;
	struct nft_set_spec epm_ports_set;	/* its elements: cfg->epm_ports */
	struct nft_family_rules families[2];	/* IPv4, IPv6 */
};

void nft_ruleset_describe(const struct rpcgate_config *cfg, struct nft_ruleset *rs);

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
