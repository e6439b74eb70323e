/* DCE/RPC connectionless PDUs (UDP 135) through struct dce_cl_conn. */
#include "../../daemon/dcerpc_cl.c"
#include "build_cl.h"
#include "unit.h"

static const struct tw emsmdb = TW_EMSMDB, nspi = TW_NSPI,
		       emsmdb_udp = TW_EMSMDB_UDP;

/* One conversation, what it reported, and the drep of what is sent. */
struct clconv {
	struct dce_cl_conn c;
	struct got got;
	int endpoints;		/* the sum of dce_cl_input's returns */
	uint32_t call_id[GOT_MAX];
	enum epm_op op[GOT_MAX];
	bool be;
};

static struct clconv k;
/* scratch: a request's body, an answer's body, one datagram */
static struct bld req_stub, stub, pdu;

static void got_cl(void *arg, const struct dce_answer *ans,
		   const struct epm_endpoint *ep)
{
	struct clconv *v = arg;

	if (v->got.n < GOT_MAX) {
		v->call_id[v->got.n] = ans->call_id;
		v->op[v->got.n] = ans->req->op;
	}
	got_add(&v->got, ep);
}

static void cl_open(bool be, size_t max_call_bytes)
{
	dce_cl_release(&k.c);
	dce_cl_init(&k.c, max_call_bytes);
	memset(&k.got, 0, sizeof(k.got));
	k.endpoints = 0;
	k.be = be;
}

/* One datagram, copied to a buffer of its exact length for ASan. */
static int feed(enum dce_dir dir, const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len + 1);
	int n;

	memcpy(copy, data, len);
	n = dce_cl_input(&k.c, dir, copy, len, got_cl, &k);
	free(copy);
	k.endpoints += n;
	return n;
}

/* Sends p as one datagram in k's drep; returns what it reported. */
static int send_pdu(enum dce_dir dir, const struct cl_pdu *p)
{
	bld_init(&pdu, k.be, false);
	put_cl_pdu(&pdu, p);
	return feed(dir, pdu.b, pdu.len);
}

/* The ept_map request for EMSMDB (room for 4 towers) as seqnum (into
 * `req_stub`). */
static struct cl_pdu map_request(uint32_t seqnum)
{
	struct twr t = twr_std(&emsmdb_udp);

	cl_map_stub(&req_stub, k.be, &t, 4);
	return cl_call(DCE_REQUEST, seqnum, EPM_OP_MAP, &req_stub);
}

static void ask(uint32_t seqnum)
{
	struct cl_pdu p = map_request(seqnum);

	CHECK(send_pdu(DCE_FROM_CLIENT, &p) == 0);
}

/* The answer to seqnum advertising towers tws (into `stub`). */
static struct cl_pdu answer(uint32_t seqnum, const struct tw *const *tws,
			    size_t n)
{
	struct twr t[RESP_MAX_TOWERS];
	const struct twr *tl[RESP_MAX_TOWERS];
	struct epm_resp r;

	for (size_t i = 0; i < n; i++) {
		t[i] = twr_std(tws[i]);
		tl[i] = &t[i];
	}
	r = resp_of(EPM_OP_MAP, n, tl);
	cl_answer_stub(&stub, k.be, &r);
	return cl_call(DCE_RESPONSE, seqnum, EPM_OP_MAP, &stub);
}

static const struct tw *const one[] = { &emsmdb };
static const struct tw *const three[] = { &emsmdb, &nspi, &emsmdb_udp };

/* The one-tower answer to seqnum, whole. */
static int reply(uint32_t seqnum)
{
	struct cl_pdu p = answer(seqnum, one, 1);

	return send_pdu(DCE_FROM_SERVER, &p);
}

/* A fresh conversation with call 1 asked; returns the one-tower answer
 * to it, not sent. */
static struct cl_pdu asked_answer_in(bool be)
{
	cl_open(be, 4096);
	ask(1);
	return answer(1, one, 1);
}

static struct cl_pdu asked_answer(void)
{
	return asked_answer_in(false);
}

/* asked_answer_in(be), built into `pdu`. */
static void open_with_answer(bool be)
{
	struct cl_pdu p = asked_answer_in(be);

	bld_init(&pdu, be, false);
	put_cl_pdu(&pdu, &p);
}

