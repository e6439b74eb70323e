#include <stdlib.h>
#include <string.h>

#include "dcerpc_cl.h"
#include "wire.h"

#define EPM_MAJOR_VERSION 3

/* drep[0] high nibble: integer representation */
#define CL_DREP_BIG_ENDIAN 0x00
#define CL_DREP_LITTLE_ENDIAN 0x10

/* if_vers: major in the low 16 bits, minor in the high 16 */
#define IF_VERS_MAJOR(v) ((uint16_t)((v) & 0xffff))

/*
 * Header, 80 bytes (DCE 1.1 12.5.1 dc_rpc_cl_pkt_hdr_t, MS-RPCE 2.2.3):
 *   rpc_vers u8 (4), ptype u8, flags1 u8, flags2 u8, drep[3], serial_hi u8,
 *   object uuid, if_id uuid, act_id uuid,
 *   server_boot u32, if_vers u32, seqnum u32,
 *   opnum u16, ihint u16, ahint u16, len u16 (body), fragnum u16,
 *   auth_proto u8, serial_lo u8
 * Integers and the first three fields of each uuid are in the byte order
 * drep names; the body (len bytes) follows, then the auth verifier when
 * auth_proto is not 0.
 */
bool dce_cl_parse_hdr(const uint8_t *p, size_t len, struct dce_cl_hdr *h)
{
	struct wire w;
	uint8_t integer_rep;

	if (len < DCE_CL_HDR_LEN || p[0] != DCE_CL_RPC_VERS)
		return false;
	integer_rep = p[4] & 0xf0;
	if (integer_rep != CL_DREP_BIG_ENDIAN &&
	    integer_rep != CL_DREP_LITTLE_ENDIAN)
		return false;
	h->ptype = p[1];
	h->flags1 = p[2];
	h->flags2 = p[3];
	h->big_endian = integer_rep == CL_DREP_BIG_ENDIAN;
	h->serial = (uint16_t)(p[7] << 8 | p[79]);
	wire_init(&w, p + 8, DCE_CL_HDR_LEN - 8 - 2, h->big_endian);
	uuid_read(&w, &h->object);
	uuid_read(&w, &h->iface);
	uuid_read(&w, &h->activity);
	h->server_boot = wire_u32(&w);
	h->if_vers = wire_u32(&w);
	h->seqnum = wire_u32(&w);
	h->opnum = wire_u16(&w);
	h->ihint = wire_u16(&w);
	h->ahint = wire_u16(&w);
	h->body_len = wire_u16(&w);
	h->fragnum = wire_u16(&w);
	h->auth_proto = p[78];
	return !w.failed;
}

void dce_cl_init(struct dce_cl_conn *c, size_t max_call_bytes)
{
	memset(c, 0, sizeof(*c));
	c->max_call_bytes = max_call_bytes;
}

static void reassembly_drop(struct dce_cl_reassembly *r)
{
	free(r->body);
	free(r->frags);
	memset(r, 0, sizeof(*r));
}

void dce_cl_release(struct dce_cl_conn *c)
{
	reassembly_drop(&c->reassembly[DCE_FROM_CLIENT]);
	reassembly_drop(&c->reassembly[DCE_FROM_SERVER]);
}

/* A call is named by its activity and its sequence number in it. */
static bool same_call(const struct uuid *activity, uint32_t seqnum,
		      const struct dce_cl_hdr *h)
{
	return seqnum == h->seqnum && uuid_equal(activity, &h->activity);
}

static struct dce_cl_call *find_call(struct dce_cl_conn *c,
				     const struct dce_cl_hdr *h)
{
	for (int i = 0; i < c->n_calls; i++)
		if (same_call(&c->calls[i].activity, c->calls[i].seqnum, h))
			return &c->calls[i];
	return NULL;
}

static void forget_call(struct dce_cl_conn *c, struct dce_cl_call *call)
{
	*call = c->calls[--c->n_calls];
}

static void forget_call_of(struct dce_cl_conn *c, const struct dce_cl_hdr *h)
{
	struct dce_cl_call *call = find_call(c, h);

	if (call)
		forget_call(c, call);
}

/*
 * An activity makes one call at a time, numbering them upwards (DCE 1.1
 * ch. 10): a request with a later seqnum means the client is done with
 * the earlier calls of its activity.  "Later" is serial arithmetic, so a
 * late duplicate of an old request does not end the current call.
 */
static void forget_earlier_calls(struct dce_cl_conn *c,
				 const struct dce_cl_hdr *h)
{
	for (int i = 0; i < c->n_calls;) {
		struct dce_cl_call *call = &c->calls[i];
		uint32_t ahead = h->seqnum - call->seqnum;

		if (uuid_equal(&call->activity, &h->activity) && ahead != 0 &&
		    ahead < 0x80000000u)
			forget_call(c, call);
		else
			i++;
	}
}

