/* DCE/RPC connection-oriented PDUs through struct dce_conn. */
#include "../../daemon/dcerpc.c"
#include "build_pdu.h"
#include "tcp_stream.h"
#include "unit.h"

static const struct tw emsmdb = TW_EMSMDB, nspi = TW_NSPI;

/* One connection, and a builder per direction in its encoding. */
struct conv {
	struct dce_conn c;
	struct got got;
	int endpoints;
	struct bld out[2];	/* by enum dce_dir */
};

static struct conv k;	/* the tests' connection; 32 KiB of builders */

static void conv_init(bool be, bool ndr64, size_t max_stub)
{
	dce_conn_release(&k.c);
	dce_conn_init(&k.c, max_stub);
	memset(&k.got, 0, sizeof(k.got));
	k.endpoints = 0;
	bld_init(&k.out[DCE_FROM_CLIENT], be, ndr64);
	bld_init(&k.out[DCE_FROM_SERVER], be, ndr64);
}

static struct bld *client(void) { return &k.out[DCE_FROM_CLIENT]; }
static struct bld *server(void) { return &k.out[DCE_FROM_SERVER]; }

/* Feeds what was built for dir since the last send; true when all of it
 * was consumed. */
static bool conv_send(enum dce_dir dir)
{
	struct bld *b = &k.out[dir];
	size_t used = dce_conn_input(&k.c, dir, b->b, b->len, got_dce, &k.got,
				     &k.endpoints);
	bool all = used == b->len;

	b->len = 0;
	return all;
}

/* Bound as put_epm_bind does: contexts 1 and 3 EPM, 2 EMSMDB. */
static void conv_bind(bool be, bool ndr64, size_t max_stub)
{
	conv_init(be, ndr64, max_stub);
	put_epm_bind(client(), 1);
	CHECK(conv_send(DCE_FROM_CLIENT));
	put_epm_bind_ack(server(), 1);
	CHECK(conv_send(DCE_FROM_SERVER));
}

/* An ept_map(EMSMDB) with room for 4 towers as call_id on ctx_id. */
static void ask(uint32_t call_id, uint16_t ctx_id)
{
	struct twr t = twr_std(&emsmdb);

	put_map_call(client(), call_id, ctx_id, &t, 4);
	CHECK(conv_send(DCE_FROM_CLIENT));
}

/* The usual start: bound, call 2 on context 1 waiting. */
static void conv_open(bool be, bool ndr64)
{
	conv_bind(be, ndr64, 4096);
	ask(2, 1);
}

/* The stub of an honest answer: EMSMDB's tower, and NSPI's when two. */
static void answer_stub(struct bld *stub, size_t towers)
{
	struct twr t[2] = { twr_std(&emsmdb), twr_std(&nspi) };
	const struct twr *tl[] = { &t[0], &t[1] };
	struct epm_resp r = resp_of(EPM_OP_MAP, towers, tl);

	bld_init(stub, server()->be, server()->ndr64);
	put_epm_response(stub, &r);
}

/* Appends the one-tower answer to the server's builder. */
static size_t put_reply(uint32_t call_id, uint16_t ctx_id)
{
	struct bld stub;

	answer_stub(&stub, 1);
	return put_call(server(), DCE_RESPONSE, call_id, ctx_id, 0, &stub);
}

/* Exactly n endpoints so far, EMSMDB's first and NSPI's second. */
static void expect(int n)
{
	const struct tw *want[] = { &emsmdb, &nspi };

	if (k.endpoints != n || k.got.n != n)
		printf("#   %d endpoints (%d reported), want %d\n", k.endpoints,
		       k.got.n, n);
	CHECK(k.endpoints == n);
	CHECK(k.got.n == n);
	for (int i = 0; i < n && i < k.got.n && i < 2; i++)
		CHECK(ep_is(&k.got.ep[i], want[i]));
}

/*
 * Delivers the server's builder through a fresh tcp_stream in segments
 * of `piece` bytes, FIN on the last; returns the stream's final state.
 */
