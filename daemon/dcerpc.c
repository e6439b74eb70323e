#include <stdlib.h>
#include <string.h>

#include "dcerpc.h"
#include "wire.h"

/* RPC over HTTP v1 (ncacn_http, TCP 593): the server speaks first. */
static const char http_banner[] = "ncacn_http/1.0";
#define HTTP_BANNER_LEN (sizeof(http_banner) - 1)

#define EPM_MAJOR_VERSION 3
#define NDR_VERSION 2
#define NDR64_VERSION 1

#define RESULT_ACCEPTANCE 0
#define AUTH_LEVEL_PKT_PRIVACY 6
#define SEC_TRAILER_LEN 8

/* call bodies after the common header: alloc_hint, p_cont_id, opnum or
 * cancel_count + reserved */
#define CALL_BODY_LEN 8

/* drep[0] high nibble: integer representation */
#define DREP_BIG_ENDIAN 0x00
#define DREP_LITTLE_ENDIAN 0x10

/*
 * Common header, 16 bytes:
 *   rpc_vers u8 (5), rpc_vers_minor u8 (0|1), PTYPE u8, pfc_flags u8,
 *   packed_drep[4], frag_length u16, auth_length u16, call_id u32
 * (the last three in the byte order that drep names).
 */
bool dce_parse_hdr(const uint8_t *p, size_t len, struct dce_hdr *h)
{
	struct wire w;
	uint8_t integer_rep;

	if (len < DCE_HDR_LEN || p[0] != 5 || p[1] > 1)
		return false;
	integer_rep = p[4] & 0xf0;
	if (integer_rep != DREP_BIG_ENDIAN && integer_rep != DREP_LITTLE_ENDIAN)
		return false;
	h->ptype = p[2];
	h->pfc_flags = p[3];
	h->big_endian = integer_rep == DREP_BIG_ENDIAN;
	wire_init(&w, p + 8, 8, h->big_endian);
	h->frag_len = wire_u16(&w);
	h->auth_len = wire_u16(&w);
	h->call_id = wire_u32(&w);
	return h->frag_len >= DCE_HDR_LEN;
}

void dce_conn_init(struct dce_conn *c, size_t max_stub)
{
	memset(c, 0, sizeof(*c));
	c->max_stub = max_stub;
}

static void reassembly_drop(struct dce_reassembly *r)
{
	free(r->stub);
	memset(r, 0, sizeof(*r));
}

void dce_conn_release(struct dce_conn *c)
{
	reassembly_drop(&c->reassembly[DCE_FROM_CLIENT]);
	reassembly_drop(&c->reassembly[DCE_FROM_SERVER]);
}

static int epm_context_index(const struct dce_conn *c, uint16_t ctx_id)
{
	for (int i = 0; i < c->n_epm_ctx; i++)
		if (c->epm_ctx[i].id == ctx_id)
			return i;
	return -1;
}

static struct dce_call *find_call(struct dce_conn *c, uint32_t call_id)
{
	for (int i = 0; i < c->n_calls; i++)
		if (c->calls[i].call_id == call_id)
			return &c->calls[i];
	return NULL;
}

static void forget_call(struct dce_conn *c, struct dce_call *call)
{
	*call = c->calls[--c->n_calls];
}

/*
 * Where the body of a PDU ends: before the auth verifier, its 8-byte
 * sec_trailer and the padding the trailer declares.  A privacy-protected
 * body is sealed, so there is nothing to read.  Returns 0 when the
 * trailer does not fit.
 */
static size_t body_end(const uint8_t *pdu, const struct dce_hdr *h)
{
	size_t trailer, pad;

	if (h->auth_len == 0)
		return h->frag_len;
	if ((size_t)h->auth_len + SEC_TRAILER_LEN > (size_t)h->frag_len - DCE_HDR_LEN)
		return 0;
	trailer = h->frag_len - h->auth_len - SEC_TRAILER_LEN;
	if (pdu[trailer + 1] == AUTH_LEVEL_PKT_PRIVACY)
		return 0;
	pad = pdu[trailer + 2];
	if (pad > trailer - DCE_HDR_LEN)
		return 0;
	return trailer - pad;
}

/* A transfer syntax (uuid, version u32): NDR, NDR64, or -1 for others. */
static int read_transfer_syntax(struct wire *w)
{
	struct uuid syntax;
	uint16_t major;

	uuid_read(w, &syntax);
	/* version u32: major in the low 16 bits, minor in the high */
	major = (uint16_t)wire_u32(w);
	if (major == NDR_VERSION && uuid_equal(&syntax, &ndr_syntax_uuid))
		return NDR_SYNTAX_NDR;
	if (major == NDR64_VERSION && uuid_equal(&syntax, &ndr64_syntax_uuid))
		return NDR_SYNTAX_NDR64;
	return -1;
}

