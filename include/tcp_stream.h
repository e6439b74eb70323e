/*
 * One direction of a TCP connection turned back into the byte stream its
 * receiver reads: retransmissions and overlaps are dropped (the first copy
 * of a byte wins), out-of-order segments wait, up to a byte cap, for the
 * gap before them to fill.  A gap that cannot be filled -- the cap is
 * reached, or the receiver acknowledges bytes this side never saw --
 * desynchronizes the stream for good rather than guessing.
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
	size_t max_bytes;	/* cap on pending + held bytes */
	uint8_t *pending;	/* in order, not yet consumed */
	size_t pending_len;
	size_t pending_cap;
	struct tcp_held_segment *held;	/* out of order, sorted by seq */
	size_t held_bytes;
	bool fin_seen;
	uint32_t fin_seq;
};

/*
 * Offered the in-order bytes; returns how many it consumed, or
 * TCP_CONSUMER_DESYNC when they cannot be the protocol it expects.
 */
typedef size_t (*tcp_consumer_fn)(void *arg, const uint8_t *data, size_t len);
#define TCP_CONSUMER_DESYNC ((size_t)-1)

void tcp_stream_init(struct tcp_stream *s, size_t max_bytes);
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

#endif
