/*
 * The policy: whether one endpoint advertised in an endpoint-mapper answer
 * may open a pinhole, decided by one function on a record of the facts it
 * needs.  The first decision and the re-check after a reload call it on
 * the same facts (the pinhole record keeps them), so the two cannot
 * disagree.  Also the queries on the configured servers and groups that
 * the configuration loader and the logs share.
 */
#ifndef RPCGATE_POLICY_H
#define RPCGATE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "epm.h"
#include "nft.h"

enum gate_reason {
	GATE_OPEN,
	GATE_NOT_SERVER,
	GATE_LOOKUP,
	GATE_IFACE,
	GATE_NOT_ASKED,
	GATE_PROTO,
	GATE_PORT_RANGE,
	GATE_PORT_DENIED,
	GATE_TOWER_ADDR,
	GATE_CLIENT_CAP,
	GATE_TOTAL_CAP,
	GATE_FIXED,		/* a fixed port: already open to all clients */
	GATE_DRIFT,		/* fixed mode, and not a fixed port */
};
#define GATE_N_REASONS (GATE_DRIFT + 1)

/* Everything a decision reads: who asked whom what, and what came back. */
struct policy_facts {
	uint8_t family;			/* of the conversation */
	uint8_t client[16];
	uint8_t epm_server[16];		/* the endpoint mapper that answered */
	enum epm_op op;			/* map or lookup */
	bool has_asked_iface;		/* the interface the client asked for */
	struct uuid asked_iface;
	/* the advertised endpoint */
	struct uuid iface;
	enum epm_proto proto;
	uint16_t port;
	bool has_addr;			/* the tower's IPv4 address floor */
	uint8_t addr[4];
};

void policy_facts_of(uint8_t family, const uint8_t *client,
		     const uint8_t *epm_server, const struct epm_request *req,
		     const struct epm_endpoint *ep, struct policy_facts *out);

/*
 * The decision.  A tower naming another configured server is about that
 * server, and that server's group judges it (interfaces, mode, fixed
 * ports, lookups); the answering endpoint mapper only has to be a
 * configured server.  out is the pinhole the endpoint leads to, filled in
 * for GATE_OPEN and for every reason about the endpoint's port
 * (GATE_PORT_RANGE, GATE_PORT_DENIED, GATE_FIXED, GATE_DRIFT); its
 * server is the host whose group decided.
 */
enum gate_reason policy_decide(const struct rpcgate_config *cfg,
			       const struct policy_facts *facts,
			       struct pinhole *out);

bool policy_has_server(const struct rpcgate_config *cfg, uint8_t family,
		       const uint8_t *addr);
/* The policy of the group a server belongs to, or NULL. */
const struct server_policy *policy_of_server(const struct rpcgate_config *cfg,
					     uint8_t family,
					     const uint8_t *addr);
bool policy_allows_iface(const struct server_policy *p,
			 const struct uuid *iface);
/* Whether port is one of a fixed policy's ports for this interface. */
bool policy_fixed_port(const struct server_policy *p,
		       const struct uuid *iface, uint16_t port);
/* Whether port is in deny_ports. */
bool policy_denies_port(const struct rpcgate_config *cfg, uint16_t port);

#endif