/* Exactly the n endpoints of tws reported so far, answering seqnum. */
static void expect(const struct tw *const *tws, int n, uint32_t seqnum)
{
	if (k.endpoints != n || k.got.n != n)
		printf("#   %d endpoints (%d reported), want %d\n", k.endpoints,
		       k.got.n, n);
	CHECK(k.endpoints == n);
	CHECK(k.got.n == n);
	for (int i = 0; i < n && i < k.got.n; i++) {
		CHECK(ep_is(&k.got.ep[i], tws[i]));
		CHECK(k.call_id[i] == seqnum);
		CHECK(k.op[i] == EPM_OP_MAP);
	}
}

static void expect_none(void)
{
	expect(NULL, 0, 0);
}

/* Sends fragment order[i] of nfrags of `whole` for i < count; every
 * fragment but the one that completes the call reports nothing. */
static void send_fragments(enum dce_dir dir, const struct cl_pdu *whole,
			   size_t nfrags, const size_t *order, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct cl_pdu f = cl_fragment(*whole, order[i], nfrags);
		int n = send_pdu(dir, &f);

		if (i + 1 < count)
			CHECK(n == 0);
	}
}

static void send_all_fragments(enum dce_dir dir, const struct cl_pdu *whole,
			       size_t nfrags)
{
	for (size_t i = 0; i < nfrags; i++) {
		struct cl_pdu f = cl_fragment(*whole, i, nfrags);

		send_pdu(dir, &f);
	}
}

/* ---- the header ---- */

static void test_header_fields_both_dreps(void)
{
	for (int be = 0; be < 2; be++) {
		struct cl_pdu p;
		struct dce_cl_hdr h;
		struct uuid act = test_uuid(CL_ACTIVITY);

		k.be = be;
		p = map_request(0x01020304);
		p.flags1 = DCE_CL_NOFACK | DCE_CL_IDEMPOTENT;
		p.fragnum = 0x0506;
		p.serial = 0x0708;
		bld_init(&pdu, be, false);
		put_cl_pdu(&pdu, &p);
		CHECK(dce_cl_parse_hdr(pdu.b, pdu.len, &h));
		CHECK(h.big_endian == (bool)be);
		CHECK(h.ptype == DCE_REQUEST);
		CHECK(h.flags1 == (DCE_CL_NOFACK | DCE_CL_IDEMPOTENT));
		CHECK(uuid_equal(&h.iface, &epm_iface_uuid));
		CHECK(uuid_equal(&h.activity, &act));
		CHECK(h.server_boot == CL_SERVER_BOOT);
		CHECK(h.if_vers == CL_EPM_IF_VERS);
		CHECK(h.seqnum == 0x01020304);
		CHECK(h.opnum == EPM_OP_MAP);
		CHECK(h.ihint == 0xffff && h.ahint == 0xffff);
		CHECK(h.body_len == req_stub.len);
		CHECK(h.fragnum == 0x0506);
		CHECK(h.serial == 0x0708);
		CHECK(h.auth_proto == 0);
	}
}

/* ---- good conversations ---- */

static void test_map_one_fragment_le_and_be(void)
{
	for (int be = 0; be < 2; be++) {
		cl_open(be, 4096);
		ask(1);
		CHECK(k.c.n_calls == 1);
		CHECK(reply(1) == 1);
		expect(one, 1, 1);
		CHECK(k.c.n_calls == 0);
	}
}

static void test_map_tcp_and_udp_towers(void)
{
	const struct tw *const both[] = { &emsmdb_udp, &nspi };
	struct cl_pdu p;

	cl_open(false, 4096);
	ask(7);
	p = answer(7, both, 2);
	CHECK(send_pdu(DCE_FROM_SERVER, &p) == 2);
	expect(both, 2, 7);
	CHECK(k.got.ep[0].proto == EPM_PROTO_UDP);
	CHECK(k.got.ep[0].port == 50500);
	CHECK(k.got.ep[1].proto == EPM_PROTO_TCP);
}

static void test_lookup_answered(void)
{
	struct uuid iface = test_uuid(EMSMDB_UUID);
	struct twr t = twr_std(&emsmdb);
	const struct twr *tl[] = { &t };
	struct epm_resp r = resp_of(EPM_OP_LOOKUP, 1, tl);
	struct cl_pdu p;

	cl_open(true, 4096);
	bld_init(&stub, true, false);
	put_lookup_request(&stub, &iface, 0, 10);
	p = cl_call(DCE_REQUEST, 3, EPM_OP_LOOKUP, &stub);
	CHECK(send_pdu(DCE_FROM_CLIENT, &p) == 0);
	cl_answer_stub(&stub, true, &r);
	p = cl_call(DCE_RESPONSE, 3, EPM_OP_LOOKUP, &stub);
	CHECK(send_pdu(DCE_FROM_SERVER, &p) == 1);
	CHECK(k.got.n == 1 && ep_is(&k.got.ep[0], &emsmdb));
	CHECK(k.op[0] == EPM_OP_LOOKUP && k.call_id[0] == 3);
}

