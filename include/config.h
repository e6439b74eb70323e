/*
 * rpcgate.conf (libconfig syntax), documented key by key in
 * conf/rpcgate.conf.  Loading either yields a complete, validated policy
 * or reports every problem as "file:line: message" and yields nothing, so
 * a bad file on reload leaves the running policy untouched.
 */
#ifndef RPCGATE_CONFIG_H
#define RPCGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "uuid.h"

#define CONFIG_DEFAULT_PATH "/etc/rpcgate/rpcgate.conf"
/* sysexits.h EX_CONFIG: what `rpcgated -t` returns for a bad file */
#define CONFIG_EXIT_INVALID 78

#define CONFIG_MAX_SERVERS 256
#define CONFIG_MAX_IFACES 64
#define CONFIG_MAX_PORTS 64
#define CONFIG_MAX_GROUPS 16
#define CONFIG_MAX_FIXED 32
#define CONFIG_NAME_MAX 64
#define CONFIG_PATH_MAX 256
#define CONFIG_DEFAULT_STATE_FILE "/run/rpcgate/state/pinholes"

struct addr_prefix {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t len;		/* prefix length in bits */
	uint8_t addr[16];	/* network order; host bits are zero */
};

enum on_failure {
	ON_FAILURE_OPEN,	/* EPM traffic passes when the daemon is gone */
	ON_FAILURE_CLOSED,	/* EPM traffic is dropped */
};

enum nft_mode {
	NFT_MODE_TABLE,		/* rpcgate's own table, created and removed */
	NFT_MODE_SETS,		/* only sets, in the administrator's table */
};

enum server_mode {
	MODE_DYNAMIC,		/* answers open pinholes to advertised ports */
	MODE_FIXED,		/* only the fixed ports; anything else is drift */
};

struct fixed_port {
	bool any_iface;		/* a plain port: any allowed interface */
	struct uuid iface;
	uint16_t port;
};

/*
 * What the endpoint mappers of one group may advertise.  groups[0] is the
 * top level; each entry of the `groups` list is one more, starting as a
 * copy of the top level and overriding what it sets.
 */
struct server_policy {
	bool any_iface;
	size_t n_ifaces;
	struct uuid ifaces[CONFIG_MAX_IFACES];
	enum server_mode mode;
	size_t n_fixed;
	struct fixed_port fixed[CONFIG_MAX_FIXED];
	bool fixed_require_lookup;	/* fixed ports only after a lookup */
	bool allow_lookup;		/* ept_lookup answers open pinholes */
	unsigned line;			/* where the group starts; 0 top level */
};

struct rpcgate_config {
	/* who may open pinholes, and to what */
	size_t n_servers;
	struct addr_prefix servers[CONFIG_MAX_SERVERS];
	uint8_t server_group[CONFIG_MAX_SERVERS];	/* index into groups */
	size_t n_groups;		/* at least 1: the top level */
	struct server_policy groups[CONFIG_MAX_GROUPS + 1];
	uint32_t pinhole_timeout;	/* seconds */
	uint16_t port_min, port_max;
	size_t n_deny_ports;
	uint16_t deny_ports[CONFIG_MAX_PORTS];
	size_t n_epm_ports;
	uint16_t epm_ports[CONFIG_MAX_PORTS];

	/* caps; over a cap the answer passes and the refusal is logged */
	uint32_t max_pinholes_per_client;
	uint32_t max_pinholes;
	uint32_t max_flows;
	uint32_t max_flows_per_client;	/* followed connections of one address */
	uint32_t max_udp_flows_per_client;	/* UDP conversations, likewise */
	uint32_t max_buffer_bytes;	/* per direction of a tracked flow */
	uint32_t max_held_segments;	/* out-of-order runs, per direction */
	uint32_t max_call_bytes;	/* one fragmented call, joined */
	uint32_t flow_idle_timeout;	/* seconds */
	uint32_t flow_handshake_timeout;	/* seconds a flow may stay half-open */
	/* the IPv6 prefix that counts as one host for fairness (host_key) */
	uint32_t ipv6_host_prefix;
	uint32_t control_max_clients;	/* control connections at once */
	uint32_t control_timeout;	/* seconds for one request and answer */
	/* repeating decision lines: at most log_burst of a kind per log_interval */
	uint32_t log_burst;
	uint32_t log_interval;		/* seconds */

	/* kernel side */
	enum on_failure on_failure;
	bool revoke_established;
	uint16_t queue_num;
	uint32_t queue_max_len;		/* packets waiting for a verdict */
	enum nft_mode nft_mode;
	char nft_table[CONFIG_NAME_MAX];	/* inet family */
	/* the pinholes and their facts, for a restart; "" for none */
	char state_file[CONFIG_PATH_MAX];
	uint32_t pinhole_mark;		/* ct mark bit for ruleset shape (b) */
	uint32_t reverse_path_mark;	/* packet mark bit: a forged answer */
	/* an HA pair: pinholes travel as conntrack entries (conntrackd) */
	bool sync_pinholes;
	uint32_t sync_mark;		/* ct mark bit of those entries */
	uint32_t published_mark;	/* packet mark bit: a DNAT conversation */
	int log_verbose;		/* 0 decisions only, 1 debug */
};

void config_defaults(struct rpcgate_config *cfg);

/*
 * Reads path over the defaults.  Every problem (syntax, unknown key, wrong
 * type, bad address, UUID or range) is written to errors as
 * "path:line: message\n".  Returns the number of problems; cfg is only
 * meaningful when that is 0.
 */
int config_load(const char *path, struct rpcgate_config *cfg, FILE *errors);

bool prefix_contains(const struct addr_prefix *p, uint8_t family,
		     const uint8_t *addr);
/* Parses "198.51.100.0/24", "2001:db8::/32" or a bare address. */
bool prefix_parse(const char *text, struct addr_prefix *p);
/* INET6_ADDRSTRLEN (46, with its NUL) and "/128" */
#define PREFIX_TEXT_MAX 50
/* "198.51.100.0/24"; a single address is written with /32 or /128. */
void prefix_format(const struct addr_prefix *p, char out[PREFIX_TEXT_MAX]);

#endif
