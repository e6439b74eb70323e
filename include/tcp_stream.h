/*
 * One direction of a TCP connection turned back into the byte stream its
 * receiver reads: retransmissions and overlaps are dropped (the first copy
 * of a byte wins), out-of-order segments wait for the gap before them to
 * fill.  What waits is bounded in memory, not just in bytes: the pending
 * buffer's capacity plus every held block's allocation (header, data, the
 * allocator's rounding) stays within max_bytes, and at most max_held
 * separate runs of held bytes exist (adjacent segments join one run), which
 * also bounds the walk an insertion makes.  A gap that cannot be filled --
 * a cap is reached, or the receiver acknowledges bytes this side never
 * saw -- desynchronizes the stream for good rather than guessing.
 * Pure: no I/O; the consumer is a callback.
 */
#ifndef RPCGATE_TCP_STREAM_H
#define RPCGATE_TCP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tcp_stream_state {
	TCP_STREAM_NEW,		/* no SYN seen yet */
	TCP_STREAM_OPEN,
	TCP_STREAM_CLOSED,	/* FIN reached in order */
	TCP_STREAM_DESYNC,
};

struct tcp_held_segment;

struct tcp_stream {
	enum tcp_stream_state state;
	uint32_t next_seq;	/* next byte the consumer has not seen */
	size_t max_bytes;	/* cap on pending_cap + held_cost */
	uint8_t *pending;	/* in order, not yet consumed */
	size_t pending_len;
	size_t pending_cap;
	/* out of order: runs sorted by seq, disjoint */
	struct tcp_held_segment *held, *held_tail;
	size_t held_bytes;
	size_t held_cost;	/* what the held blocks' allocations take */
	uint32_t held_runs;
	uint32_t max_held;	/* cap on held_runs */
	bool fin_seen;
	uint32_t fin_seq;
};

/*
 * Offered the in-order bytes; returns how many it consumed, or
 * TCP_CONSUMER_DESYNC when they cannot be the protocol it expects.
 */
typedef size_t (*tcp_consumer_fn)(void *arg, const uint8_t *data, size_t len);
#define TCP_CONSUMER_DESYNC ((size_t)-1)

/* max_held >= 1: separate runs of out-of-order bytes held at once. */
void tcp_stream_init(struct tcp_stream *s, size_t max_bytes, size_t max_held);
void tcp_stream_release(struct tcp_stream *s);

/* SYN or SYN-ACK seen with this initial sequence number. */
void tcp_stream_open(struct tcp_stream *s, uint32_t isn);

/* A segment of this direction: payload, and whether it carries FIN. */
void tcp_stream_segment(struct tcp_stream *s, uint32_t seq,
			const uint8_t *data, size_t len, bool fin,
			tcp_consumer_fn consume, void *arg);

/* The other direction acknowledged everything before ack. */
void tcp_stream_acked(struct tcp_stream *s, uint32_t ack);

/* Bytes this stream holds now (pending and out of order). */
size_t tcp_stream_buffered(const struct tcp_stream *s);
/* The memory those bytes take, as counted against max_bytes. */
size_t tcp_stream_accounted(const struct tcp_stream *s);

#endif
