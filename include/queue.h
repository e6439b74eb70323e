/*
 * NFQUEUE intake with libmnl and libnetfilter_queue's mnl API: packets of
 * endpoint-mapper conversations arrive here and each gets a verdict --
 * at once, or, for the packet that completes an answer, only after the
 * kernel holds its pinholes.
 */
#ifndef RPCGATE_QUEUE_H
#define RPCGATE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

struct queue;

/*
 * Binds queue `num`, copying whole packets; GSO packets arrive unsegmented.
 * The kernel keeps at most max_len packets waiting for a verdict and drops
 * the next ones (never passes them unseen); the socket's receive buffer
 * holds that many messages, so it does not overrun first.
 */
struct queue *queue_open(uint16_t num, uint32_t max_len);
void queue_close(struct queue *q);
int queue_fd(const struct queue *q);

/*
 * One queued packet: its IP header onwards (NULL when the kernel sent
 * none), and where it entered the router (ifindex, bridge port, packet
 * mark, sender's link address; zero where the kernel said nothing).
 */
typedef void (*queue_packet_fn)(void *arg, uint32_t id, const uint8_t *data,
				size_t len, const struct packet_ingress *in);

/*
 * Reads what is waiting (non-blocking) and hands each packet to fn; the
 * verdicts fn gives go out when nothing more is waiting, accepts as one
 * batch.  Returns 0, or -ENOBUFS when the kernel had to drop messages for
 * us.
 */
int queue_receive(struct queue *q, queue_packet_fn fn, void *arg);

/*
 * A packet's verdict: inside fn it joins the burst's messages, outside
 * it goes at once.  Returns 0, or -ENOBUFS when more packets are held
 * than a burst can record (the packet then keeps no verdict).
 */
int queue_accept(struct queue *q, uint32_t id);
/* The packet goes no further (a forged answer); always a single verdict. */
int queue_drop(struct queue *q, uint32_t id);
/*
 * Accepts with the packet's mark set to `mark` (the bits rpcgated's own
 * rules set for the daemon cleared before the packet meets anyone else's
 * rules): a single verdict, sent before any batch, so that no batch
 * accepts the packet with the bits still set.
 */
int queue_accept_with_mark(struct queue *q, uint32_t id, uint32_t mark);
/*
 * The packet waits (an answer whose pinholes are being written): no batch
 * reaches it until queue_accept(_with_mark) or queue_drop gives its
 * verdict, and the verdicts of the packets before it go now, without
 * waiting for it.
 */
int queue_hold(struct queue *q, uint32_t id);

struct queue_verdict_stats {
	uint64_t batches;		/* batch verdict messages */
	uint64_t batched_packets;	/* packets they accepted */
	uint64_t singles;		/* one-packet verdict messages */
	uint64_t send_errors;		/* verdict writes the kernel refused */
};

const struct queue_verdict_stats *queue_verdict_stats(const struct queue *q);

#endif
