/* One direction of a TCP connection reassembled: tcp_stream.c. */
#include "../../daemon/tcp_stream.c"
#include "unit.h"

/* The consumer: takes everything it is offered, in order. */
struct rec {
	uint8_t b[4096];
	size_t len;
	size_t calls;
};

static struct tcp_stream s;
static struct rec got;
static uint32_t isn;

static size_t take_all(void *arg, const uint8_t *data, size_t len)
{
	struct rec *r = arg;

	memcpy(r->b + r->len, data, len);
	r->len += len;
	r->calls++;
	return len;
}

static size_t take_none(void *arg, const uint8_t *data, size_t len)
{
	(void)arg, (void)data, (void)len;
	return 0;
}

static size_t refuse(void *arg, const uint8_t *data, size_t len)
{
	(void)arg, (void)data, (void)len;
	return TCP_CONSUMER_DESYNC;
}

/* A consumer that only counts, for streams longer than rec.b. */
static size_t count_all(void *arg, const uint8_t *data, size_t len)
{
	struct rec *r = arg;

	(void)data;
	r->len += len;
	r->calls++;
	return len;
}

static void start_capped(size_t max_bytes, size_t max_held, uint32_t first_isn)
{
	tcp_stream_release(&s);
	tcp_stream_init(&s, max_bytes, max_held);
	memset(&got, 0, sizeof(got));
	isn = first_isn;
	tcp_stream_open(&s, isn);
}

static void start(size_t max_bytes, uint32_t first_isn)
{
	start_capped(max_bytes, 256, first_isn);
}

/* One byte at stream offset off, for the counting consumer. */
static void byte_at(size_t off)
{
	static const uint8_t x = 'x';

	tcp_stream_segment(&s, isn + 1 + (uint32_t)off, &x, 1, false,
			   count_all, &got);
}

/* The segment carrying text at stream offset off (0 = first byte). */
static void seg_with(size_t off, const char *text, bool fin,
		     tcp_consumer_fn fn)
{
	tcp_stream_segment(&s, isn + 1 + (uint32_t)off, (const uint8_t *)text,
			   strlen(text), fin, fn, &got);
}

static void seg(size_t off, const char *text)
{
	seg_with(off, text, false, take_all);
}

static bool got_is(const char *text)
{
	bool same = got.len == strlen(text) && memcmp(got.b, text, got.len) == 0;

	if (!same)
		printf("#   stream \"%.*s\", want \"%s\"\n", (int)got.len,
		       (const char *)got.b, text);
	return same;
}

static void test_in_order_segments_delivered(void)
{
	start(1000, 5000);
	seg(0, "hello ");
	seg(6, "world");
	CHECK(got_is("hello world"));
	CHECK(tcp_stream_buffered(&s) == 0);
	CHECK(s.state == TCP_STREAM_OPEN);
}

static void test_out_of_order_segments_reassembled(void)
{
	start(1000, 5000);
	seg(12, "mnop");
	seg(4, "efgh");
	seg(8, "ijkl");
	CHECK(got.len == 0);
	CHECK(tcp_stream_buffered(&s) == 12);
	seg(0, "abcd");
	CHECK(got_is("abcdefghijklmnop"));
	CHECK(tcp_stream_buffered(&s) == 0);
}

static void test_sequence_numbers_wrap(void)
{
	start(1000, 0xfffffff8);
	seg(10, "KLMNOP");	/* past 2^32 */
	seg(0, "ABCDEFGHIJ");	/* across it */
	CHECK(got_is("ABCDEFGHIJKLMNOP"));
	CHECK(s.next_seq == isn + 1 + 16);
}

static void test_retransmission_different_bytes_first_copy_wins(void)
{
	start(1000, 5000);
	/* already delivered */
	seg(0, "AAAA");
	seg(0, "BBBBBB");
	CHECK(got_is("AAAABB"));
	/* still waiting for the gap */
	seg(10, "CCCC");
	seg(10, "DDDDDD");
	seg(6, "xxxx");
	CHECK(got_is("AAAABBxxxxCCCCDD"));
}

