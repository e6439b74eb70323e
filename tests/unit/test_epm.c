/* EPM stubs and towers: epm_parse_request, _response and _tower. */
#include <time.h>

#include "../../daemon/epm.c"
#include "build_pdu.h"
#include "unit.h"

static const struct tw emsmdb = TW_EMSMDB, nspi = TW_NSPI;

/* Every response test can run in each of these encodings. */
enum { LE, BE, LE64, BE64, N_ENC };
static const char *const enc_name[N_ENC] = { "le", "be", "le64", "be64" };

static bool enc_be(int enc) { return enc == BE || enc == BE64; }
static bool enc_ndr64(int enc) { return enc == LE64 || enc == BE64; }

static int parse(int enc, const struct epm_request *req,
		 const struct epm_resp *r, struct got *got, uint32_t *status)
{
	struct bld b;

	bld_init(&b, enc_be(enc), enc_ndr64(enc));
	put_epm_response(&b, r);
	memset(got, 0, sizeof(*got));
	*status = 0xffffffff;
	return epm_parse_response(req, b.b, b.len, b.be,
				  bld_syntax(&b),
				  status, got_epm, got);
}

/* The response yields exactly the endpoints of want[0..n). */
static void expect_eps(int enc, const struct epm_request *req,
		       const struct epm_resp *r, int n,
		       const struct tw *const *want)
{
	struct got got;
	uint32_t status;
	int rc = parse(enc, req, r, &got, &status);

	if (rc != n || got.n != n)
		printf("#   %s: rc %d, %d endpoints, want %d\n", enc_name[enc],
		       rc, got.n, n);
	CHECK(rc == n);
	CHECK(got.n == n);
	CHECK(status == 0);
	for (int i = 0; i < n && i < got.n; i++)
		CHECK(ep_is(&got.ep[i], want[i]));
}

/* In every encoding: no endpoint, and the return code want_rc. */
static void expect_none(const struct epm_request *req, const struct epm_resp *r,
			int want_rc)
{
	for (int enc = 0; enc < N_ENC; enc++) {
		struct got got;
		uint32_t status;
		int rc = parse(enc, req, r, &got, &status);

		if (rc != want_rc || got.n != 0)
			printf("#   %s: rc %d, %d endpoints\n", enc_name[enc],
			       rc, got.n);
		CHECK(rc == want_rc);
		CHECK(got.n == 0);
	}
}

static const struct epm_request map4 = { .op = EPM_OP_MAP, .max_results = 4 };
static const struct epm_request lookup4 = { .op = EPM_OP_LOOKUP,
					    .max_results = 4 };

/* An honest ept_map answer: the EMSMDB tower, then NSPI's. */
static struct epm_resp two_towers(struct twr t[2])
{
	const struct twr *tl[] = { &t[0], &t[1] };

	t[0] = twr_std(&emsmdb);
	t[1] = twr_std(&nspi);
	return resp_of(EPM_OP_MAP, 2, tl);
}

/* ---- good input ---- */

static void test_map_le_one_tcp_tower_one_endpoint(void)
{
	struct twr t = twr_std(&emsmdb);
	const struct twr *tl[] = { &t };
	const struct tw *want[] = { &emsmdb };
	struct epm_resp r = resp_of(EPM_OP_MAP, 1, tl);

	expect_eps(LE, &map4, &r, 1, want);
}

/* The two-tower answer in this encoding yields both endpoints, in order. */
static void expect_two_towers(int enc)
{
	struct twr t[2];
	struct epm_resp r = two_towers(t);
	const struct tw *want[] = { &emsmdb, &nspi };

	expect_eps(enc, &map4, &r, 2, want);
}

static void test_map_le_two_towers_two_endpoints(void)
{
	expect_two_towers(LE);
}

static void test_map_big_endian_drep_same_endpoints(void)
{
	expect_two_towers(BE);
}

static void test_map_ndr64_same_endpoints(void)
{
	expect_two_towers(LE64);
	expect_two_towers(BE64);
}

static void test_lookup_three_entries_one_null_tower_two_endpoints(void)
{
	struct twr a = twr_std(&emsmdb), b = twr_std(&nspi);
	const struct twr *tl[] = { &a, NULL, &b };
	const struct tw *want[] = { &emsmdb, &nspi };
	struct epm_resp r = resp_of(EPM_OP_LOOKUP, 3, tl);

	for (int enc = 0; enc < N_ENC; enc++)
		expect_eps(enc, &lookup4, &r, 2, want);
}

/* One tower alone: what epm_parse_tower says, and what a response says. */
static void expect_tower(const struct twr *t, int want_rc,
			 const struct tw *want)
{
	uint8_t octets[TWR_OCTETS_MAX];
	struct epm_endpoint ep;
	const struct twr *tl[] = { t };
	struct epm_resp r = resp_of(EPM_OP_MAP, 1, tl);
	int rc = epm_parse_tower(octets, twr_encode(t, octets), &ep);

	CHECK(rc == want_rc);
	if (want) {
		CHECK(ep_is(&ep, want));
		expect_eps(LE, &map4, &r, 1, &want);
	} else {
		expect_none(&map4, &r, want_rc);
	}
}