static const size_t orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
				     { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };

/* Call 2 asked in a fresh conversation, and its three-tower answer sent
 * as fragments order[0 .. count) of three. */
static void answer_in_fragments(bool be, const size_t *order, size_t count)
{
	struct cl_pdu p;

	cl_open(be, 4096);
	ask(2);
	p = answer(2, three, 3);
	send_fragments(DCE_FROM_SERVER, &p, 3, order, count);
}

static void test_response_fragments_every_order_both_dreps(void)
{
	for (size_t o = 0; o < 12; o++) {
		answer_in_fragments(o & 1, orders[o / 2], 3);
		expect(three, 3, 2);
		CHECK(!k.c.reassembly[DCE_FROM_SERVER].active);
		CHECK(k.c.reassembly[DCE_FROM_SERVER].body == NULL);
	}
}

static void test_retransmitted_fragment_ignored(void)
{
	static const size_t order[] = { 1, 1, 0, 1, 2 };

	answer_in_fragments(false, order, 5);
	expect(three, 3, 2);
}

static void test_request_in_fragments_out_of_order(void)
{
	for (size_t o = 0; o < 6; o++) {
		struct cl_pdu p;

		cl_open(o & 1, 4096);
		p = map_request(4);
		send_fragments(DCE_FROM_CLIENT, &p, 3, orders[o], 3);
		CHECK(k.c.n_calls == 1);
		CHECK(reply(4) == 1);
		expect(one, 1, 4);
	}
}

static void test_two_activities_answered_in_reverse(void)
{
	struct cl_pdu p;

	cl_open(false, 4096);
	ask(1);
	p = map_request(1);
	p.activity = test_uuid("11111111-2222-3333-4444-555555555555");
	CHECK(send_pdu(DCE_FROM_CLIENT, &p) == 0);
	CHECK(k.c.n_calls == 2);
	p = answer(1, one, 1);
	p.activity = test_uuid("11111111-2222-3333-4444-555555555555");
	CHECK(send_pdu(DCE_FROM_SERVER, &p) == 1);
	CHECK(reply(1) == 1);
	CHECK(k.c.n_calls == 0);
}

static void test_retransmitted_request_is_one_call(void)
{
	cl_open(false, 4096);
	ask(5);
	ask(5);
	CHECK(k.c.n_calls == 1);
	CHECK(reply(5) == 1);
	CHECK(reply(5) == 0);	/* the answer's retransmission */
	expect(one, 1, 5);
}

static void test_later_seqnum_ends_earlier_call(void)
{
	cl_open(false, 4096);
	ask(5);
	ask(4);		/* a late duplicate of an older call: keeps 5 */
	CHECK(k.c.n_calls == 2);
	ask(6);		/* the activity moved on: 4 and 5 are over */
	CHECK(k.c.n_calls == 1);
	CHECK(reply(5) == 0);
	CHECK(reply(4) == 0);
	CHECK(reply(6) == 1);
	expect(one, 1, 6);
}

static void test_seqnum_wraps(void)
{
	cl_open(false, 4096);
	ask(0xffffffff);
	ask(0);		/* later than 0xffffffff in serial arithmetic */
	CHECK(k.c.n_calls == 1);
	CHECK(reply(0xffffffff) == 0);
	CHECK(reply(0) == 1);
}

static void test_bytes_after_body_ignored(void)
{
	open_with_answer(false);
	put_fill(&pdu, 0xee, 8);
	CHECK(feed(DCE_FROM_SERVER, pdu.b, pdu.len) == 1);
	expect(one, 1, 1);
}

static void test_interface_minor_version_accepted(void)
{
	struct cl_pdu p;

	cl_open(false, 4096);
	p = map_request(1);
	p.if_vers = 0x00010003;		/* v3.1 */
	CHECK(send_pdu(DCE_FROM_CLIENT, &p) == 0);
	CHECK(reply(1) == 1);
}

/* ---- the header: bad ---- */