/* Drops the call being joined in direction dir when h belongs to it. */
static void drop_joining(struct dce_cl_conn *c, enum dce_dir dir,
			 const struct dce_cl_hdr *h)
{
	struct dce_cl_reassembly *r = &c->reassembly[dir];

	if (r->active && same_call(&r->activity, r->seqnum, h))
		reassembly_drop(r);
}

enum join_result {
	JOIN_BAD = -1,		/* inconsistent: the call is dropped */
	JOIN_WAITING = 0,
	JOIN_COMPLETE = 1,
};

/*
 * Inserts one fragment's body into r at its place in fragnum order.
 * A retransmitted fragment must repeat the bytes already held; fragments
 * after the LASTFRAG one, a second LASTFRAG, more than DCE_CL_MAX_FRAGS
 * fragments or more than cap bytes make the call inconsistent.
 */
static enum join_result join_fragment(struct dce_cl_reassembly *r, size_t cap,
				      const struct dce_cl_hdr *h,
				      const uint8_t *body)
{
	bool last = h->flags1 & DCE_CL_LASTFRAG;
	size_t at = 0, len = h->body_len;
	uint16_t i;
	struct dce_cl_frag *frags;

	for (i = 0; i < r->n_frags && r->frags[i].fragnum < h->fragnum; i++)
		at += r->frags[i].len;
	if (i < r->n_frags && r->frags[i].fragnum == h->fragnum) {
		bool was_last = r->have_last && r->last == h->fragnum;

		if (r->frags[i].len != len || was_last != last ||
		    (len && memcmp(r->body + at, body, len) != 0))
			return JOIN_BAD;
		return JOIN_WAITING;
	}
	if (last ? r->have_last || i < r->n_frags :
		   r->have_last && h->fragnum > r->last)
		return JOIN_BAD;
	if (r->n_frags == DCE_CL_MAX_FRAGS || len > cap - r->len)
		return JOIN_BAD;

	frags = realloc(r->frags, (r->n_frags + 1u) * sizeof(*frags));
	if (!frags)
		return JOIN_BAD;
	r->frags = frags;
	memmove(&frags[i + 1], &frags[i], (r->n_frags - i) * sizeof(*frags));
	frags[i].fragnum = h->fragnum;
	frags[i].len = h->body_len;
	r->n_frags++;
	if (len) {
		uint8_t *grown = realloc(r->body, r->len + len);

		if (!grown)
			return JOIN_BAD;
		memmove(grown + at + len, grown + at, r->len - at);
		memcpy(grown + at, body, len);
		r->body = grown;
		r->len += len;
	}
	if (last) {
		r->have_last = true;
		r->last = h->fragnum;
	}
	/* fragnums are distinct and none is past the last: all there */
	return r->have_last && r->n_frags == r->last + 1u ? JOIN_COMPLETE :
							    JOIN_WAITING;
}

/*
 * The body of the call h belongs to, once whole.  A PDU without the FRAG
 * flag is the whole body by itself (fragment 0).  Fragments (FRAG set on
 * every one, LASTFRAG on the last) are joined in direction dir; a fragment
 * of another call abandons the one being joined.  Returns JOIN_COMPLETE
 * with *body, *len and *big_endian set, JOIN_WAITING, or JOIN_BAD.
 */
static enum join_result call_body(struct dce_cl_conn *c, enum dce_dir dir,
				  const struct dce_cl_hdr *h,
				  const uint8_t *pdu_body, const uint8_t **body,
				  size_t *len, bool *big_endian)
{
	struct dce_cl_reassembly *r = &c->reassembly[dir];
	enum join_result res;

	*body = pdu_body;
	*len = h->body_len;
	*big_endian = h->big_endian;
	if (!(h->flags1 & DCE_CL_FRAG)) {
		drop_joining(c, dir, h);
		return h->fragnum == 0 ? JOIN_COMPLETE : JOIN_BAD;
	}
	if (r->active && !same_call(&r->activity, r->seqnum, h))
		reassembly_drop(r);
	/* the fragments of one call share its drep (and a request's opnum) */
	if (r->active && (r->big_endian != h->big_endian ||
			  (dir == DCE_FROM_CLIENT && r->opnum != h->opnum))) {
		reassembly_drop(r);
		return JOIN_BAD;
	}
	if (!r->active) {
		r->active = true;
		r->activity = h->activity;
		r->seqnum = h->seqnum;
		r->opnum = h->opnum;
		r->big_endian = h->big_endian;
	}
	res = join_fragment(r, c->max_call_bytes, h, pdu_body);
	if (res == JOIN_BAD) {
		reassembly_drop(r);
		return res;
	}
	*body = r->body;
	*len = r->len;
	*big_endian = r->big_endian;
	return res;
}

/* A request to the endpoint mapper v3: ept_lookup or ept_map, unsigned. */
static bool epm_request_hdr(const struct dce_cl_hdr *h)
{
	return uuid_equal(&h->iface, &epm_iface_uuid) &&
	       IF_VERS_MAJOR(h->if_vers) == EPM_MAJOR_VERSION &&
	       (h->opnum == EPM_OP_MAP || h->opnum == EPM_OP_LOOKUP) &&
	       h->auth_proto == 0;
}