static void test_tower_ncacn_http_is_proto_http(void)
{
	const struct tw http = { EMSMDB_UUID, 0, 81, PROT_HTTP, 6004,
				 { 10, 0, 0, 7 } };
	struct twr t = twr_std(&http);

	expect_tower(&t, 1, &http);
}

static void test_tower_udp_floor_is_proto_udp(void)
{
	const struct tw udp = { EMSMDB_UUID, 0, 81, PROT_UDP, 1029,
				{ 10, 0, 0, 8 } };
	struct twr t = twr_std(&udp);

	expect_tower(&t, 1, &udp);
}

static struct twr named_pipe_tower(void)
{
	struct twr t = twr_std(&emsmdb);

	t.f[3] = floor_of(PROT_PIPE, "\\PIPE\\lsass", 12);
	t.f[4] = floor_of(PROT_NETBIOS, "HOST", 5);
	return t;
}

static void test_tower_named_pipe_no_endpoint_not_malformed(void)
{
	struct twr pipe = named_pipe_tower(), tcp = twr_std(&nspi);
	const struct twr *tl[] = { &pipe, &tcp };
	const struct tw *want[] = { &nspi };
	struct epm_resp r = resp_of(EPM_OP_MAP, 2, tl);

	/* 0, not -1: the response is well formed, only without a port */
	expect_tower(&pipe, 0, NULL);
	/* and it does not spoil a TCP tower beside it */
	expect_eps(LE, &map4, &r, 1, want);
}

static void test_request_map_parses_interface(void)
{
	struct twr t = twr_std(&emsmdb);
	struct uuid iface = test_uuid(EMSMDB_UUID);

	for (int enc = 0; enc < N_ENC; enc++) {
		struct bld b;
		struct epm_request req;

		bld_init(&b, enc_be(enc), enc_ndr64(enc));
		put_map_request(&b, &t, 7);
		CHECK(epm_parse_request(EPM_OP_MAP, b.b, b.len, b.be,
					bld_syntax(&b),
					&req));
		CHECK(req.op == EPM_OP_MAP && req.has_iface);
		CHECK(uuid_equal(&req.iface, &iface) && req.iface_major == 0);
		CHECK(req.max_results == 7);
		/* one byte short is not a request */
		CHECK(!epm_parse_request(EPM_OP_MAP, b.b, b.len - 1, b.be,
					 bld_syntax(&b),
					 &req));
	}
}

static void test_request_lookup_parses_interface(void)
{
	struct uuid iface = test_uuid(nspi.iface);

	for (int enc = 0; enc < N_ENC; enc++) {
		struct bld b;
		struct epm_request req;

		bld_init(&b, enc_be(enc), enc_ndr64(enc));
		put_lookup_request(&b, &iface, 56, 500);
		CHECK(epm_parse_request(EPM_OP_LOOKUP, b.b, b.len, b.be,
					bld_syntax(&b),
					&req));
		CHECK(req.op == EPM_OP_LOOKUP && req.has_iface);
		CHECK(uuid_equal(&req.iface, &iface) && req.iface_major == 56);
		CHECK(req.max_results == 500 && req.inquiry_type == 1);
	}
}

/* ---- bad towers: malformed alone, and they void the whole answer ---- */

static void expect_bad_tower(const struct twr *bad)
{
	uint8_t octets[TWR_OCTETS_MAX];
	struct epm_endpoint ep;
	struct twr good = twr_std(&emsmdb);
	const struct twr *tl[] = { &good, bad };
	struct epm_resp r = resp_of(EPM_OP_MAP, 2, tl);

	CHECK(epm_parse_tower(octets, twr_encode(bad, octets), &ep) == -1);
	expect_none(&map4, &r, -1);
}

/* A test: NSPI's standard tower, changed, as the second of an answer. */
#define BAD_TOWER_TEST(name, change)                                       \
	static void name(void)                                             \
	{                                                                  \
		struct twr t = twr_std(&nspi);                             \
                                                                           \
		change;                                                    \
		expect_bad_tower(&t);                                      \
	}

BAD_TOWER_TEST(test_tower_floor_count_past_tower, t.claim_floors = 6)
/* The last floor (IP) is lhs_len 2, lhs 1, rhs_len 2, rhs 4 bytes. */
BAD_TOWER_TEST(test_tower_lhs_length_past_tower, t.cut = 7)
BAD_TOWER_TEST(test_tower_rhs_length_past_tower, t.cut = 3)
BAD_TOWER_TEST(test_tower_floor1_not_uuid_floor, t.f[0].lhs[0] = PROT_TCP)
BAD_TOWER_TEST(test_tower_port_floor_rhs_length_3, t.f[3].rhs_len = 3)
BAD_TOWER_TEST(test_tower_two_port_floors,
	       t.f[t.n++] = floor_port(PROT_TCP, 4444))