static void test_header_truncated_every_length(void)
{
	open_with_answer(false);
	for (size_t len = 0; len < DCE_CL_HDR_LEN; len++) {
		struct dce_cl_hdr h;
		uint8_t *copy = malloc(len + 1);

		memcpy(copy, pdu.b, len);
		CHECK(!dce_cl_parse_hdr(copy, len, &h));
		free(copy);
		CHECK(feed(DCE_FROM_SERVER, pdu.b, len) == 0);
	}
	/* and every cut of the body: its length is past the datagram */
	for (size_t len = DCE_CL_HDR_LEN; len < pdu.len; len++)
		CHECK(feed(DCE_FROM_SERVER, pdu.b, len) == 0);
	expect_none();
	CHECK(k.c.n_calls == 1);
	CHECK(feed(DCE_FROM_SERVER, pdu.b, pdu.len) == 1);	/* the control */
}

static void test_body_length_past_datagram(void)
{
	static const uint16_t lies[] = { 1, 2, 0xffff };

	for (int be = 0; be < 2; be++) {
		for (size_t i = 0; i < 3; i++) {
			size_t body;

			open_with_answer(be);
			body = pdu.len - DCE_CL_HDR_LEN;
			bld_patch(&pdu, CL_LEN_AT,
				  lies[i] == 0xffff ? 0xffff : body + lies[i], 2);
			CHECK(feed(DCE_FROM_SERVER, pdu.b, pdu.len) == 0);
			expect_none();
			CHECK(reply(1) == 1);	/* the control */
		}
	}
}