static void test_overlapping_segments(void)
{
	start(1000, 5000);
	seg(10, "1111111111");			/* [10, 20) */
	seg(5, "222222222222222222222");	/* [5, 26): both sides */
	seg(24, "3333");			/* [24, 28) */
	seg(2, "44444");			/* [2, 7) */
	seg(0, "55");				/* [0, 2) */
	CHECK(got_is("5544422222111111111122222233"));
	CHECK(tcp_stream_buffered(&s) == 0);
	seg(1, "666666666666666666666666666666");	/* [1, 31): the tail */
	CHECK(got_is("5544422222111111111122222233666"));
}

/* An in-order segment that overlaps bytes already held out of order. */
static void test_in_order_segment_over_held_bytes_first_copy_wins(void)
{
	start(1000, 5000);
	seg(2, "44");	/* [2, 4), held: the first copy of byte 2 */
	seg(0, "555");	/* [0, 3), in order: its byte 2 is a second copy */
	CHECK(got_is("5544"));

	/* around two held runs, leaving a gap after them */
	start(1000, 5000);
	seg(5, "aaa");		/* [5, 8) */
	seg(12, "bbb");		/* [12, 15) */
	seg(0, "xxxxxxxxxx");	/* [0, 10) */
	CHECK(got_is("xxxxxaaaxx"));
	CHECK(tcp_stream_buffered(&s) == 3);
	seg(10, "yyyyy");	/* [10, 15) */
	CHECK(got_is("xxxxxaaaxxyybbb"));
	CHECK(tcp_stream_buffered(&s) == 0);
}

static void test_gap_larger_than_cap_desyncs(void)
{
	start(100, 5000);
	seg(99, "x");		/* ends exactly at the cap: can wait */
	CHECK(s.state == TCP_STREAM_OPEN);
	seg(100, "y");		/* ends past it: the gap can never fill */
	CHECK(s.state == TCP_STREAM_DESYNC);
	CHECK(tcp_stream_buffered(&s) == 0);
	seg(0, "abc");
	CHECK(got.len == 0);
}

static void test_waiting_bytes_past_cap_desync(void)
{
	start(100, 5000);
	/* a consumer that never finds a whole PDU keeps everything */
	for (size_t off = 0; off < 100; off += 10)
		seg_with(off, "0123456789", false, take_none);
	CHECK(s.state == TCP_STREAM_OPEN);
	CHECK(tcp_stream_buffered(&s) == 100);
	seg_with(100, "!", false, take_none);
	CHECK(s.state == TCP_STREAM_DESYNC);
}

static void test_consumer_desync_desyncs_stream(void)
{
	start(100, 5000);
	seg(20, "later");
	seg_with(0, "garbage garbage garbage", false, refuse);
	CHECK(s.state == TCP_STREAM_DESYNC);
	CHECK(tcp_stream_buffered(&s) == 0);
}

static void test_ack_beyond_seen_desyncs(void)
{
	static const struct {
		const char *held;	/* seen at offset 10, after a gap */
		size_t ack;		/* stream offset acknowledged */
		bool desync;
	} cases[] = {
		{ NULL, 6, false },	/* all of "abcdef": fine */
		{ NULL, 7, true },	/* one byte more than crossed here */
		{ "held", 14, true },	/* bytes seen, but not the gap */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start(1000, 5000);
		seg(0, "abcdef");
		if (cases[i].held)
			seg(10, cases[i].held);
		tcp_stream_acked(&s, isn + 1 + (uint32_t)cases[i].ack);
		CHECK((s.state == TCP_STREAM_DESYNC) == cases[i].desync);
	}
}

static void test_fin_closes(void)
{
	start(1000, 5000);
	seg(0, "abc");
	seg_with(3, "def", true, take_all);
	CHECK(s.state == TCP_STREAM_CLOSED);
	CHECK(got_is("abcdef"));
	seg(6, "after");	/* nothing after FIN */
	CHECK(got_is("abcdef"));

	/* FIN ahead of a gap closes only when the gap fills */
	start(1000, 5000);
	seg_with(3, "def", true, take_all);
	CHECK(s.state == TCP_STREAM_OPEN);
	tcp_stream_acked(&s, isn + 1);
	seg(0, "abc");
	CHECK(s.state == TCP_STREAM_CLOSED);
	CHECK(got_is("abcdef"));
}

