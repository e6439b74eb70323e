#include <stdlib.h>
#include <string.h>

#include "tcp_stream.h"

struct tcp_held_segment {
	struct tcp_held_segment *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

/* Signed distance from b to a in sequence space (RFC 793 comparisons). */
static int64_t seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

void tcp_stream_init(struct tcp_stream *s, size_t max_bytes)
{
	memset(s, 0, sizeof(*s));
	s->max_bytes = max_bytes;
}

static void drop_buffers(struct tcp_stream *s)
{
	while (s->held) {
		struct tcp_held_segment *next = s->held->next;

		free(s->held);
		s->held = next;
	}
	s->held_bytes = 0;
	free(s->pending);
	s->pending = NULL;
	s->pending_len = 0;
}

void tcp_stream_release(struct tcp_stream *s)
{
	drop_buffers(s);
}

static void desync(struct tcp_stream *s)
{
	drop_buffers(s);
	s->state = TCP_STREAM_DESYNC;
}

void tcp_stream_open(struct tcp_stream *s, uint32_t isn)
{
	drop_buffers(s);
	s->state = TCP_STREAM_OPEN;
	s->next_seq = isn + 1;
	s->fin_seen = false;
}

size_t tcp_stream_buffered(const struct tcp_stream *s)
{
	return s->pending_len + s->held_bytes;
}

static bool fits(const struct tcp_stream *s, size_t more)
{
	return more <= s->max_bytes - tcp_stream_buffered(s);
}

/* Appends bytes the consumer has not taken yet; false after desync. */
static bool keep(struct tcp_stream *s, const uint8_t *data, size_t len)
{
	if (len == 0)
		return true;
	if (!fits(s, len)) {
		desync(s);
		return false;
	}
	if (s->pending_len + len > s->pending_cap) {
		size_t cap = s->pending_cap ? s->pending_cap : 256;
		uint8_t *grown;

		while (cap < s->pending_len + len)
			cap *= 2;
		if (cap > s->max_bytes)
			cap = s->max_bytes;
		grown = realloc(s->pending, cap);
		if (!grown) {
			desync(s);
			return false;
		}
		s->pending = grown;
		s->pending_cap = cap;
	}
	memcpy(s->pending + s->pending_len, data, len);
	s->pending_len += len;
	return true;
}

/* Hands in-order bytes to the consumer; what it leaves waits in pending. */
static void deliver(struct tcp_stream *s, const uint8_t *data, size_t len,
		    tcp_consumer_fn consume, void *arg)
{
	size_t used;

	s->next_seq += (uint32_t)len;
	if (s->pending_len == 0) {
		/* the common case: whole PDUs in the segment, nothing copied */
		used = consume(arg, data, len);
		if (used == TCP_CONSUMER_DESYNC)
			desync(s);
		else
			keep(s, data + used, len - used);
		return;
	}
	if (!keep(s, data, len))
		return;
	used = consume(arg, s->pending, s->pending_len);
	if (used == TCP_CONSUMER_DESYNC) {
		desync(s);
		return;
	}
	s->pending_len -= used;
	if (s->pending_len == 0) {
		free(s->pending);
		s->pending = NULL;
		s->pending_cap = 0;
	} else if (used) {
		memmove(s->pending, s->pending + used, s->pending_len);
	}
}

/*
 * Keeps the parts of an early segment that no held segment covers yet,
 * so the first copy of every byte wins.
 */
static void hold(struct tcp_stream *s, uint32_t seq, const uint8_t *data,
		 size_t len)
{
	struct tcp_held_segment **link = &s->held;
	const uint32_t first = seq, end = seq + (uint32_t)len;

	/* a gap wider than the cap could never be filled */
	if (seq_after(end, s->next_seq) > (int64_t)s->max_bytes) {
		desync(s);
		return;
	}
	while (seq_after(end, seq) > 0) {
		struct tcp_held_segment *next = *link, *piece;
		uint32_t piece_end = end;
		size_t piece_len;

		if (next && seq_after(next->seq + next->len, seq) <= 0) {
			link = &next->next;
			continue;
		}
		if (next && seq_after(next->seq, seq) <= 0) {
			seq = next->seq + next->len;
			link = &next->next;
			continue;
		}
		if (next && seq_after(next->seq, piece_end) < 0)
			piece_end = next->seq;
		piece_len = piece_end - seq;
		if (!fits(s, piece_len) ||
		    !(piece = malloc(sizeof(*piece) + piece_len))) {
			desync(s);
			return;
		}
		piece->seq = seq;
		piece->len = (uint32_t)piece_len;
		memcpy(piece->data, data + (uint32_t)(seq - first), piece_len);
		piece->next = next;
		*link = piece;
		s->held_bytes += piece_len;
		link = &piece->next;
		seq = piece_end;
	}
}

/* Delivers held segments that the stream has caught up with. */
static void release_held(struct tcp_stream *s, tcp_consumer_fn consume,
			 void *arg)
{
	while (s->state == TCP_STREAM_OPEN && s->held &&
	       seq_after(s->held->seq, s->next_seq) <= 0) {
		struct tcp_held_segment *h = s->held;
		int64_t seen = seq_after(s->next_seq, h->seq);

		s->held = h->next;
		s->held_bytes -= h->len;
		if (seen < h->len)
			deliver(s, h->data + seen, h->len - (size_t)seen,
				consume, arg);
		free(h);
	}
}

static void close_if_finished(struct tcp_stream *s)
{
	if (s->state == TCP_STREAM_OPEN && s->fin_seen && !s->held &&
	    s->next_seq == s->fin_seq)
		s->state = TCP_STREAM_CLOSED;
}

void tcp_stream_segment(struct tcp_stream *s, uint32_t seq,
			const uint8_t *data, size_t len, bool fin,
			tcp_consumer_fn consume, void *arg)
{
	int64_t ahead;

	if (s->state != TCP_STREAM_OPEN)
		return;
	if (fin && !s->fin_seen) {
		s->fin_seen = true;
		s->fin_seq = seq + (uint32_t)len;
	}
	ahead = seq_after(seq, s->next_seq);
	if (ahead < 0) {
		/* retransmitted bytes were delivered already: first copy wins */
		if ((uint64_t)-ahead >= len) {
			close_if_finished(s);
			return;
		}
		data += -ahead;
		len -= (size_t)-ahead;
		seq = s->next_seq;
		ahead = 0;
	}
	if (len == 0) {
		close_if_finished(s);
		return;
	}
	if (ahead > 0) {
		hold(s, seq, data, len);
		return;
	}
	if (s->held) {
		/* held bytes it overlaps were here first: join through hold() */
		hold(s, seq, data, len);
	} else {
		deliver(s, data, len, consume, arg);
	}
	release_held(s, consume, arg);
	close_if_finished(s);
}

void tcp_stream_acked(struct tcp_stream *s, uint32_t ack)
{
	uint32_t expected = s->next_seq;

	if (s->state != TCP_STREAM_OPEN)
		return;
	if (s->fin_seen && s->next_seq == s->fin_seq)
		expected++;
	/* the receiver has bytes that never crossed here: they are gone */
	if (seq_after(ack, expected) > 0)
		desync(s);
}
