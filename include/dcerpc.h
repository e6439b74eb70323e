/*
 * DCE/RPC connection-oriented PDUs (DCE 1.1 ch. 12, MS-RPCE 2.2.2) as one
 * side of an endpoint-mapper conversation sees them: which presentation
 * contexts carry the EPM interface and in which transfer syntax, which
 * EPM calls are outstanding, and what their answers advertise.
 * Pure: the caller feeds in-order stream bytes, gets endpoints back.
 */
#ifndef RPCGATE_DCERPC_H
#define RPCGATE_DCERPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "epm.h"

#define DCE_HDR_LEN 16

enum dce_ptype {
	DCE_REQUEST = 0,
	DCE_RESPONSE = 2,
	DCE_FAULT = 3,
	DCE_BIND = 11,
	DCE_BIND_ACK = 12,
	DCE_BIND_NAK = 13,
	DCE_ALTER_CONTEXT = 14,
	DCE_ALTER_CONTEXT_RESP = 15,
};

#define PFC_FIRST_FRAG 0x01
#define PFC_LAST_FRAG 0x02
#define PFC_OBJECT_UUID 0x80

enum dce_dir {
	DCE_FROM_CLIENT = 0,
	DCE_FROM_SERVER = 1,
};

struct dce_hdr {
	uint8_t ptype;
	uint8_t pfc_flags;
	bool big_endian;
	uint16_t frag_len;
	uint16_t auth_len;
	uint32_t call_id;
};

/* Presentation contexts remembered per connection and per bind. */
#define DCE_MAX_CONTEXTS 16
/* EPM calls a connection may have outstanding at once. */
#define DCE_MAX_CALLS 8

struct dce_reassembly {
	uint8_t *stub;
	size_t len;
	uint32_t call_id;
	uint16_t ctx_id;
	uint16_t opnum;
	bool big_endian;
	bool active;
};

struct dce_call {
	uint32_t call_id;
	uint16_t ctx_id;
	uint8_t syntax;		/* enum ndr_syntax the request was read in */
	struct epm_request req;
};

struct dce_conn {
	size_t max_stub;	/* reassembled stub bytes per call */
	bool banner_done;	/* ncacn_http/1.0 consumed, or known absent */
	uint8_t n_epm_ctx;
	struct {
		uint16_t id;
		uint8_t syntax;	/* enum ndr_syntax */
	} epm_ctx[DCE_MAX_CONTEXTS];
	bool bind_pending;
	uint8_t n_proposed;
	uint32_t bind_call_id;
	struct {
		uint16_t id;
		bool epm;
		uint8_t offered;	/* bit per enum ndr_syntax */
	} proposed[DCE_MAX_CONTEXTS];
	uint8_t n_calls;
	struct dce_call calls[DCE_MAX_CALLS];
	struct dce_reassembly reassembly[2];	/* by enum dce_dir */
};

struct dce_answer {
	uint32_t call_id;
	const struct epm_request *req;
};

typedef void (*dce_endpoint_fn)(void *arg, const struct dce_answer *ans,
				const struct epm_endpoint *ep);

/* dce_conn_input's return when the bytes are not DCE/RPC at all */
#define DCE_DESYNC ((size_t)-1)

/*
 * Parses the 16-byte common header.  Returns false when it is not a
 * version 5.0/5.1 PDU with a known data representation and a frag_length
 * that can hold the header.
 */
bool dce_parse_hdr(const uint8_t *p, size_t len, struct dce_hdr *h);

void dce_conn_init(struct dce_conn *c, size_t max_stub);
void dce_conn_release(struct dce_conn *c);

/*
 * Consumes the whole PDUs at the front of data (one direction's in-order
 * stream) and returns how many bytes that was; the caller keeps the rest
 * for next time.  Endpoints of completed EPM answers go to fn, and their
 * number is added to *endpoints.  Returns DCE_DESYNC when the stream is
 * not DCE/RPC, after which the connection must not be fed again.
 */
size_t dce_conn_input(struct dce_conn *c, enum dce_dir dir,
		      const uint8_t *data, size_t len, dce_endpoint_fn fn,
		      void *arg, int *endpoints);

#endif