static enum tcp_stream_state stream_send(enum dce_dir dir, size_t piece)
{
	struct bld *b = &k.out[dir];
	struct dce_feed feed = { &k.c, dir, &k.got, 0 };
	struct tcp_stream s;
	enum tcp_stream_state state;

	tcp_stream_init(&s, 65536, 256);
	tcp_stream_open(&s, 41000);
	for (size_t at = 0; at < b->len; at += piece) {
		size_t n = b->len - at < piece ? b->len - at : piece;

		tcp_stream_segment(&s, 41001 + (uint32_t)at, b->b + at, n,
				   at + n == b->len, dce_feed_fn, &feed);
	}
	k.endpoints += feed.endpoints;
	state = s.state;
	tcp_stream_release(&s);
	b->len = 0;
	return state;
}

/* ---- whole conversations ---- */

static void test_conv_bind_request_response_one_endpoint(void)
{
	conv_open(false, false);
	CHECK(k.c.n_calls == 1);
	put_reply(2, 1);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(1);
	CHECK(k.c.n_calls == 0);
}

static void test_conv_every_drep_and_syntax(void)
{
	for (int enc = 0; enc < 4; enc++) {
		conv_open(enc & 1, enc & 2);
		put_reply(2, 1);
		CHECK(conv_send(DCE_FROM_SERVER));
		expect(1);
	}
}

static void test_conv_request_with_object_uuid(void)
{
	struct twr t = twr_std(&emsmdb);
	struct bld stub;
	struct pdu p = { .ptype = DCE_REQUEST, .call_id = 2, .ctx_id = 1,
			 .flags = WHOLE | PFC_OBJECT_UUID, .opnum = EPM_OP_MAP };

	conv_bind(false, false, 4096);
	bld_init(&stub, false, false);
	put_map_request(&stub, &t, 4);
	p.stub = stub.b;
	p.stub_len = stub.len;
	put_pdu(client(), &p);
	CHECK(conv_send(DCE_FROM_CLIENT));
	put_reply(2, 1);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(1);
}

/* The two-tower answer to call 2 in three fragments; feeds fragments
 * [from, to) one input each and returns the stub length. */
static size_t send_fragments(size_t from, size_t to)
{
	struct bld stub;
	struct pdu p = { .ptype = DCE_RESPONSE, .call_id = 2, .ctx_id = 1 };
	size_t offs[4];
	struct bld *b = server();

	answer_stub(&stub, 2);
	put_fragments(b, p, &stub, 3, offs);
	for (size_t i = from; i < to; i++) {
		size_t n = offs[i + 1] - offs[i];

		CHECK(dce_conn_input(&k.c, DCE_FROM_SERVER, b->b + offs[i], n,
				     got_dce, &k.got, &k.endpoints) == n);
		if (i + 1 < 3)
			CHECK(k.endpoints == 0);
	}
	b->len = 0;
	return stub.len;
}

static void test_conv_response_in_three_fragments(void)
{
	conv_open(false, false);
	send_fragments(0, 3);
	expect(2);
}

static void test_conv_three_pdus_in_one_buffer(void)
{
	struct twr t = twr_std(&nspi);

	/* requests pipelined before the bind_ack, as Windows clients do */
	conv_init(false, false, 4096);
	put_epm_bind(client(), 1);
	put_map_call(client(), 2, 1, &t, 4);
	put_map_call(client(), 3, 1, &t, 4);
	CHECK(conv_send(DCE_FROM_CLIENT));
	put_epm_bind_ack(server(), 1);
	put_reply(3, 1);
	put_reply(2, 1);
	CHECK(conv_send(DCE_FROM_SERVER));
	CHECK(k.endpoints == 2 && k.got.n == 2);
}

static void test_conv_response_one_byte_segments_via_tcp_stream(void)
{
	conv_open(false, false);
	put_reply(2, 1);
	CHECK(stream_send(DCE_FROM_SERVER, 1) == TCP_STREAM_CLOSED);
	expect(1);
}