/*
 * bind, alter_context:
 *   max_xmit_frag u16, max_recv_frag u16, assoc_group_id u32,
 *   n_context_elem u8, reserved u8, reserved2 u16,
 *   p_cont_elem_t[]: p_cont_id u16, n_transfer_syn u8, reserved u8,
 *                    abstract_syntax (uuid, version u32),
 *                    transfer_syntaxes[n_transfer_syn] (uuid, version u32)
 * The answer lists results in the same order, so the order is kept.
 */
static void handle_bind(struct dce_conn *c, struct wire *w,
			const struct dce_hdr *h)
{
	uint8_t n_context;

	wire_skip(w, 8);
	n_context = wire_u8(w);
	wire_skip(w, 3);
	c->n_proposed = 0;
	for (uint8_t i = 0; i < n_context && !w->failed; i++) {
		struct uuid abstract;
		uint16_t ctx_id = wire_u16(w);
		uint8_t n_transfer = wire_u8(w);
		uint16_t major;
		uint8_t offered = 0;

		wire_skip(w, 1);
		uuid_read(w, &abstract);
		major = (uint16_t)wire_u32(w);
		for (uint8_t t = 0; t < n_transfer && !w->failed; t++) {
			int syntax = read_transfer_syntax(w);

			if (syntax >= 0)
				offered |= 1u << syntax;
		}
		if (i < DCE_MAX_CONTEXTS) {
			c->proposed[i].id = ctx_id;
			c->proposed[i].epm = major == EPM_MAJOR_VERSION &&
				uuid_equal(&abstract, &epm_iface_uuid);
			c->proposed[i].offered = offered;
			c->n_proposed = i + 1;
		}
	}
	c->bind_pending = !w->failed;
	c->bind_call_id = h->call_id;
}

static void set_epm_context(struct dce_conn *c, uint16_t ctx_id, int syntax)
{
	int i = epm_context_index(c, ctx_id);

	if (syntax < 0) {
		if (i >= 0)
			c->epm_ctx[i] = c->epm_ctx[--c->n_epm_ctx];
		return;
	}
	if (i < 0) {
		if (c->n_epm_ctx == DCE_MAX_CONTEXTS)
			return;
		i = c->n_epm_ctx++;
	}
	c->epm_ctx[i].id = ctx_id;
	c->epm_ctx[i].syntax = (uint8_t)syntax;
}

/*
 * bind_ack, alter_context_resp:
 *   max_xmit_frag u16, max_recv_frag u16, assoc_group_id u32,
 *   sec_addr: length u16, port_spec[length], pad to 4 (from PDU start),
 *   n_results u8, reserved u8, reserved2 u16,
 *   p_result_t[]: result u16, reason u16, transfer_syntax (uuid, version u32)
 */
static void handle_bind_ack(struct dce_conn *c, struct wire *w,
			    const struct dce_hdr *h)
{
	uint8_t n_results;

	if (!c->bind_pending || h->call_id != c->bind_call_id)
		return;
	c->bind_pending = false;
	wire_skip(w, 8);
	wire_skip(w, wire_u16(w));
	wire_align(w, 4);
	n_results = wire_u8(w);
	wire_skip(w, 3);
	for (uint8_t i = 0; i < n_results && i < c->n_proposed; i++) {
		uint16_t result = wire_u16(w);
		int syntax;

		wire_skip(w, 2);
		syntax = read_transfer_syntax(w);
		if (w->failed)
			return;
		if (result == RESULT_ACCEPTANCE)
			set_epm_context(c, c->proposed[i].id,
					c->proposed[i].epm ? syntax : -1);
	}
}

/*
 * The transfer syntax of EPM calls on a context, or -1 when it does not
 * carry EPM.  A client may send requests before the bind_ack arrives; a
 * context it proposed with exactly one transfer syntax can only end up
 * with that one.  The response is checked against the bound context.
 */