static void test_rpc_vers_and_drep_refused(void)
{
	static const struct { size_t at; uint8_t v; } bad[] = {
		{ 0, 5 }, { 0, 3 }, { 0, 0x44 }, { CL_DREP_AT, 0x20 },
		{ CL_DREP_AT, 0xf0 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dce_cl_hdr h;

		open_with_answer(false);
		pdu.b[bad[i].at] = bad[i].v;
		CHECK(!dce_cl_parse_hdr(pdu.b, pdu.len, &h));
		CHECK(feed(DCE_FROM_SERVER, pdu.b, pdu.len) == 0);
		expect_none();
		CHECK(reply(1) == 1);	/* the control */
	}
}

/* ---- answers that do not match a question ---- */

static void test_response_without_request(void)
{
	cl_open(false, 4096);
	CHECK(reply(1) == 0);
	expect_none();
}

static void test_response_wrong_activity(void)
{
	struct cl_pdu p;

	p = asked_answer();
	p.activity = test_uuid("9b3c5e1a-7d42-4f08-b6a1-2c4d6e8f0a14");
	CHECK(send_pdu(DCE_FROM_SERVER, &p) == 0);
	expect_none();
	CHECK(k.c.n_calls == 1);
	CHECK(reply(1) == 1);
}

static void test_response_wrong_seqnum(void)
{
	cl_open(false, 4096);
	ask(1);
	CHECK(reply(2) == 0);
	CHECK(reply(0) == 0);
	expect_none();
	CHECK(reply(1) == 1);
}

static void test_response_from_client_direction(void)
{
	struct cl_pdu p;

	p = asked_answer();
	CHECK(send_pdu(DCE_FROM_CLIENT, &p) == 0);
	expect_none();
	CHECK(reply(1) == 1);
}

static void test_request_from_server_direction(void)
{
	struct cl_pdu p;

	cl_open(false, 4096);
	p = map_request(1);
	CHECK(send_pdu(DCE_FROM_SERVER, &p) == 0);
	CHECK(k.c.n_calls == 0);
	CHECK(reply(1) == 0);
}

/* The map request, altered, then the answer to it: nothing. */
static void expect_request_ignored(struct cl_pdu p)
{
	cl_open(false, 4096);
	CHECK(send_pdu(DCE_FROM_CLIENT, &p) == 0);
	CHECK(k.c.n_calls == 0);
	CHECK(reply(1) == 0);
	expect_none();
}

static void test_request_wrong_interface(void)
{
	static const uint16_t ops[] = { 0, 1, 4, 6 };
	struct cl_pdu p;

	k.be = false;
	p = map_request(1);
	p.iface = test_uuid(EMSMDB_UUID);
	expect_request_ignored(p);
	p = map_request(1);
	p.if_vers = 4;
	expect_request_ignored(p);
	p = map_request(1);
	p.if_vers = 0x00030000;		/* v0.3 */
	expect_request_ignored(p);
	for (size_t i = 0; i < 4; i++) {
		p = map_request(1);
		p.opnum = ops[i];
		expect_request_ignored(p);
	}
}

static void test_request_fragments_disagree_on_opnum(void)
{
	struct cl_pdu p, f;

	cl_open(false, 4096);
	p = map_request(1);
	f = cl_fragment(p, 0, 2);
	CHECK(send_pdu(DCE_FROM_CLIENT, &f) == 0);
	CHECK(k.c.reassembly[DCE_FROM_CLIENT].active);
	f = cl_fragment(p, 1, 2);
	f.opnum = EPM_OP_LOOKUP;
	CHECK(send_pdu(DCE_FROM_CLIENT, &f) == 0);
	CHECK(!k.c.reassembly[DCE_FROM_CLIENT].active);
	CHECK(k.c.n_calls == 0);
	CHECK(reply(1) == 0);
}

/* Only calls to EPM are worth memory: other opnums are not joined. */
static void test_non_epm_request_fragments_not_joined(void)
{
	static const uint16_t ops[] = { 0, 1, 4, EPM_OP_MAP };

	for (size_t i = 0; i < 4; i++) {
		struct cl_pdu f;

		cl_open(false, 4096);
		f = cl_fragment(map_request(1), 0, 2);
		f.opnum = ops[i];
		CHECK(send_pdu(DCE_FROM_CLIENT, &f) == 0);
		CHECK(k.c.reassembly[DCE_FROM_CLIENT].active ==
		      (ops[i] == EPM_OP_MAP));
	}
}

/* The latest request of a call is the one its answer answers. */
static void test_request_replaced_by_unfollowed_one(void)
{
	struct cl_pdu p;

	cl_open(false, 4096);
	ask(1);
	p = map_request(1);
	p.auth_proto = 10;
	CHECK(send_pdu(DCE_FROM_CLIENT, &p) == 0);
	CHECK(k.c.n_calls == 0);
	CHECK(reply(1) == 0);
}

static void test_request_stub_malformed(void)
{
	struct cl_pdu p;

	k.be = false;
	p = map_request(1);
	p.body_len -= 4;	/* max_towers cut off */
	expect_request_ignored(p);
}

static void test_authenticated_request_refused(void)
{
	struct cl_pdu p;

	k.be = false;
	p = map_request(1);
	p.auth_proto = 10;	/* NTLMSSP, verifier after the body */
	expect_request_ignored(p);
}

static void test_authenticated_response_ends_call(void)
{
	struct cl_pdu p;

	p = asked_answer();
	p.auth_proto = 10;
	CHECK(send_pdu(DCE_FROM_SERVER, &p) == 0);
	CHECK(k.c.n_calls == 0);
	CHECK(reply(1) == 0);
	expect_none();
}

static void test_status_not_zero(void)
{
	struct twr t = twr_std(&emsmdb);
	const struct twr *tl[] = { &t };
	struct epm_resp r = resp_of(EPM_OP_MAP, 1, tl);
	struct cl_pdu p;

	cl_open(false, 4096);
	ask(1);
	r.status = 0x16c9a0d6;	/* EPT_S_NOT_REGISTERED */
	cl_answer_stub(&stub, false, &r);
	p = cl_call(DCE_RESPONSE, 1, EPM_OP_MAP, &stub);
	CHECK(send_pdu(DCE_FROM_SERVER, &p) == 0);
	expect_none();
	CHECK(k.c.n_calls == 0);
}

/* A fault or reject of ptype for seqnum `which`, then the answer to 1. */
static void failure_then_reply(uint8_t ptype, uint32_t which)
{
	struct cl_pdu p;

	bld_init(&stub, false, false);
	put_u32(&stub, 0x1c010003);	/* nca_s_unk_if */
	cl_open(false, 4096);
	ask(1);
	p = cl_call(ptype, which, EPM_OP_MAP, &stub);
	CHECK(send_pdu(DCE_FROM_SERVER, &p) == 0);
	reply(1);
}

static void test_fault_ends_call(void)
{
	failure_then_reply(DCE_FAULT, 2);	/* another call's: kept */
	expect(one, 1, 1);
	failure_then_reply(DCE_FAULT, 1);
	expect_none();
}

static void test_reject_ends_call(void)
{
	failure_then_reply(DCE_CL_REJECT, 2);
	expect(one, 1, 1);
	failure_then_reply(DCE_CL_REJECT, 1);
	expect_none();
}

static void test_calls_beyond_max_outstanding(void)
{
	cl_open(false, 4096);
	for (uint32_t i = 0; i <= DCE_CL_MAX_CALLS; i++) {
		struct cl_pdu p = map_request(1);

		p.activity.b[15] = (uint8_t)i;	/* one activity per call */
		CHECK(send_pdu(DCE_FROM_CLIENT, &p) == 0);
	}
	CHECK(k.c.n_calls == DCE_CL_MAX_CALLS);
	for (uint32_t i = 0; i <= DCE_CL_MAX_CALLS; i++) {
		struct cl_pdu p = answer(1, one, 1);

		p.activity.b[15] = (uint8_t)i;
		CHECK(send_pdu(DCE_FROM_SERVER, &p) ==
		      (i < DCE_CL_MAX_CALLS ? 1 : 0));
	}
}

/* ---- fragments: bad ---- */

static void test_fragments_beyond_cap(void)
{
	struct cl_pdu p;
	size_t body;

	cl_open(false, 4096);
	p = answer(2, three, 3);
	body = p.body_len;
	cl_open(false, body);	/* exactly the cap: fine */
	ask(2);
	p = answer(2, three, 3);
	send_all_fragments(DCE_FROM_SERVER, &p, 3);
	expect(three, 3, 2);
	cl_open(false, body - 1);
	ask(2);
	p = answer(2, three, 3);
	send_all_fragments(DCE_FROM_SERVER, &p, 3);
	expect_none();
	CHECK(k.c.n_calls == 0);	/* the call is dropped */
	CHECK(k.c.reassembly[DCE_FROM_SERVER].body == NULL);
	send_all_fragments(DCE_FROM_SERVER, &p, 3);
	expect_none();
}

static void test_request_fragments_beyond_cap(void)
{
	struct cl_pdu p;

	cl_open(false, 8);
	p = map_request(1);
	send_all_fragments(DCE_FROM_CLIENT, &p, 3);
	CHECK(k.c.n_calls == 0);
	CHECK(reply(1) == 0);
}

static void test_fragments_beyond_max_frags(void)
{
	for (size_t n = DCE_CL_MAX_FRAGS; n <= DCE_CL_MAX_FRAGS + 1; n++) {
		struct cl_pdu p;

		cl_open(false, 4096);
		ask(2);
		p = answer(2, one, 1);
		send_all_fragments(DCE_FROM_SERVER, &p, n);
		CHECK(k.endpoints == (n == DCE_CL_MAX_FRAGS ? 1 : 0));
	}
}

/* The three-tower answer to 2, its three fragments sent in `order` with
 * `bad` sent before position `at` (3: after them). */
static void fragments_with(const size_t *order, const struct cl_pdu *bad,
			   size_t at)
{
	cl_open(false, 4096);
	ask(2);
	for (size_t i = 0; i <= 3; i++) {
		struct cl_pdu p = answer(2, three, 3);

		if (i == at)
			send_pdu(DCE_FROM_SERVER, bad);
		if (i < 3) {
			p = cl_fragment(p, order[i], 3);
			send_pdu(DCE_FROM_SERVER, &p);
		}
	}
}

/* Nothing reported, and the call is over. */
static void expect_dropped(void)
{
	expect_none();
	CHECK(k.c.n_calls == 0);
	CHECK(!k.c.reassembly[DCE_FROM_SERVER].active);
}

static void test_fragment_inconsistencies_drop_call(void)
{
	static const size_t in_order[] = { 0, 1, 2 }, last_first[] = { 2, 0, 1 };
	/* fragment `frag` sent again, altered, before position `at` of order */
	static const struct {
		size_t frag;
		bool shorter, flip_byte;
		uint8_t add_flags;
		uint16_t fragnum;	/* 0: frag's own */
		const size_t *order;
		size_t at;
		bool good;
	} cases[] = {
		/* the controls: faithful retransmissions */
		{ 1, false, false, 0, 0, in_order, 2, true },
		{ 1, false, false, 0, 0, last_first, 3, true },
		/* other length, other bytes, now saying it is the last */
		{ 1, true, false, 0, 0, in_order, 2, false },
		{ 1, false, true, 0, 0, in_order, 2, false },
		{ 1, false, false, DCE_CL_LASTFRAG, 0, in_order, 2, false },
		/* a second LASTFRAG (5), before and after the first */
		{ 2, false, false, 0, 5, in_order, 2, false },
		{ 2, false, false, 0, 5, last_first, 1, false },
		/* a fragment (3) after the last, which came first */
		{ 1, false, false, 0, 3, last_first, 1, false },
		/* the LASTFRAG arrives when a later fragment (3) is held */
		{ 1, false, false, 0, 3, in_order, 2, false },
	};
	static uint8_t other[BLD_CAP];

	k.be = false;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cl_pdu bad = cl_fragment(answer(2, three, 3),
						cases[i].frag, 3);

		bad.body_len -= cases[i].shorter;
		if (cases[i].flip_byte) {
			memcpy(other, bad.body, bad.body_len);
			other[bad.body_len / 2] ^= 1;
			bad.body = other;
		}
		bad.flags1 |= cases[i].add_flags;
		if (cases[i].fragnum)
			bad.fragnum = cases[i].fragnum;
		fragments_with(cases[i].order, &bad, cases[i].at);
		if (cases[i].good) {
			expect(three, 3, 2);
		} else {
			expect_dropped();
		}
	}
}

