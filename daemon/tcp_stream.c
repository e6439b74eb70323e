#include <stdlib.h>
#include <string.h>

#include "tcp_stream.h"

/* A run of held bytes: one segment, or several adjacent ones joined. */
struct tcp_held_segment {
	struct tcp_held_segment *prev, *next;
	uint32_t seq;
	uint32_t len;
	size_t cap;		/* room in data[]; a run grows as segments extend it */
	uint8_t data[];
};

/* Signed distance from b to a in sequence space (RFC 793 comparisons). */
static int64_t seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static uint32_t run_end(const struct tcp_held_segment *run)
{
	return run->seq + run->len;
}

/*
 * What malloc(n) takes from the heap, counted as glibc's allocator takes
 * it on 64-bit: 8 bytes of chunk header, 16-byte granularity, 32 bytes at
 * least; from 128 KiB (its lowest mmap threshold) a block may be mapped
 * instead, whole pages with its header.  Counting this rather than the
 * bytes asked for is what keeps many tiny segments inside the bound.
 */
#define MALLOC_MMAP_THRESHOLD (128 * 1024)
#define PAGE_BYTES 4096

static size_t allocation_cost(size_t n)
{
	if (n >= MALLOC_MMAP_THRESHOLD)
		return (n + 32 + PAGE_BYTES - 1) & ~(size_t)(PAGE_BYTES - 1);
	if (n < 24)
		return 32;
	return (n + 8 + 15) & ~(size_t)15;
}

static size_t run_cost(size_t cap)
{
	return allocation_cost(sizeof(struct tcp_held_segment) + cap);
}

void tcp_stream_init(struct tcp_stream *s, size_t max_bytes, size_t max_held)
{
	memset(s, 0, sizeof(*s));
	s->max_bytes = max_bytes;
	s->max_held = max_held > UINT32_MAX ? UINT32_MAX : (uint32_t)max_held;
}