static void test_http_banner_consumed(void)
{
	for (size_t piece = 1; piece <= 32; piece += 31) {
		conv_init(false, false, 4096);
		put_epm_bind(client(), 1);
		CHECK(conv_send(DCE_FROM_CLIENT));
		put_bytes(server(), "ncacn_http/1.0", 14);
		put_epm_bind_ack(server(), 1);
		CHECK(stream_send(DCE_FROM_SERVER, piece) == TCP_STREAM_CLOSED);
		ask(2, 1);
		CHECK(k.c.n_calls == 1);
		put_reply(2, 1);
		CHECK(conv_send(DCE_FROM_SERVER));
		expect(1);
	}
}

/* ---- common header ---- */

/* The one-tower reply to call 2, alone in the server's builder. */
static struct bld *reply_only(void)
{
	server()->len = 0;
	put_reply(2, 1);
	return server();
}

static void test_header_truncated_every_length_waits(void)
{
	conv_open(false, false);
	for (size_t len = 0; len < DCE_HDR_LEN; len++) {
		uint8_t *copy = malloc(len + 1);	/* exact, for ASan */
		struct dce_hdr h;

		memcpy(copy, reply_only()->b, len);
		CHECK(!dce_parse_hdr(copy, len, &h));
		CHECK(dce_conn_input(&k.c, DCE_FROM_SERVER, copy, len, got_dce,
				     &k.got, &k.endpoints) == 0);
		free(copy);
	}
	expect(0);
	CHECK(conv_send(DCE_FROM_SERVER));	/* then the whole PDU */
	expect(1);
}

static void test_frag_length_below_16_desyncs(void)
{
	conv_open(false, false);
	for (uint16_t v = 0; v < DCE_HDR_LEN; v++) {
		struct bld *b = reply_only();

		bld_patch(b, FRAG_LEN_AT, v, 2);
		CHECK(dce_conn_input(&k.c, DCE_FROM_SERVER, b->b, b->len,
				     got_dce, &k.got, &k.endpoints) == DCE_DESYNC);
	}
	expect(0);
}

static void test_frag_length_beyond_data_waits_then_nothing(void)
{
	struct bld *b;

	conv_open(false, false);
	b = reply_only();
	bld_patch(b, FRAG_LEN_AT, b->len + 1, 2);
	CHECK(dce_conn_input(&k.c, DCE_FROM_SERVER, b->b, b->len, got_dce,
			     &k.got, &k.endpoints) == 0);
	/* the stream ends (FIN) with the PDU still one byte short */
	CHECK(stream_send(DCE_FROM_SERVER, 7) == TCP_STREAM_CLOSED);
	expect(0);
}

struct patch {
	size_t at;
	uint8_t v;
};

/* Each one-byte patch of the reply's header makes the stream not DCE/RPC. */
static void expect_desync(const struct patch *bad, size_t n)
{
	conv_open(false, false);
	for (size_t i = 0; i < n; i++) {
		struct bld *b = reply_only();

		b->b[bad[i].at] = bad[i].v;
		CHECK(dce_conn_input(&k.c, DCE_FROM_SERVER, b->b, b->len,
				     got_dce, &k.got, &k.endpoints) == DCE_DESYNC);
	}
	expect(0);
}

