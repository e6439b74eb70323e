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

static void start(size_t max_bytes, uint32_t first_isn)
{
	tcp_stream_release(&s);
	tcp_stream_init(&s, max_bytes);
	memset(&got, 0, sizeof(got));
	isn = first_isn;
	tcp_stream_open(&s, isn);
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
	tcp_stream_release(&s);
	UNIT_EXIT();
}
