/*
 * Test-side encoder: DCE/RPC CO PDUs, EPM stubs (NDR and NDR64, either
 * drep) and protocol towers, written independently of the decoder from
 * DCE 1.1 ch. 12 / Appendix L and MS-RPCE 2.2.  Everything is static
 * inline so a test file uses what it needs without unused warnings.
 *
 * A struct bld is an append-only byte buffer that also carries the
 * encoding (drep byte order, NDR or NDR64) of what is written into it.
 * Lies are told by setting the fields of the specs below, or by patching
 * the bytes afterwards (bld_patch).
 */
#ifndef RPCGATE_BUILD_PDU_H
#define RPCGATE_BUILD_PDU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcerpc.h"
#include "epm.h"
#include "flow.h"

/* ---- byte buffer ---- */

#define BLD_CAP 16384

struct bld {
	uint8_t b[BLD_CAP];
	size_t len;
	bool be;	/* drep: big-endian integers */
	bool ndr64;	/* transfer syntax of the stubs written here */
};

static inline void bld_init(struct bld *b, bool be, bool ndr64)
{
	b->len = 0;
	b->be = be;
	b->ndr64 = ndr64;
}

static inline uint8_t *bld_grow(struct bld *b, size_t n)
{
	uint8_t *p = b->b + b->len;

	if (n > BLD_CAP - b->len)
		abort();	/* a test asked for more than the builder holds */
	b->len += n;
	return p;
}