static void test_rpc_vers_not_5_desyncs(void)
{
	static const struct patch bad[] = { { 0, 4 }, { 0, 6 }, { 0, 0x50 },
					    { 1, 2 } /* minor */ };

	expect_desync(bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_unknown_drep_desyncs(void)
{
	static const struct patch bad[] = { { 4, 0x20 }, { 4, 0xf0 },
					    { 4, 0x30 } };

	expect_desync(bad, sizeof(bad) / sizeof(bad[0]));
}

/* ---- auth trailer ---- */

/* The reply with an auth trailer; returns where the sec_trailer is. */
static size_t put_signed_reply(uint8_t level)
{
	struct bld stub;
	struct pdu p = { .ptype = DCE_RESPONSE, .flags = WHOLE, .call_id = 2,
			 .ctx_id = 1, .auth_len = 16, .auth_level = level };
	struct bld *b = server();

	answer_stub(&stub, 1);
	p.stub = stub.b;
	p.stub_len = stub.len;
	b->len = 0;
	put_pdu(b, &p);
	return b->len - 16 - 8;
}

static void test_auth_integrity_trailer_skipped(void)
{
	conv_open(false, false);
	put_signed_reply(AUTH_LEVEL_INTEGRITY);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(1);
}

static void test_auth_length_past_fragment(void)
{
	static const uint16_t lengths[] = { 1000, 0xffff };

	for (size_t i = 0; i < 2; i++) {
		conv_open(false, false);
		put_signed_reply(AUTH_LEVEL_INTEGRITY);
		bld_patch(server(), AUTH_LEN_AT, lengths[i], 2);
		CHECK(conv_send(DCE_FROM_SERVER));
		expect(0);
	}
}

static void test_auth_pad_length_past_body(void)
{
	conv_open(false, false);
	server()->b[put_signed_reply(AUTH_LEVEL_INTEGRITY) + 2] = 0xff;
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
}

static void test_auth_pkt_privacy_yields_nothing(void)
{
	conv_open(false, false);
	put_signed_reply(AUTH_LEVEL_PRIVACY);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
}

/* ---- answers that do not match a question ---- */

static void test_response_without_request(void)
{
	conv_bind(false, false, 4096);
	put_reply(2, 1);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
}

static void test_response_unknown_call_id(void)
{
	conv_open(false, false);
	put_reply(7, 1);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
	CHECK(k.c.n_calls == 1);	/* call 2 still waits */
}

static void test_response_on_non_epm_context(void)
{
	conv_open(false, false);
	put_reply(2, 2);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
}

static void test_request_on_non_epm_context(void)
{
	conv_bind(false, false, 4096);
	ask(2, 2);
	CHECK(k.c.n_calls == 0);
	put_reply(2, 2);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
}

static void test_response_context_differs_from_request(void)
{
	conv_open(false, false);	/* asked on 1; 3 is EPM too */
	put_reply(2, 3);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
}

/*
 * bind (call 1), the server's answer to it, and an ept_map as call 2 on
 * context 1 asked before that answer (pipelined) or after; then the
 * reply to call 2, in the transfer syntax of the answer's first result.
 */
static void bind_answered_by(const struct pdu *answer, bool pipelined)
{
	conv_init(false, false, 4096);
	put_epm_bind(client(), 1);
	CHECK(conv_send(DCE_FROM_CLIENT));
	if (pipelined)
		ask(2, 1);
	put_pdu(server(), answer);
	CHECK(conv_send(DCE_FROM_SERVER));
	if (!pipelined)
		ask(2, 1);
	server()->ndr64 = answer->results && answer->results[0].ndr64;
	put_reply(2, 1);
	CHECK(conv_send(DCE_FROM_SERVER));
}

static void test_response_after_bind_nak(void)
{
	struct pdu nak = { .ptype = DCE_BIND_NAK, .flags = WHOLE, .call_id = 1 };

	bind_answered_by(&nak, false);
	expect(0);
	bind_answered_by(&nak, true);
	expect(0);
}

/* A bind_ack with these three results, after a pipelined request. */
static void pipelined_ack(const struct ctx_result *r, uint32_t call_id)
{
	struct pdu ack = { .ptype = DCE_BIND_ACK, .flags = WHOLE,
			   .call_id = call_id, .results = r, .n = 3 };

	bind_answered_by(&ack, true);
}

static void test_bind_ack_for_other_call_ignored(void)
{
	static const struct ctx_result accept[3] = { { 0, false }, { 0, false },
						     { 0, false } };

	pipelined_ack(accept, 1);	/* the control: call ids agree */
	expect(1);
	pipelined_ack(accept, 9);
	expect(0);
}

static void test_pipelined_request_context_rejected(void)
{
	static const struct ctx_result reject[3] = { { 2, false }, { 0, false },
						     { 0, false } };

	pipelined_ack(reject, 1);
	expect(0);
}

static void test_pipelined_request_other_syntax_accepted(void)
{
	/* asked in NDR before the ack; the server then picks NDR64 */
	static const struct ctx_result ndr64[3] = { { 0, true }, { 0, true },
						    { 0, true } };

	pipelined_ack(ndr64, 1);
	expect(0);
}

static void test_status_not_registered_yields_nothing(void)
{
	struct twr t = twr_std(&emsmdb);
	const struct twr *tl[] = { &t };
	struct epm_resp r = resp_of(EPM_OP_MAP, 1, tl);

	conv_open(false, false);
	r.status = 0x16c9a0d6;	/* EPT_S_NOT_REGISTERED */
	put_answer(server(), 2, 1, &r);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
}

static void test_fault_ends_call(void)
{
	struct pdu fault = { .ptype = DCE_FAULT, .flags = WHOLE, .call_id = 2,
			     .ctx_id = 1, .status = 0x1c010003 };

	conv_open(false, false);
	put_pdu(server(), &fault);
	put_reply(2, 1);
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
}

/* ---- fragments ---- */

static void test_fragment_middle_without_first(void)
{
	conv_open(false, false);
	send_fragments(1, 3);
	expect(0);
}

static void test_fragment_of_other_call_interleaved(void)
{
	/*
	 * call 2's first fragment, call 3's last two, call 2's last two:
	 * joined across call ids, 3's fragments would complete 2's stub
	 */
	static const struct { uint32_t call; size_t frag; } order[] = {
		{ 2, 0 }, { 3, 1 }, { 3, 2 }, { 2, 1 }, { 2, 2 }
	};
	static struct bld frags[2];
	struct pdu p = { .ptype = DCE_RESPONSE, .ctx_id = 1 };
	size_t offs[2][4];
	struct bld stub;

	conv_open(false, false);
	ask(3, 1);
	answer_stub(&stub, 2);
	for (uint32_t c = 0; c < 2; c++) {
		bld_init(&frags[c], false, false);
		p.call_id = 2 + c;
		put_fragments(&frags[c], p, &stub, 3, offs[c]);
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		uint32_t c = order[i].call - 2;
		size_t f = order[i].frag;

		put_bytes(server(), frags[c].b + offs[c][f],
			  offs[c][f + 1] - offs[c][f]);
	}
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
}

static void test_fragments_beyond_max_stub(void)
{
	size_t stub_len;

	conv_open(false, false);
	stub_len = send_fragments(0, 3);
	expect(2);
	conv_bind(false, false, stub_len);	/* exactly the cap: fine */
	ask(2, 1);
	send_fragments(0, 3);
	expect(2);
	conv_bind(false, false, stub_len - 1);
	ask(2, 1);
	send_fragments(0, 3);
	expect(0);
}

static void test_calls_beyond_max_outstanding(void)
{
	conv_bind(false, false, 4096);
	for (uint32_t id = 10; id <= 10 + DCE_MAX_CALLS; id++)
		ask(id, 1);
	CHECK(k.c.n_calls == DCE_MAX_CALLS);
	put_reply(10 + DCE_MAX_CALLS, 1);	/* the one too many */
	CHECK(conv_send(DCE_FROM_SERVER));
	expect(0);
	for (uint32_t id = 10; id < 10 + DCE_MAX_CALLS; id++)
		put_reply(id, 1);
	CHECK(conv_send(DCE_FROM_SERVER));
	CHECK(k.endpoints == DCE_MAX_CALLS && k.got.n == DCE_MAX_CALLS);
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
	static const uint8_t ptypes[] = { DCE_REQUEST, DCE_RESPONSE, DCE_FAULT,
					  DCE_BIND, DCE_BIND_ACK, DCE_BIND_NAK,
					  DCE_ALTER_CONTEXT,
					  DCE_ALTER_CONTEXT_RESP };
	uint32_t seed = 0x9e3779b9;
	int endpoints = 0, desyncs = 0;

	conv_open(false, false);
	for (int i = 0; i < 20000; i++) {
		size_t len = xorshift32(&seed) % 513;
		uint8_t *buf = malloc(len + 1);	/* exact length, for ASan */
		uint32_t r = xorshift32(&seed);
		enum dce_dir dir = r & 1 ? DCE_FROM_SERVER : DCE_FROM_CLIENT;
		size_t used;

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)xorshift32(&seed);
		if (len >= DCE_HDR_LEN) {
			bool be = r & 2;
			size_t frag = DCE_HDR_LEN + xorshift32(&seed) % (len - 15);

			buf[0] = 5;
			buf[1] = 0;
			buf[2] = ptypes[(r >> 2) % 8];
			buf[4] = be ? 0 : 0x10;
			bld_int_at(buf + 8, frag, 2, be);
			bld_int_at(buf + 10, r & 0x300 ? 0 : (r >> 10) % 64, 2, be);
			bld_int_at(buf + 12, 1 + (r >> 16) % 3, 4, be);
			if (len >= 22 && (r & 0x10000000))
				bld_int_at(buf + 20, 1, 2, be);	/* p_cont_id */
		}
		used = dce_conn_input(&k.c, dir, buf, len, got_dce, &k.got,
				      &k.endpoints);
		free(buf);
		if (used == DCE_DESYNC || i % 64 == 0) {
			desyncs += used == DCE_DESYNC;
			endpoints += k.endpoints;
			conv_open(r & 0x20, r & 0x40);	/* fresh, call 2 waiting */
		}
	}
	endpoints += k.endpoints;
	CHECK(endpoints == 0);
	CHECK(desyncs > 0);	/* the loop did reach the header checks */
}

int main(void)
{
	RUN(test_conv_bind_request_response_one_endpoint);
	RUN(test_conv_every_drep_and_syntax);
	RUN(test_conv_request_with_object_uuid);
	RUN(test_conv_response_in_three_fragments);
	RUN(test_conv_three_pdus_in_one_buffer);
	RUN(test_conv_response_one_byte_segments_via_tcp_stream);
	RUN(test_http_banner_consumed);
	RUN(test_header_truncated_every_length_waits);
	RUN(test_frag_length_below_16_desyncs);
	RUN(test_frag_length_beyond_data_waits_then_nothing);
	RUN(test_rpc_vers_not_5_desyncs);
	RUN(test_unknown_drep_desyncs);
	RUN(test_auth_integrity_trailer_skipped);
	RUN(test_auth_length_past_fragment);
	RUN(test_auth_pad_length_past_body);
	RUN(test_auth_pkt_privacy_yields_nothing);
	RUN(test_response_without_request);
	RUN(test_response_unknown_call_id);
	RUN(test_response_on_non_epm_context);
	RUN(test_request_on_non_epm_context);
	RUN(test_response_context_differs_from_request);
	RUN(test_response_after_bind_nak);
	RUN(test_bind_ack_for_other_call_ignored);
	RUN(test_pipelined_request_context_rejected);
	RUN(test_pipelined_request_other_syntax_accepted);
	RUN(test_status_not_registered_yields_nothing);
	RUN(test_fault_ends_call);
	RUN(test_fragment_middle_without_first);
	RUN(test_fragment_of_other_call_interleaved);
	RUN(test_fragments_beyond_max_stub);
	RUN(test_calls_beyond_max_outstanding);
	RUN(test_random_bytes_report_nothing);
	dce_conn_release(&k.c);
	UNIT_EXIT();
}