/*
 * The attack of issue 7: 65,535 one-byte segments ahead of a one-byte gap.
 * They join one run, and what it takes in memory -- header and allocator
 * rounding included, not just the bytes -- never passes the bound; the
 * overhead is why the last few no longer fit.
 */
static void test_one_byte_segments_ascending_stay_in_bound(void)
{
	size_t most = 0, runs = 0;

	start(65536, 5000);
	for (size_t off = 1; off <= 65535 && s.state == TCP_STREAM_OPEN; off++) {
		byte_at(off);
		if (tcp_stream_accounted(&s) > most)
			most = tcp_stream_accounted(&s);
		if (s.held_runs > runs)
			runs = s.held_runs;
	}
	CHECK(most <= 65536);
	CHECK(most > 60000);	/* the bytes did wait, most of them */
	CHECK(runs == 1);
	CHECK(s.state == TCP_STREAM_DESYNC);
	CHECK(tcp_stream_accounted(&s) == 0);

	/* fewer of them, then the gap: all delivered, nothing left */
	start(65536, 5000);
	for (size_t off = 1; off <= 30000; off++)
		byte_at(off);
	CHECK(s.held_runs == 1 && tcp_stream_buffered(&s) == 30000);
	byte_at(0);
	CHECK(got.len == 30001);
	CHECK(tcp_stream_accounted(&s) == 0);
	CHECK(s.state == TCP_STREAM_OPEN);
}

/*
 * Descending, each byte is a run of its own (a run grows only at its
 * end): the run cap stops them, or with a high one the bound does, long
 * before 65,535.
 */
static void test_one_byte_segments_descending_stay_in_bound(void)
{
	size_t most = 0, held = 0;

	start_capped(65536, 256, 5000);
	for (size_t off = 65535; off >= 65535 - 255; off--)
		byte_at(off);
	CHECK(s.state == TCP_STREAM_OPEN && s.held_runs == 256);
	CHECK(tcp_stream_accounted(&s) <= 65536);
	byte_at(65535 - 256);
	CHECK(s.state == TCP_STREAM_DESYNC);

	start_capped(65536, 65536, 5000);
	for (size_t off = 65535; off > 0 && s.state == TCP_STREAM_OPEN; off--) {
		byte_at(off);
		if (tcp_stream_accounted(&s) > most)
			most = tcp_stream_accounted(&s);
		if (s.held_runs > held)
			held = s.held_runs;
	}
	CHECK(most <= 65536);
	CHECK(held > 1000 && held < 65536 / 32);
	CHECK(s.state == TCP_STREAM_DESYNC);
}

/* Runs apart from each other count against max_held; one more desyncs. */
static void test_held_run_cap_desyncs(void)
{
	start_capped(65536, 4, 5000);
	seg(10, "a");
	seg(20, "b");
	seg(30, "c");
	seg(11, "a");		/* continues a run: no new one */
	seg(40, "d");
	CHECK(s.state == TCP_STREAM_OPEN && s.held_runs == 4);
	seg(50, "e");
	CHECK(s.state == TCP_STREAM_DESYNC);
	CHECK(tcp_stream_accounted(&s) == 0);
	seg(0, "0123456789");
	CHECK(got.len == 0);
}

/* Joining adjacent and overlapping segments keeps the first copy. */
static void test_joined_run_first_copy_wins(void)
{
	start(1000, 5000);
	seg(4, "AAAA");		/* [4, 8) */
	seg(6, "BBBBBB");	/* [6, 12): [8, 12) joins */
	seg(9, "CC");		/* inside: nothing */
	seg(12, "DD");		/* [12, 14) joins */
	seg(3, "EEEEEEEEEEEE");	/* [3, 15): [3, 4) a run before, [14, 15) joins */
	CHECK(s.held_runs == 2);
	CHECK(tcp_stream_buffered(&s) == 12);
	seg(0, "FFFFFFFF");	/* [0, 8) */
	CHECK(got_is("FFFEAAAABBBBDDE"));
	CHECK(tcp_stream_accounted(&s) == 0);
}

