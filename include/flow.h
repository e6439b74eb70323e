/*
 * The table of endpoint-mapper conversations being followed.  A TCP flow
 * is created by a client's SYN to an EPM port and lives until both sides
 * have finished, a RST, or it idles out; each packet goes to its
 * direction's stream, and the in-order bytes to the DCE/RPC decoder.  A
 * UDP flow (connectionless DCE/RPC) is created by a client's request to an
 * EPM port and lives until it idles out; each datagram goes to the
 * connectionless decoder.  Live traffic
 * and replayed captures come through the same function.
 *
 * No client can take the table for itself: each client address may hold
 * only so many flows of each protocol; a flow is half-open until the
 * server has spoken and (TCP) the client acknowledged it, and half-open
 * flows are forgotten after a few seconds; when the table is full, the
 * host (an IPv4 address or an IPv6 prefix, host_key) holding the most
 * flows gives one up for the newcomer.  Every such step costs O(1).
 */
#ifndef RPCGATE_FLOW_H
#define RPCGATE_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcerpc.h"
#include "dcerpc_cl.h"
#include "packet.h"
#include "tcp_stream.h"

#define FLOW_MAX_EPM_PORTS 64

struct rpcgate_config;

struct flow_config {
	size_t max_flows;		/* EPM connections tracked at once */
	size_t max_tcp_per_client;	/* followed connections of one address */
	size_t max_udp_per_client;	/* UDP conversations of one address */
	size_t max_stream_bytes;	/* per direction: waiting + out of order */
	size_t max_held_segments;	/* per direction: out-of-order runs */
	size_t max_call_bytes;		/* joined stub of one fragmented call */
	uint64_t idle_timeout_us;
	uint64_t handshake_timeout_us;	/* half-open; at most idle_timeout_us */
	unsigned host_v6_prefix;	/* what one host is, for fairness */
	uint32_t hash_seed;
	/* the packet mark bit the kernel rules set on an answer that failed
	 * the reverse-path check; 0: no such rules (replay) */
	uint32_t reverse_path_mark;
	size_t n_epm_ports;
	uint16_t epm_ports[FLOW_MAX_EPM_PORTS];
};

/*
 * Defaults: 4096 flows, 256 per client address and protocol, 64 KiB and
 * 256 out-of-order runs per direction, 256 KiB per call, 5 min idle, 5 s
 * half-open, IPv6 hosts /64.
 */
void flow_config_defaults(struct flow_config *cfg);
/* Adds an EPM server port; false when the list is full. */
bool flow_config_add_port(struct flow_config *cfg, uint16_t port);
/*
 * The flow limits and EPM ports a policy sets, over cfg (its hash_seed
 * stays): what the daemon follows, and what a replay with -c follows.
 */
void flow_config_from_policy(struct flow_config *cfg,
			     const struct rpcgate_config *policy);

struct flow_key {
	uint8_t family;
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t client[16];
	uint8_t server[16];
	uint16_t client_port;
	uint16_t server_port;
};

/* A doubly linked list of flows, oldest first. */
struct flow_list {
	struct flow *oldest, *newest;
};

struct flow_links {
	struct flow *older, *newer;
};

/* A client address (prefix 128) or a host (host_key) and what it holds. */
struct flow_holder {
	struct host_key key;
	struct flow_holder *hash_next;
	size_t n_flows[2];		/* [0] TCP, [1] UDP */
	/* hosts only: in the table's list of hosts holding as many */
	struct flow_holder *fewer, *more;
	struct flow_list halfopen, established;
};

struct flow {
	struct flow_key key;
	struct flow *hash_next;
	/* in the table's and the host's lists: halfopen (by creation) or
	 * established (idle order) */
	struct flow_links table_links, host_links;
	struct flow_holder *client, *host;
	uint64_t created_us, last_seen_us;
	bool server_spoke;
	bool established;	/* the handshake completed; the server answered */
	bool desync;
	/* where each direction's first packet came in (by enum dce_dir);
	 * zero: not seen yet, or not known (replay) */
	struct flow_ingress {
		uint32_t ifindex, phys_ifindex;
	} ingress[2];
	struct tcp_stream stream[2];	/* by enum dce_dir */
	struct dce_conn dce;
	struct dce_cl_conn *cl;		/* UDP flows only */
};

struct flow_stats {
	uint64_t flows_tracked;
	uint64_t flows_refused;		/* table full, the newcomer's host the biggest */
	uint64_t flows_refused_client;	/* max_*_per_client */
	uint64_t flows_evicted;		/* table full, the biggest host gave way */
	uint64_t flows_desync;
	uint64_t flows_expired;
	uint64_t flows_halfopen_expired;
	uint64_t endpoints;
	uint64_t forged;		/* packets refused: enum flow_forgery */
};

struct flow_table {
	struct flow_config cfg;
	struct flow **buckets;
	size_t bucket_mask;
	size_t n_flows;
	struct flow_list halfopen, established;
	/* client addresses and hosts, hashed like the flows */
	struct flow_holder **clients, **hosts;
	/* hosts by how many flows they hold: by_count[n] lists those with n */
	struct flow_holder **by_count;
	size_t n_counts;		/* entries of by_count */
	size_t max_count;		/* the biggest holder's count */
	struct flow_stats stats;
};

typedef void (*flow_endpoint_fn)(void *arg, const struct flow *flow,
				 const struct dce_answer *ans,
				 const struct epm_endpoint *ep);

bool flow_table_init(struct flow_table *t, const struct flow_config *cfg);
/*
 * New limits for a running table (a reload); its hash seed stays.  False,
 * with the table unchanged, when there is no memory for a larger max_flows.
 */
bool flow_table_configure(struct flow_table *t, const struct flow_config *cfg);
void flow_table_release(struct flow_table *t);

/* Why flow_table_packet refused a packet: the caller must drop it. */
enum flow_forgery {
	/* the kernel marked it (cfg.reverse_path_mark): from a server's
	 * EPM port, but it came in where the route to the server does not
	 * leave */
	FLOW_FORGED_REVERSE_PATH = -1,
	/* a direction of a followed conversation that came in on another
	 * interface (or bridge port) than that direction's first packet */
	FLOW_FORGED_INGRESS = -2,
};

/*
 * Follows one packet.  Endpoints of the EPM answers it completes go to fn;
 * returns how many there were (0 or more), or a negative enum
 * flow_forgery: the packet was not decoded and must be dropped.  A zero
 * pkt->in.ifindex (replay) is not checked.
 */
int flow_table_packet(struct flow_table *t, const struct packet *pkt,
		      uint64_t now_us, flow_endpoint_fn fn, void *arg);

/* Forgets flows idle for longer than the configured timeout, and half-open
 * ones older than the handshake timeout. */
void flow_table_expire(struct flow_table *t, uint64_t now_us);

#endif