static int call_syntax(const struct dce_conn *c, uint16_t ctx_id)
{
	int i = epm_context_index(c, ctx_id);

	if (i >= 0)
		return c->epm_ctx[i].syntax;
	for (i = 0; c->bind_pending && i < c->n_proposed; i++)
		if (c->proposed[i].id == ctx_id && c->proposed[i].epm) {
			if (c->proposed[i].offered == 1u << NDR_SYNTAX_NDR)
				return NDR_SYNTAX_NDR;
			if (c->proposed[i].offered == 1u << NDR_SYNTAX_NDR64)
				return NDR_SYNTAX_NDR64;
		}
	return -1;
}

static void handle_request(struct dce_conn *c, uint32_t call_id,
			   uint16_t ctx_id, uint16_t opnum, bool big_endian,
			   const uint8_t *stub, size_t len)
{
	struct dce_call *call = find_call(c, call_id);
	int syntax = call_syntax(c, ctx_id);
	struct epm_request req;

	if (call)
		forget_call(c, call);
	if (syntax < 0 || (opnum != EPM_OP_MAP && opnum != EPM_OP_LOOKUP) ||
	    c->n_calls == DCE_MAX_CALLS)
		return;
	if (!epm_parse_request((enum epm_op)opnum, stub, len, big_endian,
			       (enum ndr_syntax)syntax, &req))
		return;
	call = &c->calls[c->n_calls++];
	call->call_id = call_id;
	call->ctx_id = ctx_id;
	call->syntax = (uint8_t)syntax;
	call->req = req;
}

struct answer_sink {
	dce_endpoint_fn fn;
	void *arg;
	struct dce_answer answer;
};

static void report_endpoint(void *arg, const struct epm_endpoint *ep)
{
	struct answer_sink *sink = arg;

	sink->fn(sink->arg, &sink->answer, ep);
}

static int handle_response(struct dce_conn *c, uint32_t call_id,
			   uint16_t ctx_id, bool big_endian, const uint8_t *stub,
			   size_t len, dce_endpoint_fn fn, void *arg)
{
	struct dce_call *call = find_call(c, call_id);
	struct dce_call answered;
	struct answer_sink sink = { .fn = fn, .arg = arg };
	uint32_t status;
	int ctx = epm_context_index(c, ctx_id);
	int endpoints;

	if (!call)
		return 0;
	answered = *call;
	forget_call(c, call);
	if (ctx < 0 || answered.ctx_id != ctx_id ||
	    c->epm_ctx[ctx].syntax != answered.syntax)
		return 0;
	sink.answer.call_id = call_id;
	sink.answer.req = &answered.req;
	endpoints = epm_parse_response(&answered.req, stub, len, big_endian,
				       (enum ndr_syntax)c->epm_ctx[ctx].syntax,
				       &status, report_endpoint, &sink);
	return endpoints > 0 ? endpoints : 0;
}

/* A whole request or response stub: follow the call, or read its answer. */
static int complete_call(struct dce_conn *c, enum dce_dir dir, uint32_t call_id,
			 uint16_t ctx_id, uint16_t opnum, bool big_endian,
			 const uint8_t *stub, size_t len, dce_endpoint_fn fn,
			 void *arg)
{
	if (dir == DCE_FROM_CLIENT) {
		handle_request(c, call_id, ctx_id, opnum, big_endian, stub, len);
		return 0;
	}
	return handle_response(c, call_id, ctx_id, big_endian, stub, len, fn,
			       arg);
}

/*
 * request:  alloc_hint u32, p_cont_id u16, opnum u16, [object uuid], stub
 * response: alloc_hint u32, p_cont_id u16, cancel_count u8, reserved u8, stub
 *
 * Fragments of one call arrive in order on the stream (PFC_FIRST_FRAG ..
 * PFC_LAST_FRAG); their stubs are joined up to max_stub.  A fragment
 * that does not continue the call being joined abandons it.
 */
