/*
 * Endpoint mapper (EPM) stubs: ept_lookup (opnum 2) and ept_map (opnum 3)
 * in NDR and NDR64, and the protocol towers they carry (DCE 1.1 Appendix L,
 * MS-RPCE 2.2.1.1).  Pure: bytes in, structs out.
 */
#ifndef RPCGATE_EPM_H
#define RPCGATE_EPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uuid.h"

enum epm_op {
	EPM_OP_LOOKUP = 2,
	EPM_OP_MAP = 3,
};

enum ndr_syntax {
	NDR_SYNTAX_NDR,
	NDR_SYNTAX_NDR64,
};

enum epm_proto {
	EPM_PROTO_TCP,
	EPM_PROTO_UDP,
	EPM_PROTO_HTTP,
};

/* ept_max_annotation_size in the DCE IDL */
#define EPM_ANNOTATION_MAX 64

/* One endpoint advertised by a tower that names a port. */
struct epm_endpoint {
	struct uuid iface;
	uint16_t iface_major;
	uint16_t iface_minor;
	enum epm_proto proto;
	uint16_t port;
	bool has_addr;
	uint8_t addr[4];	/* floor 0x09, IPv4, network order */
};

/* What the client asked; the answer is judged against it. */
struct epm_request {
	enum epm_op op;
	bool has_iface;		/* map: floor 1 of map_tower; lookup: interface_id */
	struct uuid iface;
	uint16_t iface_major;
	uint32_t max_results;	/* max_towers or max_ents */
	uint32_t inquiry_type;	/* lookup only */
};

typedef void (*epm_endpoint_fn)(void *arg, const struct epm_endpoint *ep);

/* Returns true when the stub is a well-formed request of this op. */
bool epm_parse_request(enum epm_op op, const uint8_t *stub, size_t len,
		       bool big_endian, enum ndr_syntax syntax,
		       struct epm_request *req);

/*
 * Decodes a response to req.  Endpoints are reported through fn only when
 * the whole stub is well formed, the result count fits what was asked and
 * the status is 0, so a bad answer yields nothing at all.  Returns the
 * number of endpoints reported, or -1 when the stub is malformed.
 * *status receives the call's status when it could be read.
 */
int epm_parse_response(const struct epm_request *req, const uint8_t *stub,
		       size_t len, bool big_endian, enum ndr_syntax syntax,
		       uint32_t *status, epm_endpoint_fn fn, void *arg);

/*
 * Decodes tower octets.  Returns 1 with *ep filled when the tower names a
 * TCP, UDP or HTTP port, 0 when it is well formed but has no port (named
 * pipes, local RPC), -1 when malformed.
 */
int epm_parse_tower(const uint8_t *octets, size_t len, struct epm_endpoint *ep);

/* Short name of a well-known interface ("EMSMDB", "NSPI", ...), or NULL. */
const char *epm_iface_name(const struct uuid *iface);
const char *epm_proto_name(enum epm_proto proto);

extern const struct uuid epm_iface_uuid;
extern const struct uuid ndr_syntax_uuid;
extern const struct uuid ndr64_syntax_uuid;

#endif