static inline void bld_int_at(uint8_t *p, uint64_t v, size_t size, bool be)
{
	for (size_t i = 0; i < size; i++)
		p[be ? size - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

static inline void put_int(struct bld *b, uint64_t v, size_t size)
{
	bld_int_at(bld_grow(b, size), v, size, b->be);
}

static inline void put_u8(struct bld *b, uint8_t v) { put_int(b, v, 1); }
static inline void put_u16(struct bld *b, uint16_t v) { put_int(b, v, 2); }
static inline void put_u32(struct bld *b, uint32_t v) { put_int(b, v, 4); }

static inline void put_bytes(struct bld *b, const void *p, size_t n)
{
	if (n)
		memcpy(bld_grow(b, n), p, n);
}

static inline void put_fill(struct bld *b, uint8_t v, size_t n)
{
	memset(bld_grow(b, n), v, n);
}

/* Zero padding to a multiple of a, counted from offset `from`. */
static inline void put_align(struct bld *b, size_t from, size_t a)
{
	put_fill(b, 0, (a - (b->len - from) % a) % a);
}

/* UUID: time_low, time_mid, time_hi in the given byte order, then 8 bytes
 * (struct uuid holds the big-endian text order). */
static inline void uuid_bytes(uint8_t out[16], const struct uuid *u, bool be)
{
	static const uint8_t le_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9,
					      10, 11, 12, 13, 14, 15 };

	for (size_t i = 0; i < 16; i++)
		out[i] = u->b[be ? i : le_order[i]];
}

static inline void put_uuid(struct bld *b, const struct uuid *u)
{
	uuid_bytes(bld_grow(b, 16), u, b->be);
}

static inline void bld_patch(struct bld *b, size_t off, uint64_t v, size_t size)
{
	bld_int_at(b->b + off, v, size, b->be);
}

static inline struct uuid test_uuid(const char *text)
{
	struct uuid u;

	if (!uuid_parse(text, &u))
		abort();
	return u;
}

/* ---- NDR (alignment counts from the start of the stub = the bld) ---- */

static inline size_t ndr_word(const struct bld *b)
{
	return b->ndr64 ? 8 : 4;
}

static inline enum ndr_syntax bld_syntax(const struct bld *b)
{
	return b->ndr64 ? NDR_SYNTAX_NDR64 : NDR_SYNTAX_NDR;
}

/* Pointer referent id, conformance, offset or actual count. */
static inline void put_count(struct bld *b, uint64_t v)
{
	put_align(b, 0, ndr_word(b));
	put_int(b, v, ndr_word(b));
}

static inline void put_ndr_u32(struct bld *b, uint32_t v)
{
	put_align(b, 0, 4);
	put_u32(b, v);
}

static inline void put_context_handle(struct bld *b)
{
	put_align(b, 0, 4);
	put_fill(b, 0, 20);
}

/* ---- towers (octets always little-endian; port and address big) ---- */

enum {
	PROT_RPC_CL = 0x0a,
	PROT_RPC_CO = 0x0b,
	PROT_UUID = 0x0d,
	PROT_TCP = 0x07,
	PROT_UDP = 0x08,
	PROT_IP = 0x09,
	PROT_PIPE = 0x0f,
	PROT_NETBIOS = 0x11,
	PROT_HTTP = 0x1f,
};

struct twr_floor {
	uint16_t lhs_len, rhs_len;
	uint8_t lhs[24], rhs[32];
};

#define TWR_MAX_FLOORS 8

struct twr {
	uint16_t n;
	struct twr_floor f[TWR_MAX_FLOORS];
	uint16_t claim_floors;	/* floor_count written; 0: n */
	size_t cut;		/* octets dropped from the end */
};

/* A floor whose lhs is just a protocol id. */
static inline struct twr_floor floor_of(uint8_t prot, const void *rhs,
					size_t rhs_len)
{
	struct twr_floor f = { .lhs_len = 1, .rhs_len = (uint16_t)rhs_len,
			       .lhs = { prot } };

	memcpy(f.rhs, rhs, rhs_len);
	return f;
}

/* lhs: 0x0d, UUID (little-endian), major; rhs: minor. */
static inline struct twr_floor floor_uuid(const struct uuid *u, uint16_t major,
					  uint16_t minor)
{
	const uint8_t rhs[2] = { minor & 0xff, minor >> 8 };
	struct twr_floor f = floor_of(PROT_UUID, rhs, sizeof(rhs));

	uuid_bytes(f.lhs + 1, u, false);
	bld_int_at(f.lhs + 17, major, 2, false);
	f.lhs_len = 19;
	return f;
}

static inline struct twr_floor floor_port(uint8_t prot, uint16_t port)
{
	const uint8_t rhs[2] = { port >> 8, port & 0xff };

	return floor_of(prot, rhs, sizeof(rhs));
}

/* What a test tower advertises. */
struct tw {
	const char *iface;
	uint16_t major, minor;
	uint8_t port_prot;	/* PROT_TCP, PROT_UDP, PROT_HTTP */
	uint16_t port;
	uint8_t addr[4];
};

/* iface, NDR 2.0, RPC CO (CL for UDP), port, IPv4 address */
static inline struct twr twr_std(const struct tw *t)
{
	struct uuid iface = test_uuid(t->iface);
	struct twr w = { .n = 5 };

	w.f[0] = floor_uuid(&iface, t->major, t->minor);
	w.f[1] = floor_uuid(&ndr_syntax_uuid, 2, 0);
	w.f[2] = floor_of(t->port_prot == PROT_UDP ? PROT_RPC_CL : PROT_RPC_CO,
			  (uint8_t[]){ 0, 0 }, 2);
	w.f[3] = floor_port(t->port_prot, t->port);
	w.f[4] = floor_of(PROT_IP, t->addr, 4);
	return w;
}

static inline size_t twr_encode(const struct twr *w, uint8_t *out)
{
	size_t len = 2;

	bld_int_at(out, w->claim_floors ? w->claim_floors : w->n, 2, false);
	for (uint16_t i = 0; i < w->n; i++) {
		const struct twr_floor *f = &w->f[i];

		bld_int_at(out + len, f->lhs_len, 2, false);
		memcpy(out + len + 2, f->lhs, f->lhs_len);
		len += 2u + f->lhs_len;
		bld_int_at(out + len, f->rhs_len, 2, false);
		memcpy(out + len + 2, f->rhs, f->rhs_len);
		len += 2u + f->rhs_len;
	}
	return len - w->cut;
}

#define TWR_OCTETS_MAX (2 + TWR_MAX_FLOORS * (4 + 24 + 32))

/* twr_t: conformance, tower_length, octets; the lies add to the counts. */
static inline void put_twr(struct bld *b, const struct twr *w,
			   uint32_t len_extra, uint32_t max_extra)
{
	uint8_t octets[TWR_OCTETS_MAX];
	size_t len = twr_encode(w, octets);

	put_count(b, len + len_extra + max_extra);
	put_ndr_u32(b, (uint32_t)(len + len_extra));
	put_bytes(b, octets, len);
}

/* ---- EPM stubs ---- */

/* ept_map: object (NULL), map_tower, entry_handle, max_towers */
static inline void put_map_request(struct bld *b, const struct twr *w,
				   uint32_t max_towers)
{
	put_count(b, 0);
	put_count(b, w ? 1 : 0);
	if (w)
		put_twr(b, w, 0, 0);
	put_context_handle(b);
	put_ndr_u32(b, max_towers);
}

/* ept_lookup: inquiry_type, object (NULL), interface_id, vers_option,
 * entry_handle, max_ents */
static inline void put_lookup_request(struct bld *b, const struct uuid *iface,
				      uint16_t major, uint32_t max_ents)
{
	put_ndr_u32(b, iface ? 1 : 0);
	put_count(b, 0);
	put_count(b, iface ? 1 : 0);
	if (iface) {
		put_align(b, 0, 4);
		put_uuid(b, iface);
		put_u16(b, major);
		put_u16(b, 0);
	}
	put_ndr_u32(b, 1);
	put_context_handle(b);
	put_ndr_u32(b, max_ents);
}

#define RESP_MAX_TOWERS 8

/* A response and the ways it may lie; resp_of() makes an honest one. */
struct epm_resp {
	enum epm_op op;
	size_t n;	/* elements actually written */
	const struct twr *towers[RESP_MAX_TOWERS];	/* NULL: NULL pointer */
	uint32_t num;	/* num_towers | num_ents */
	uint64_t max_count, offset, actual;
	uint32_t tower_len_extra, tower_max_extra;
	uint64_t annotation_len;	/* lookup, with the NUL */
	uint32_t status;
};

static inline struct epm_resp resp_of(enum epm_op op, size_t n,
				      const struct twr *const *towers)
{
	struct epm_resp r = { .op = op, .n = n, .num = (uint32_t)n,
			      .max_count = n, .actual = n,
			      .annotation_len = 5 };

	if (n)
		memcpy(r.towers, towers, n * sizeof(*towers));
	return r;
}

/* entry_handle, count, array header, elements, deferred towers, status */
static inline void put_epm_response(struct bld *b, const struct epm_resp *r)
{
	struct uuid object = test_uuid("00000000-0000-0000-0000-000000000001");

	put_context_handle(b);
	put_ndr_u32(b, r->num);
	put_count(b, r->max_count);
	put_count(b, r->offset);
	put_count(b, r->actual);
	for (size_t i = 0; i < r->n; i++) {
		if (r->op == EPM_OP_LOOKUP) {
			put_align(b, 0, ndr_word(b));
			put_uuid(b, &object);
		}
		put_count(b, r->towers[i] ? 3 + i : 0);
		if (r->op == EPM_OP_LOOKUP) {
			put_count(b, 0);
			put_count(b, r->annotation_len);
			put_fill(b, 'a', r->annotation_len);
			if (r->annotation_len)
				b->b[b->len - 1] = 0;
		}
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->towers[i])
			put_twr(b, r->towers[i], r->tower_len_extra,
				r->tower_max_extra);
	put_ndr_u32(b, r->status);
}

/* ---- DCE/RPC connection-oriented PDUs ---- */

#define WHOLE (PFC_FIRST_FRAG | PFC_LAST_FRAG)
#define FRAG_LEN_AT 8
#define AUTH_LEN_AT 10
#define AUTH_TYPE_NTLM 10
#define AUTH_LEVEL_INTEGRITY 5
#define AUTH_LEVEL_PRIVACY 6

struct ctx_elem {
	uint16_t id;
	struct uuid abstract;
	uint16_t major;
	bool ndr64;	/* transfer syntax offered */
};

struct ctx_result {
	uint16_t result;	/* 0 acceptance, 2 provider rejection */
	bool ndr64;
};

struct pdu {
	uint8_t ptype, flags;
	uint32_t call_id;
	uint16_t ctx_id, opnum;			/* request, response, fault */
	const uint8_t *stub;
	size_t stub_len;
	const struct ctx_elem *elems;		/* bind, alter_context */
	const struct ctx_result *results;	/* their answers */
	uint8_t n;
	uint32_t status;			/* fault */
	uint16_t auth_len;			/* with an 8-byte sec_trailer */
	uint8_t auth_level;
};

static inline void put_syntax(struct bld *b, bool ndr64)
{
	put_uuid(b, ndr64 ? &ndr64_syntax_uuid : &ndr_syntax_uuid);
	put_u32(b, ndr64 ? 1 : 2);
}

/*
 * Appends one PDU in b's drep; returns where it starts.  Bodies after the
 * 16-byte header:
 *   request/response/fault: alloc_hint u32, p_cont_id u16, opnum u16 |
 *     cancel_count u8 + reserved u8, [object uuid], [fault: status u32,
 *     reserved u32], stub
 *   bind family: max_xmit u16, max_recv u16, assoc_group u32,
 *     [ack: sec_addr u16 + string, pad to 4], n u8, reserved u8 + u16,
 *     then the context elements or the results
 */
static inline size_t put_pdu(struct bld *b, const struct pdu *p)
{
	const size_t start = b->len;
	const uint8_t head[8] = { 5, 0, p->ptype, p->flags, b->be ? 0 : 0x10 };
	const bool call = p->ptype == DCE_REQUEST || p->ptype == DCE_RESPONSE ||
			  p->ptype == DCE_FAULT;

	put_bytes(b, head, sizeof(head));
	put_u16(b, 0);	/* frag_length, set at the end */
	put_u16(b, p->auth_len);
	put_u32(b, p->call_id);
	if (call) {
		put_u32(b, (uint32_t)p->stub_len);	/* alloc_hint */
		put_u16(b, p->ctx_id);
		put_u16(b, p->ptype == DCE_REQUEST ? p->opnum : 0);
		/* an object UUID that, read as stub, is a NULL pointer
		 * and then a tower whose length does not fit */
		if (p->ptype == DCE_REQUEST && (p->flags & PFC_OBJECT_UUID)) {
			put_fill(b, 0, 4);
			put_fill(b, 0xff, 12);
		}
		if (p->ptype == DCE_FAULT) {
			put_u32(b, p->status);
			put_u32(b, 0);
		}
		put_bytes(b, p->stub, p->stub_len);
	} else {
		put_u16(b, 5840);
		put_u16(b, 5840);
		put_u32(b, 0x12f2e);
	}
	if (p->ptype == DCE_BIND_ACK || p->ptype == DCE_ALTER_CONTEXT_RESP) {
		put_u16(b, 4);
		put_bytes(b, "135", 4);
		put_align(b, start, 4);
	}
	if (p->elems || p->results) {
		put_u8(b, p->n);
		put_fill(b, 0, 3);
	}
	for (uint8_t i = 0; i < p->n && p->elems; i++) {
		put_u16(b, p->elems[i].id);
		put_u8(b, 1);	/* n_transfer_syn */
		put_u8(b, 0);
		put_uuid(b, &p->elems[i].abstract);
		put_u32(b, p->elems[i].major);	/* minor 0 in the high half */
		put_syntax(b, p->elems[i].ndr64);
	}
	for (uint8_t i = 0; i < p->n && p->results; i++) {
		put_u16(b, p->results[i].result);
		put_u16(b, 0);	/* reason */
		put_syntax(b, p->results[i].ndr64);
	}
	if (p->auth_len) {
		/* auth pad, sec_trailer (type, level, pad length, reserved,
		 * context id), auth value */
		size_t pad = (8 - (b->len - start) % 8) % 8;

		put_fill(b, 0, pad);
		put_bytes(b, (uint8_t[]){ AUTH_TYPE_NTLM, p->auth_level,
					  (uint8_t)pad, 0, 0, 0, 0, 0 }, 8);
		put_fill(b, 0xa5, p->auth_len);
	}
	bld_patch(b, start + FRAG_LEN_AT, b->len - start, 2);
	return start;
}

/* The stub in nfrags fragments of template p; offs[i] is where fragment i
 * starts, offs[nfrags] where the last ends. */
static inline void put_fragments(struct bld *b, struct pdu p,
				 const struct bld *stub, size_t nfrags,
				 size_t *offs)
{
	for (size_t i = 0; i < nfrags; i++) {
		size_t from = stub->len * i / nfrags;
		size_t to = stub->len * (i + 1) / nfrags;

		p.flags = (i == 0 ? PFC_FIRST_FRAG : 0) |
			  (i + 1 == nfrags ? PFC_LAST_FRAG : 0);
		p.stub = stub->b + from;
		p.stub_len = to - from;
		offs[i] = put_pdu(b, &p);
	}
	offs[nfrags] = b->len;
}

static inline size_t put_call(struct bld *b, uint8_t ptype, uint32_t call_id,
			      uint16_t ctx_id, uint16_t opnum,
			      const struct bld *stub)
{
	struct pdu p = { .ptype = ptype, .flags = WHOLE, .call_id = call_id,
			 .ctx_id = ctx_id, .opnum = opnum, .stub = stub->b,
			 .stub_len = stub->len };

	return put_pdu(b, &p);
}

/*
 * The usual binding of the tests: context 1 EPM, 2 an unrelated interface
 * (EMSMDB), 3 EPM again, all in b's transfer syntax and all accepted.
 */
#define EMSMDB_UUID "a4f1db00-ca47-1067-b31f-00dd010662da"

static inline void put_epm_bind(struct bld *client, uint32_t call_id)
{
	struct ctx_elem e[3] = {
		{ 1, epm_iface_uuid, 3, client->ndr64 },
		{ 2, test_uuid(EMSMDB_UUID), 0, client->ndr64 },
		{ 3, epm_iface_uuid, 3, client->ndr64 },
	};
	struct pdu p = { .ptype = DCE_BIND, .flags = WHOLE,
			 .call_id = call_id, .elems = e, .n = 3 };

	put_pdu(client, &p);
}

static inline void put_epm_bind_ack(struct bld *server, uint32_t call_id)
{
	struct ctx_result r[3] = { { 0, server->ndr64 }, { 0, server->ndr64 },
				   { 0, server->ndr64 } };
	struct pdu p = { .ptype = DCE_BIND_ACK, .flags = WHOLE,
			 .call_id = call_id, .results = r, .n = 3 };

	put_pdu(server, &p);
}

/* An ept_map request for tower w with room for max_towers. */
static inline void put_map_call(struct bld *client, uint32_t call_id,
				uint16_t ctx_id, const struct twr *w,
				uint32_t max_towers)
{
	struct bld stub;

	bld_init(&stub, client->be, client->ndr64);
	put_map_request(&stub, w, max_towers);
	put_call(client, DCE_REQUEST, call_id, ctx_id, EPM_OP_MAP, &stub);
}

static inline void put_answer(struct bld *server, uint32_t call_id,
			      uint16_t ctx_id, const struct epm_resp *r)
{
	struct bld stub;

	bld_init(&stub, server->be, server->ndr64);
	put_epm_response(&stub, r);
	put_call(server, DCE_RESPONSE, call_id, ctx_id, 0, &stub);
}

/* ---- collecting what the decoder reports ---- */

#define GOT_MAX 16

struct got {
	int n;
	struct epm_endpoint ep[GOT_MAX];
};

static inline void got_add(struct got *g, const struct epm_endpoint *ep)
{
	if (g->n < GOT_MAX)
		g->ep[g->n] = *ep;
	g->n++;
}

static inline void got_epm(void *arg, const struct epm_endpoint *ep)
{
	got_add(arg, ep);
}

static inline void got_dce(void *arg, const struct dce_answer *ans,
			   const struct epm_endpoint *ep)
{
	(void)ans;
	got_add(arg, ep);
}

static inline void got_flow(void *arg, struct flow *f,
			    const struct dce_answer *ans,
			    const struct epm_endpoint *ep)
{
	(void)f;
	got_dce(arg, ans, ep);
}

/* Whether ep is what tower spec t advertises. */
static inline bool ep_is(const struct epm_endpoint *ep, const struct tw *t)
{
	struct uuid iface = test_uuid(t->iface);
	enum epm_proto proto = t->port_prot == PROT_UDP ? EPM_PROTO_UDP :
			       t->port_prot == PROT_HTTP ? EPM_PROTO_HTTP :
							   EPM_PROTO_TCP;

	return uuid_equal(&ep->iface, &iface) && ep->iface_major == t->major &&
	       ep->iface_minor == t->minor && ep->proto == proto &&
	       ep->port == t->port && ep->has_addr &&
	       memcmp(ep->addr, t->addr, 4) == 0;
}

/* A tcp_stream consumer that feeds one direction of a dce_conn. */
struct dce_feed {
	struct dce_conn *conn;
	enum dce_dir dir;
	struct got *got;
	int endpoints;
};

static inline size_t dce_feed_fn(void *arg, const uint8_t *data, size_t len)
{
	struct dce_feed *f = arg;
	size_t used = dce_conn_input(f->conn, f->dir, data, len, got_dce,
				     f->got, &f->endpoints);

	return used == DCE_DESYNC ? TCP_CONSUMER_DESYNC : used;
}

/* Test towers: EMSMDB and NSPI, as Exchange advertises them. */
#define TW_EMSMDB { EMSMDB_UUID, 0, 81, PROT_TCP, 49160, { 10, 0, 0, 5 } }
#define TW_NSPI { "f5cc5a18-4264-101a-8c59-08002b2f8426", 56, 0, PROT_TCP, \
		  49161, { 10, 0, 0, 6 } }

#endif