/*
 * Held bytes that use (nearly) all of the bound leave the segment filling
 * their gap deliverable: it goes to the consumer, not to the held runs.
 */
static void test_gap_fills_with_bound_used(void)
{
	static uint8_t block[4000];

	start(4096, 5000);
	memset(block, 'h', sizeof(block));
	for (size_t off = 0; off < sizeof(block); off += 100)
		tcp_stream_segment(&s, isn + 1 + 96 + (uint32_t)off,
				   block + off, 100, false, count_all, &got);
	CHECK(s.state == TCP_STREAM_OPEN);
	CHECK(tcp_stream_accounted(&s) > 4000 &&
	      tcp_stream_accounted(&s) <= 4096);
	tcp_stream_segment(&s, isn + 1, block, 96, false, count_all, &got);
	CHECK(s.state == TCP_STREAM_OPEN);
	CHECK(got.len == 4096);
}

/*
 * Random segments, overlapping, in any order, each with bytes of its own:
 * the stream must be, byte for byte, the first copy that arrived.
 */
static void test_random_segments_first_copy_wins(void)
{
	enum { LEN = 2000 };
	static uint8_t want[LEN], data[LEN];
	static bool seen[LEN];
	uint32_t rng = 12345;
	size_t waiting, wrong_count = 0;

	for (int round = 0; round < 50; round++) {
		start_capped(1 << 20, 65536, rng);
		memset(seen, 0, sizeof(seen));
		for (int n = 0; n < 300; n++) {
			size_t off, len;

			rng = rng * 1103515245u + 12345u;
			off = (rng >> 8) % LEN;
			rng = rng * 1103515245u + 12345u;
			len = 1 + (rng >> 8) % 64;
			if (off + len > LEN)
				len = LEN - off;
			for (size_t i = 0; i < len; i++) {
				data[i] = (uint8_t)(n + i);
				if (!seen[off + i]) {
					seen[off + i] = true;
					want[off + i] = data[i];
				}
			}
			tcp_stream_segment(&s, isn + 1 + (uint32_t)off, data,
					   len, false, take_all, &got);
			/* held runs are disjoint: every byte seen past the
			 * delivered ones, once */
			waiting = 0;
			for (size_t i = got.len; i < LEN; i++)
				waiting += seen[i];
			if (tcp_stream_buffered(&s) != waiting)
				wrong_count++;
		}
		for (size_t i = 0; i < LEN; i++) {
			data[i] = '?';
			if (!seen[i]) {
				seen[i] = true;
				want[i] = '?';
			}
		}
		tcp_stream_segment(&s, isn + 1, data, LEN, false, take_all, &got);
		CHECK(s.state == TCP_STREAM_OPEN);
		CHECK(got.len == LEN && memcmp(got.b, want, LEN) == 0);
		CHECK(tcp_stream_accounted(&s) == 0 && s.held_runs == 0);
	}
	CHECK(wrong_count == 0);
}

int main(void)
{
	RUN(test_in_order_segments_delivered);
	RUN(test_out_of_order_segments_reassembled);
	RUN(test_sequence_numbers_wrap);
	RUN(test_retransmission_different_bytes_first_copy_wins);
	RUN(test_overlapping_segments);
	RUN(test_in_order_segment_over_held_bytes_first_copy_wins);
	RUN(test_gap_larger_than_cap_desyncs);
	RUN(test_waiting_bytes_past_cap_desync);
	RUN(test_consumer_desync_desyncs_stream);
	RUN(test_ack_beyond_seen_desyncs);
	RUN(test_fin_closes);
	RUN(test_one_byte_segments_ascending_stay_in_bound);
	RUN(test_one_byte_segments_descending_stay_in_bound);
	RUN(test_held_run_cap_desyncs);
	RUN(test_joined_run_first_copy_wins);
	RUN(test_gap_fills_with_bound_used);
	RUN(test_random_segments_first_copy_wins);
	tcp_stream_release(&s);
	UNIT_EXIT();
}