/*
 * Fragments 0, 2 (LASTFRAG) and 3 that carry, in that order, the bytes of
 * a good answer: three fragments up to the last are there, but not 1, so
 * the call is not whole; the fragment after the last drops it.
 */
static void test_fragment_after_last_never_completes(void)
{
	struct cl_pdu p, f;

	cl_open(false, 4096);
	ask(2);
	p = answer(2, three, 3);
	f = cl_fragment(p, 0, 3);
	CHECK(send_pdu(DCE_FROM_SERVER, &f) == 0);
	f = cl_fragment(p, 1, 3);
	f.fragnum = 2;
	f.flags1 |= DCE_CL_LASTFRAG;
	CHECK(send_pdu(DCE_FROM_SERVER, &f) == 0);
	f = cl_fragment(p, 2, 3);
	f.fragnum = 3;
	f.flags1 &= (uint8_t)~DCE_CL_LASTFRAG;
	CHECK(send_pdu(DCE_FROM_SERVER, &f) == 0);
	expect_dropped();
}

static void test_fragment_drep_changes(void)
{
	struct cl_pdu p;

	cl_open(false, 4096);
	ask(2);
	p = answer(2, three, 3);
	for (size_t i = 0; i < 3; i++) {
		struct cl_pdu f = cl_fragment(p, i, 3);

		k.be = i == 1;	/* the bytes are LE; the header says BE */
		bld_init(&pdu, k.be, false);
		put_cl_pdu(&pdu, &f);
		feed(DCE_FROM_SERVER, pdu.b, pdu.len);
	}
	expect_none();
	CHECK(k.c.n_calls == 0);
}