/*
 * request body: the call's stub, NDR (the only transfer syntax of
 * ncadg_ip_udp), aligned from the start of the body.
 */
static void handle_request(struct dce_cl_conn *c, const struct dce_cl_hdr *h,
			   const uint8_t *pdu_body)
{
	const uint8_t *body;
	size_t len;
	bool big_endian;
	struct epm_request req;
	enum join_result res;

	forget_earlier_calls(c, h);
	if (!epm_request_hdr(h)) {
		forget_call_of(c, h);
		drop_joining(c, DCE_FROM_CLIENT, h);
		return;
	}
	res = call_body(c, DCE_FROM_CLIENT, h, pdu_body, &body, &len,
			&big_endian);
	if (res == JOIN_WAITING)
		return;
	/* a whole request, or a retransmission of it, asks anew */
	forget_call_of(c, h);
	if (res == JOIN_COMPLETE && c->n_calls < DCE_CL_MAX_CALLS &&
	    epm_parse_request((enum epm_op)h->opnum, body, len, big_endian,
			      NDR_SYNTAX_NDR, &req)) {
		struct dce_cl_call *call = &c->calls[c->n_calls++];

		call->activity = h->activity;
		call->seqnum = h->seqnum;
		call->req = req;
	}
	drop_joining(c, DCE_FROM_CLIENT, h);
}

/* Where the endpoints of one answer go, with the call they answer. */
struct cl_answer {
	struct dce_answer ans;
	struct epm_request req;
	dce_endpoint_fn fn;
	void *arg;
};

static void cl_report(void *arg, const struct epm_endpoint *ep)
{
	const struct cl_answer *a = arg;

	a->fn(a->arg, &a->ans, ep);
}

/*
 * response body: the stub of the answer, NDR, in the response's drep.
 * Only an answer to a call this conversation asked, unauthenticated,
 * whole and well formed, reports anything; once whole (or inconsistent)
 * the call is over.
 */
static int handle_response(struct dce_cl_conn *c, const struct dce_cl_hdr *h,
			   const uint8_t *pdu_body, dce_endpoint_fn fn,
			   void *arg)
{
	struct dce_cl_call *call = find_call(c, h);
	struct cl_answer a = { .fn = fn, .arg = arg };
	const uint8_t *body;
	size_t len;
	bool big_endian;
	uint32_t status;
	int endpoints;
	enum join_result res;

	if (!call) {
		drop_joining(c, DCE_FROM_SERVER, h);
		return 0;
	}
	if (h->auth_proto != 0) {
		forget_call(c, call);
		drop_joining(c, DCE_FROM_SERVER, h);
		return 0;
	}
	res = call_body(c, DCE_FROM_SERVER, h, pdu_body, &body, &len,
			&big_endian);
	if (res == JOIN_WAITING)
		return 0;
	a.ans.call_id = call->seqnum;
	a.req = call->req;
	a.ans.req = &a.req;
	forget_call(c, call);
	if (res == JOIN_BAD)
		return 0;
	endpoints = epm_parse_response(&a.req, body, len, big_endian,
				       NDR_SYNTAX_NDR, &status, cl_report, &a);
	drop_joining(c, DCE_FROM_SERVER, h);
	return endpoints > 0 ? endpoints : 0;
}

/*
 * fault, reject bodies: status u32.  Either ends the call; the status
 * does not matter, so the body is not read.
 */
static void handle_failure(struct dce_cl_conn *c, const struct dce_cl_hdr *h)
{
	forget_call_of(c, h);
	drop_joining(c, DCE_FROM_CLIENT, h);
	drop_joining(c, DCE_FROM_SERVER, h);
}

/*
 * One datagram: the header, then len bytes of body, which must be within
 * the datagram.  An unauthenticated PDU ends with its body; anything after
 * it is not read, as the receiving runtime reads only len bytes.  The body
 * of an authenticated PDU (auth_proto != 0) may be sealed, and the layout
 * of the verifier after it depends on the protocol, so such a PDU is not
 * read at all: endpoint mappers are called without authentication.
 */
int dce_cl_input(struct dce_cl_conn *c, enum dce_dir dir, const uint8_t *data,
		 size_t len, dce_endpoint_fn fn, void *arg)
{
	struct dce_cl_hdr h;

	if (!dce_cl_parse_hdr(data, len, &h) ||
	    h.body_len > len - DCE_CL_HDR_LEN)
		return 0;
	if (dir == DCE_FROM_CLIENT) {
		if (h.ptype == DCE_REQUEST)
			handle_request(c, &h, data + DCE_CL_HDR_LEN);
		return 0;
	}
	switch (h.ptype) {
	case DCE_RESPONSE:
		return handle_response(c, &h, data + DCE_CL_HDR_LEN, fn, arg);
	case DCE_FAULT:
	case DCE_CL_REJECT:
		handle_failure(c, &h);
		return 0;
	default:
		return 0;
	}
}