static void drop_buffers(struct tcp_stream *s)
{
	while (s->held) {
		struct tcp_held_segment *next = s->held->next;

		free(s->held);
		s->held = next;
	}
	s->held_tail = NULL;
	s->held_bytes = 0;
	s->held_runs = 0;
	s->held_cost = 0;
	free(s->pending);
	s->pending = NULL;
	s->pending_len = 0;
	s->pending_cap = 0;
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

size_t tcp_stream_accounted(const struct tcp_stream *s)
{
	return s->pending_cap + s->held_cost;
}

/*
 * The room to give a buffer that must now hold need bytes: twice what it
 * had, so that growing by small appends costs amortized O(1), but at most
 * half of the spare the bound leaves, so its slack cannot starve the rest.
 */
static size_t grown_size(size_t had, size_t need, size_t spare)
{
	size_t want = had ? 2 * had : 256;

	if (want > need + spare / 2)
		want = need + spare / 2;
	return want > need ? want : need;
}

/* Appends bytes the consumer has not taken yet; false after desync. */
static bool keep(struct tcp_stream *s, const uint8_t *data, size_t len)
{
	size_t need = s->pending_len + len;
	size_t budget = s->max_bytes - s->held_cost;

	if (len == 0)
		return true;
	if (need > budget) {
		desync(s);
		return false;
	}
	if (need > s->pending_cap) {
		size_t cap = grown_size(s->pending_cap, need, budget - need);
		uint8_t *grown = realloc(s->pending, cap);

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

/* A run moved by realloc: its neighbours point at it again. */
static void relink(struct tcp_stream *s, struct tcp_held_segment *run)
{
	if (run->prev)
		run->prev->next = run;
	else
		s->held = run;
	if (run->next)
		run->next->prev = run;
	else
		s->held_tail = run;
}

/* A new run between prev and next; NULL over a cap. */
static struct tcp_held_segment *
new_run(struct tcp_stream *s, struct tcp_held_segment *prev,
	struct tcp_held_segment *next, uint32_t seq, const uint8_t *data,
	size_t len)
{
	struct tcp_held_segment *run;

	if (s->held_runs >= s->max_held ||
	    run_cost(len) > s->max_bytes - tcp_stream_accounted(s) ||
	    !(run = malloc(sizeof(*run) + len)))
		return NULL;
	run->seq = seq;
	run->len = (uint32_t)len;
	run->cap = len;
	memcpy(run->data, data, len);
	run->prev = prev;
	run->next = next;
	relink(s, run);
	s->held_runs++;
	s->held_bytes += len;
	s->held_cost += run_cost(len);
	return run;
}

/*
 * Bytes that continue a run join it, so a stream of adjacent segments
 * after a gap is one block, not one per segment.  NULL over the cap (the
 * run is left as it was).
 */
static struct tcp_held_segment *
extend_run(struct tcp_stream *s, struct tcp_held_segment *run,
	   const uint8_t *data, size_t len)
{
	size_t need = run->len + len;

	if (need > run->cap) {
		size_t room = s->max_bytes - tcp_stream_accounted(s);
		size_t old = run_cost(run->cap), cap;
		struct tcp_held_segment *grown;

		if (run_cost(need) - old > room)
			return NULL;
		cap = grown_size(run->cap, need, room - (run_cost(need) - old));
		/* rounding may still push the doubled size over: back off */
		while (cap > need && run_cost(cap) - old > room)
			cap = need + (cap - need) / 2;
		grown = realloc(run, sizeof(*run) + cap);
		if (!grown)
			return NULL;
		run = grown;
		relink(s, run);
		s->held_cost += run_cost(cap) - old;
		run->cap = cap;
	}
	memcpy(run->data + run->len, data, len);
	run->len += (uint32_t)len;
	s->held_bytes += len;
	return run;
}

/*
 * Keeps the parts of an early segment that no held run covers yet, so the
 * first copy of every byte wins.  A segment past everything held -- the
 * usual order after a loss -- goes straight to the tail; otherwise the walk
 * from the head passes at most max_held runs.
 */
static void hold(struct tcp_stream *s, uint32_t seq, const uint8_t *data,
		 size_t len)
{
	struct tcp_held_segment *prev = NULL, *next = s->held;
	const uint32_t first = seq, end = seq + (uint32_t)len;

	/* a gap wider than the cap could never be filled */
	if (seq_after(end, s->next_seq) > (int64_t)s->max_bytes) {
		desync(s);
		return;
	}
	if (s->held_tail && seq_after(seq, run_end(s->held_tail)) >= 0) {
		prev = s->held_tail;
		next = NULL;
	}
	while (seq_after(end, seq) > 0) {
		const uint8_t *piece = data + (uint32_t)(seq - first);
		uint32_t piece_end = end;

		if (next && seq_after(next->seq, seq) <= 0) {
			/* bytes of next were here first */
			if (seq_after(run_end(next), seq) > 0)
				seq = run_end(next);
			prev = next;
			next = next->next;
			continue;
		}
		if (next && seq_after(next->seq, piece_end) < 0)
			piece_end = next->seq;
		if (prev && run_end(prev) == seq)
			prev = extend_run(s, prev, piece, piece_end - seq);
		else
			prev = new_run(s, prev, next, seq, piece, piece_end - seq);
		if (!prev) {
			desync(s);
			return;
		}
		seq = piece_end;
	}
}

/* Delivers held runs that the stream has caught up with. */
static void release_held(struct tcp_stream *s, tcp_consumer_fn consume,
			 void *arg)
{
	while (s->state == TCP_STREAM_OPEN && s->held &&
	       seq_after(s->held->seq, s->next_seq) <= 0) {
		struct tcp_held_segment *h = s->held;
		int64_t seen = seq_after(s->next_seq, h->seq);

		s->held = h->next;
		if (s->held)
			s->held->prev = NULL;
		else
			s->held_tail = NULL;
		s->held_runs--;
		s->held_bytes -= h->len;
		s->held_cost -= run_cost(h->cap);
		if (seen < h->len)
			deliver(s, h->data + seen, h->len - (size_t)seen,
				consume, arg);
		free(h);
	}
}

/*
 * An in-order segment: the bytes before the first held run go to the
 * consumer, the held run follows them, and of the segment's bytes that run
 * covered the held copy (the first) wins; repeated past each run it
 * reaches.
 */
static void take_in_order(struct tcp_stream *s, uint32_t seq,
			  const uint8_t *data, size_t len,
			  tcp_consumer_fn consume, void *arg)
{
	while (s->state == TCP_STREAM_OPEN) {
		int64_t behind = seq_after(s->next_seq, seq);
		size_t fresh;

		if (behind > 0) {
			/* delivered already: first copy wins */
			if ((uint64_t)behind >= len)
				return;
			data += behind;
			len -= (size_t)behind;
			seq = s->next_seq;
		}
		if (len == 0)
			return;
		fresh = len;
		if (s->held && seq_after(s->held->seq, seq + (uint32_t)len) < 0)
			fresh = s->held->seq - seq;
		deliver(s, data, fresh, consume, arg);
		data += fresh;
		len -= fresh;
		seq += (uint32_t)fresh;
		release_held(s, consume, arg);
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
	if (s->state != TCP_STREAM_OPEN)
		return;
	if (fin && !s->fin_seen) {
		s->fin_seen = true;
		s->fin_seq = seq + (uint32_t)len;
	}
	if (len && seq_after(seq, s->next_seq) > 0) {
		hold(s, seq, data, len);
		return;
	}
	take_in_order(s, seq, data, len, consume, arg);
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