static int handle_call_pdu(struct dce_conn *c, enum dce_dir dir,
			   const uint8_t *pdu, size_t end,
			   const struct dce_hdr *h, dce_endpoint_fn fn,
			   void *arg)
{
	struct dce_reassembly *r = &c->reassembly[dir];
	struct wire w;
	uint16_t ctx_id, opnum = 0;
	size_t stub_start = DCE_HDR_LEN + CALL_BODY_LEN;
	const uint8_t *stub;
	size_t stub_len;
	bool first = h->pfc_flags & PFC_FIRST_FRAG;
	bool last = h->pfc_flags & PFC_LAST_FRAG;
	int endpoints;

	if (dir == DCE_FROM_CLIENT && (h->pfc_flags & PFC_OBJECT_UUID))
		stub_start += 16;
	if (end < stub_start) {
		reassembly_drop(r);
		return 0;
	}
	wire_init(&w, pdu + DCE_HDR_LEN + 4, 4, h->big_endian);
	ctx_id = wire_u16(&w);
	if (dir == DCE_FROM_CLIENT)
		opnum = wire_u16(&w);
	stub = pdu + stub_start;
	stub_len = end - stub_start;

	if (first) {
		reassembly_drop(r);
		if (last)
			return complete_call(c, dir, h->call_id, ctx_id, opnum,
					     h->big_endian, stub, stub_len, fn,
					     arg);
		/* only calls that can matter are worth memory */
		if (dir == DCE_FROM_CLIENT ? call_syntax(c, ctx_id) < 0 :
					     find_call(c, h->call_id) == NULL)
			return 0;
		r->active = true;
		r->call_id = h->call_id;
		r->ctx_id = ctx_id;
		r->opnum = opnum;
		r->big_endian = h->big_endian;
	} else if (!r->active || r->call_id != h->call_id) {
		reassembly_drop(r);
		return 0;
	}
	if (stub_len > c->max_stub - r->len) {
		reassembly_drop(r);
		return 0;
	}
	if (stub_len) {
		uint8_t *grown = realloc(r->stub, r->len + stub_len);

		if (!grown) {
			reassembly_drop(r);
			return 0;
		}
		memcpy(grown + r->len, stub, stub_len);
		r->stub = grown;
		r->len += stub_len;
	}
	if (!last)
		return 0;
	/* the first fragment's drep governs the joined stub */
	endpoints = complete_call(c, dir, h->call_id, r->ctx_id, r->opnum,
				  r->big_endian, r->stub, r->len, fn, arg);
	reassembly_drop(r);
	return endpoints;
}

static int handle_pdu(struct dce_conn *c, enum dce_dir dir, const uint8_t *pdu,
		      const struct dce_hdr *h, dce_endpoint_fn fn, void *arg)
{
	size_t end = body_end(pdu, h);
	struct wire w;
	struct dce_call *call;

	if (end == 0) {
		reassembly_drop(&c->reassembly[dir]);
		return 0;
	}
	/* offsets from the start of the PDU, which is what bind_ack pads to */
	wire_init(&w, pdu, end, h->big_endian);
	wire_skip(&w, DCE_HDR_LEN);
	if (dir == DCE_FROM_CLIENT) {
		switch (h->ptype) {
		case DCE_BIND:
		case DCE_ALTER_CONTEXT:
			handle_bind(c, &w, h);
			return 0;
		case DCE_REQUEST:
			return handle_call_pdu(c, dir, pdu, end, h, fn, arg);
		default:
			return 0;
		}
	}
	switch (h->ptype) {
	case DCE_BIND_ACK:
	case DCE_ALTER_CONTEXT_RESP:
		handle_bind_ack(c, &w, h);
		return 0;
	case DCE_BIND_NAK:
		c->bind_pending = false;
		return 0;
	case DCE_RESPONSE:
		return handle_call_pdu(c, dir, pdu, end, h, fn, arg);
	case DCE_FAULT:
		call = find_call(c, h->call_id);
		if (call)
			forget_call(c, call);
		return 0;
	default:
		return 0;
	}
}

/* Consumes the server's ncacn_http banner; 0 means wait for more bytes. */
static size_t skip_http_banner(struct dce_conn *c, const uint8_t *data,
			       size_t len)
{
	size_t n = len < HTTP_BANNER_LEN ? len : HTTP_BANNER_LEN;

	if (memcmp(data, http_banner, n) != 0) {
		c->banner_done = true;
		return 0;
	}
	if (n < HTTP_BANNER_LEN)
		return 0;
	c->banner_done = true;
	return HTTP_BANNER_LEN;
}

size_t dce_conn_input(struct dce_conn *c, enum dce_dir dir,
		      const uint8_t *data, size_t len, dce_endpoint_fn fn,
		      void *arg, int *endpoints)
{
	size_t used = 0;

	if (dir == DCE_FROM_SERVER && !c->banner_done && len > 0)
		used = skip_http_banner(c, data, len);
	if (dir == DCE_FROM_SERVER && !c->banner_done)
		return used;
	while (len - used >= DCE_HDR_LEN) {
		struct dce_hdr h;

		if (!dce_parse_hdr(data + used, len - used, &h))
			return DCE_DESYNC;
		if (h.frag_len > len - used)
			break;
		*endpoints += handle_pdu(c, dir, data + used, &h, fn, arg);
		used += h.frag_len;
	}
	return used;
}