static void test_unfragmented_with_fragnum(void)
{
	struct cl_pdu p;

	p = asked_answer();
	p.fragnum = 1;
	CHECK(send_pdu(DCE_FROM_SERVER, &p) == 0);
	CHECK(reply(1) == 0);	/* inconsistent: the call is over */
	expect_none();
}

static void test_fragment_of_other_call_interleaved(void)
{
	/* call A's first fragment, call B's last two, A's last two: joined
	 * across calls (the answers are the same bytes), B's would complete
	 * A's body */
	static const struct { bool b; size_t frag; } order[] = {
		{ false, 0 }, { true, 1 }, { true, 2 }, { false, 1 }, { false, 2 }
	};
	const struct uuid other = test_uuid("11111111-2222-3333-4444-555555555555");
	struct cl_pdu p;

	cl_open(false, 4096);
	ask(2);
	p = map_request(2);
	p.activity = other;
	send_pdu(DCE_FROM_CLIENT, &p);
	CHECK(k.c.n_calls == 2);
	for (size_t i = 0; i < 5; i++) {
		p = answer(2, three, 3);
		if (order[i].b)
			p.activity = other;
		p = cl_fragment(p, order[i].frag, 3);
		send_pdu(DCE_FROM_SERVER, &p);
	}
	expect_none();
}

static void test_response_fragment_without_request(void)
{
	struct cl_pdu p;

	cl_open(false, 4096);
	p = answer(1, three, 3);
	send_all_fragments(DCE_FROM_SERVER, &p, 3);
	expect_none();
	CHECK(!k.c.reassembly[DCE_FROM_SERVER].active);
}

/* ---- random input ---- */