/* ---- bad twr_t and array headers ---- */

/* A test: the two-tower answer with one lie told, in every encoding. */
#define LIE_TEST(name, lie)                                                \
	static void name(void)                                             \
	{                                                                  \
		struct twr t[2];                                           \
		struct epm_resp r = two_towers(t);                         \
                                                                           \
		lie;                                                       \
		expect_none(&map4, &r, -1);                                \
	}

LIE_TEST(test_tower_length_past_stub, r.tower_len_extra = 1000)
LIE_TEST(test_tower_max_count_not_tower_length, r.tower_max_extra = 1)
LIE_TEST(test_array_max_count_below_actual_count, r.max_count = 1)
LIE_TEST(test_array_offset_plus_actual_past_max_count, r.offset = 1)
LIE_TEST(test_array_num_towers_below_actual_count, r.num = 1)
LIE_TEST(test_array_actual_count_below_num_towers, r.actual = 1)

static void test_array_more_than_max_towers(void)
{
	struct twr t[2];
	struct epm_resp r = two_towers(t);
	const struct epm_request map1 = { .op = EPM_OP_MAP, .max_results = 1 };

	expect_none(&map1, &r, -1);
	r.max_count = 1;	/* admitting the room, then overflowing it */
	expect_none(&map1, &r, -1);
}

static void test_array_million_towers_in_short_stub(void)
{
	struct twr t = twr_std(&emsmdb);
	const struct twr *tl[] = { &t };
	const struct epm_request many = { .op = EPM_OP_MAP,
					  .max_results = 1000000 };
	const struct epm_request lookup = { .op = EPM_OP_LOOKUP,
					    .max_results = 1000000 };
	struct epm_resp r = resp_of(EPM_OP_MAP, 1, tl);
	clock_t start = clock();

	r.num = 1000000;
	r.max_count = r.actual = r.num;
	expect_none(&many, &r, -1);
	r.op = EPM_OP_LOOKUP;
	expect_none(&lookup, &r, -1);
	/* 8 parses of ~150 bytes each; a loop over the claim would show */
	CHECK(clock() - start < CLOCKS_PER_SEC / 4);
}

static void test_lookup_annotation_over_64(void)
{
	struct twr t = twr_std(&emsmdb);
	const struct twr *tl[] = { &t };
	const struct tw *want[] = { &emsmdb };
	struct epm_resp r = resp_of(EPM_OP_LOOKUP, 1, tl);

	r.annotation_len = 64;	/* the most the IDL allows: fine */
	expect_eps(LE, &lookup4, &r, 1, want);
	r.annotation_len = 65;
	expect_none(&lookup4, &r, -1);
	r.annotation_len = 4000;
	expect_none(&lookup4, &r, -1);
}

static void test_status_not_registered_with_towers(void)
{
	struct twr t[2];
	struct epm_resp r = two_towers(t);
	struct got got;
	uint32_t status;

	r.status = 0x16c9a0d6;	/* EPT_S_NOT_REGISTERED */
	expect_none(&map4, &r, 0);
	parse(LE, &map4, &r, &got, &status);
	CHECK(status == 0x16c9a0d6);
}

int main(void)
{
	RUN(test_map_le_one_tcp_tower_one_endpoint);
	RUN(test_map_le_two_towers_two_endpoints);
	RUN(test_map_big_endian_drep_same_endpoints);
	RUN(test_map_ndr64_same_endpoints);
	RUN(test_lookup_three_entries_one_null_tower_two_endpoints);
	RUN(test_tower_ncacn_http_is_proto_http);
	RUN(test_tower_udp_floor_is_proto_udp);
	RUN(test_tower_named_pipe_no_endpoint_not_malformed);
	RUN(test_request_map_parses_interface);
	RUN(test_request_lookup_parses_interface);
	RUN(test_tower_floor_count_past_tower);
	RUN(test_tower_lhs_length_past_tower);
	RUN(test_tower_rhs_length_past_tower);
	RUN(test_tower_floor1_not_uuid_floor);
	RUN(test_tower_port_floor_rhs_length_3);
	RUN(test_tower_two_port_floors);
	RUN(test_tower_length_past_stub);
	RUN(test_tower_max_count_not_tower_length);
	RUN(test_array_max_count_below_actual_count);
	RUN(test_array_offset_plus_actual_past_max_count);
	RUN(test_array_num_towers_below_actual_count);
	RUN(test_array_actual_count_below_num_towers);
	RUN(test_array_more_than_max_towers);
	RUN(test_array_million_towers_in_short_stub);
	RUN(test_lookup_annotation_over_64);
	RUN(test_status_not_registered_with_towers);
	UNIT_EXIT();
}
