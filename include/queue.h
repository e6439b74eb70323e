/*
 * NFQUEUE intake with libmnl and libnetfilter_queue's mnl API: packets of
 * endpoint-mapper conversations arrive here and each gets a verdict --
 * at once, or, for the packet that completes an answer, only after the
 * kernel holds its pinholes.
 */
#ifndef RPCGATE_QUEUE_H
#define RPCGATE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

struct queue;

/*
 * Binds queue `num`, copying whole packets; GSO packets arrive unsegmented.
 * With fail_open the kernel accepts instead of dropping when the queue is
 * full.
 */
struct queue *queue_open(uint16_t num, bool fail_open);
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
 * Reads what is waiting (non-blocking) and hands each packet to fn.
 * Returns 0, or -ENOBUFS when the kernel had to drop messages for us.
 */
int queue_receive(struct queue *q, queue_packet_fn fn, void *arg);

int queue_accept(struct queue *q, uint32_t id);
/* The packet goes no further (a forged answer). */
int queue_drop(struct queue *q, uint32_t id);
/*
 * Accepts with the packet's mark set to `mark`: the bits rpcgated's own
 * rules set for the daemon are cleared before the packet meets anyone
 * else's rules.
 */
int queue_accept_with_mark(struct queue *q, uint32_t id, uint32_t mark);

#endif