static uint32_t xorshift32(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_random_bytes_report_nothing(void)
{
	static const uint8_t ptypes[] = { DCE_REQUEST, DCE_RESPONSE,
					  DCE_FAULT, DCE_CL_REJECT,
					  DCE_CL_PING, DCE_CL_FACK };
	uint32_t seed = 0x2545f491;
	int endpoints = 0, consumed = 0;

	cl_open(false, 4096);
	ask(2);
	for (int i = 0; i < 20000; i++) {
		size_t len = xorshift32(&seed) % 400;
		uint8_t *buf = malloc(len + 1);
		uint32_t r = xorshift32(&seed);
		enum dce_dir dir = r & 1 ? DCE_FROM_SERVER : DCE_FROM_CLIENT;
		uint8_t calls = k.c.n_calls;
		bool response = false;

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)xorshift32(&seed);
		if (len >= DCE_CL_HDR_LEN) {
			bool be = r & 2;
			struct uuid act = test_uuid(CL_ACTIVITY);

			buf[0] = DCE_CL_RPC_VERS;
			buf[1] = ptypes[(r >> 2) % 6];
			response = buf[1] == DCE_RESPONSE;
			buf[2] &= DCE_CL_FRAG | DCE_CL_LASTFRAG;
			buf[4] = be ? 0 : 0x10;
			if (r & 0x100)
				uuid_bytes(buf + CL_IF_ID_AT, &epm_iface_uuid, be);
			uuid_bytes(buf + 40, &act, be);
			bld_int_at(buf + CL_IF_VERS_AT, 3, 4, be);
			bld_int_at(buf + CL_SEQNUM_AT, 1 + (r >> 9) % 3, 4, be);
			bld_int_at(buf + CL_OPNUM_AT, 2 + (r >> 11) % 2, 2, be);
			bld_int_at(buf + CL_LEN_AT, r & 0x1000 ? len - 80 :
				   xorshift32(&seed) % (len - 79), 2, be);
			bld_int_at(buf + CL_FRAGNUM_AT, (r >> 13) % 4, 2, be);
			buf[CL_AUTH_PROTO_AT] = r & 0x30000 ? 0 : buf[79];
		}
		dce_cl_input(&k.c, dir, buf, len, got_cl, &k);
		free(buf);
		consumed += response && k.c.n_calls < calls;
		if (i % 64 == 0) {
			endpoints += k.got.n;
			cl_open(r & 0x20, 4096);	/* fresh, call 2 waiting */
			ask(2);
		}
	}
	endpoints += k.got.n;
	CHECK(endpoints == 0);
	CHECK(consumed > 0);	/* answers did reach their calls */
}

int main(void)
{
	RUN(test_header_fields_both_dreps);
	RUN(test_map_one_fragment_le_and_be);
	RUN(test_map_tcp_and_udp_towers);
	RUN(test_lookup_answered);
	RUN(test_response_fragments_every_order_both_dreps);
	RUN(test_retransmitted_fragment_ignored);
	RUN(test_request_in_fragments_out_of_order);
	RUN(test_two_activities_answered_in_reverse);
	RUN(test_retransmitted_request_is_one_call);
	RUN(test_later_seqnum_ends_earlier_call);
	RUN(test_seqnum_wraps);
	RUN(test_bytes_after_body_ignored);
	RUN(test_interface_minor_version_accepted);
	RUN(test_header_truncated_every_length);
	RUN(test_body_length_past_datagram);
	RUN(test_rpc_vers_and_drep_refused);
	RUN(test_response_without_request);
	RUN(test_response_wrong_activity);
	RUN(test_response_wrong_seqnum);
	RUN(test_response_from_client_direction);
	RUN(test_request_from_server_direction);
	RUN(test_request_wrong_interface);
	RUN(test_request_fragments_disagree_on_opnum);
	RUN(test_non_epm_request_fragments_not_joined);
	RUN(test_request_replaced_by_unfollowed_one);
	RUN(test_request_stub_malformed);
	RUN(test_authenticated_request_refused);
	RUN(test_authenticated_response_ends_call);
	RUN(test_status_not_zero);
	RUN(test_fault_ends_call);
	RUN(test_reject_ends_call);
	RUN(test_calls_beyond_max_outstanding);
	RUN(test_fragments_beyond_cap);
	RUN(test_request_fragments_beyond_cap);
	RUN(test_fragments_beyond_max_frags);
	RUN(test_fragment_inconsistencies_drop_call);
	RUN(test_fragment_after_last_never_completes);
	RUN(test_fragment_drep_changes);
	RUN(test_unfragmented_with_fragnum);
	RUN(test_fragment_of_other_call_interleaved);
	RUN(test_response_fragment_without_request);
	RUN(test_random_bytes_report_nothing);
	dce_cl_release(&k.c);
	UNIT_EXIT();
}
