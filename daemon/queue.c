#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "queue.h"
#include "verdicts.h"

/*
 * Whole packets: the stream needs every byte, and a GSO packet can be up
 * to 64 KiB.  A shorter copy would leave part of an answer unread.
 */
#define QUEUE_COPY_RANGE 0xffff
/* the netlink message adds headers */
#define QUEUE_BUFFER_SIZE (QUEUE_COPY_RANGE + MNL_SOCKET_BUFFER_SIZE)
/*
 * What the kernel charges the receive buffer for the largest message: a
 * copy range of packet and its attributes (~66 KiB) in an allocation
 * rounded up to 128 KiB, and the sk_buff (256 bytes).
 */
#define QUEUE_MESSAGE_CHARGE (128 * 1024 + 256)
/* Packets read in one burst and waiting for their verdict message. */
#define QUEUE_BURST_ENTRIES 1024
/* nlmsghdr, nfgenmsg and the verdict header, aligned */
#define QUEUE_VERDICT_MESSAGE_SIZE 64

struct queue {
	struct mnl_socket *nl;
	uint32_t portid;
	uint16_t num;
	char *buf;
	bool in_burst;		/* inside queue_receive: verdicts wait for its end */
	size_t n_pending;	/* read, no verdict message yet */
	size_t n_held;		/* the first of them, held at the last flush */
	struct verdict_entry pending[QUEUE_BURST_ENTRIES];
	struct verdict_message plan[QUEUE_BURST_ENTRIES];
	char verdicts[QUEUE_BURST_ENTRIES * QUEUE_VERDICT_MESSAGE_SIZE];
	struct queue_verdict_stats stats;
};

static int config_request(struct queue *q, struct nlmsghdr *nlh)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(q->nl, q->buf, QUEUE_BUFFER_SIZE);
	if (n < 0)
		return -errno;
	return mnl_cb_run(q->buf, (size_t)n, seq, q->portid, NULL, NULL) < 0 ?
		       -errno : 0;
}

/*
 * Every packet in the kernel's queue was sent to the socket once and its
 * message waits there until read, so a receive buffer that holds max_len
 * of the largest messages is never full before the queue is: overload is
 * then always a full queue, which drops (and counts) the packet before
 * it is queued, and TCP sends it again.  The kernel doubles what it is
 * given (for its bookkeeping) and keeps it in an int.
 */
static int receive_buffer_for(uint32_t max_len)
{
	uint64_t want = ((uint64_t)max_len * QUEUE_MESSAGE_CHARGE + 1) / 2;

	return want > INT_MAX / 2 ? INT_MAX / 2 : (int)want;
}

struct queue *queue_open(uint16_t num, uint32_t max_len)
{
	struct queue *q = calloc(1, sizeof(*q));
	struct nlmsghdr *nlh;
	/* never NFQA_CFG_F_FAIL_OPEN: a full queue (or an overrun socket,
	 * which the kernel treats alike) would then pass packets unseen, and
	 * an answer would reach its client with no pinhole */
	uint32_t flags = NFQA_CFG_F_GSO;
	int rcvbuf = receive_buffer_for(max_len);

	if (!q || !(q->buf = malloc(QUEUE_BUFFER_SIZE)))
		goto fail;
	q->num = num;
	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	q->portid = mnl_socket_get_portid(q->nl);
	/* without CAP_NET_ADMIN, what net.core.rmem_max allows: an overrun
	 * drops too, and is counted */
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF,
			   &rcvbuf, sizeof(rcvbuf));

	nlh = nfq_nlmsg_put(q->buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	if (config_request(q, nlh) < 0)
		goto fail;
	nlh = nfq_nlmsg_put(q->buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, QUEUE_COPY_RANGE);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(max_len));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO |
						  NFQA_CFG_F_FAIL_OPEN));
	if (config_request(q, nlh) < 0)
		goto fail;
	return q;
fail:
	queue_close(q);
	return NULL;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->buf);
	free(q);
}

int queue_fd(const struct queue *q)
{
	return mnl_socket_get_fd(q->nl);
}

struct delivery {
	queue_packet_fn fn;
	void *arg;
};

static uint32_t attr_u32(const struct nlattr *attr)
{
	return attr && mnl_attr_get_payload_len(attr) >= sizeof(uint32_t) ?
		       ntohl(mnl_attr_get_u32(attr)) : 0;
}

/* Where the packet came in; the kernel leaves out what does not apply. */
static void read_ingress(struct nlattr *const attr[], struct packet_ingress *in)
{
	memset(in, 0, sizeof(*in));
	in->ifindex = attr_u32(attr[NFQA_IFINDEX_INDEV]);
	in->phys_ifindex = attr_u32(attr[NFQA_IFINDEX_PHYSINDEV]);
	in->mark = attr_u32(attr[NFQA_MARK]);
	if (attr[NFQA_HWADDR] && mnl_attr_get_payload_len(attr[NFQA_HWADDR]) >=
					 sizeof(struct nfqnl_msg_packet_hw)) {
		const struct nfqnl_msg_packet_hw *hw =
			mnl_attr_get_payload(attr[NFQA_HWADDR]);
		uint16_t len = ntohs(hw->hw_addrlen);

		in->hwaddr_len = len < sizeof(in->hwaddr) ? (uint8_t)len :
							    sizeof(in->hwaddr);
		memcpy(in->hwaddr, hw->hw_addr, in->hwaddr_len);
	}
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct delivery *d = data;
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	const struct nfqnl_msg_packet_hdr *ph;
	struct packet_ingress in;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	read_ingress(attr, &in);
	if (!attr[NFQA_PAYLOAD]) {
		/* nothing to read: the caller decides on what it knows */
		d->fn(d->arg, ntohl(ph->packet_id), NULL, 0, &in);
		return MNL_CB_OK;
	}
	d->fn(d->arg, ntohl(ph->packet_id), mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
	      mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), &in);
	return MNL_CB_OK;
}

static void put_verdict(struct queue *q, size_t *used, uint16_t type,
			const struct verdict_message *m, int verdict)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(q->verdicts + *used, type, q->num);

	nfq_nlmsg_verdict_put(nlh, (int)m->id, verdict);
	if (m->kind == VERDICT_MESSAGE_ACCEPT_MARK)
		nfq_nlmsg_verdict_put_mark(nlh, m->mark);
	*used += NLMSG_ALIGN(nlh->nlmsg_len);
}

/*
 * Sends the verdicts the pending packets have, as few messages in one
 * write; the held ones stay pending, at the front.
 */
static void flush_verdicts(struct queue *q)
{
	size_t n = verdict_plan(q->pending, q->n_pending, q->plan), used = 0,
	       kept = 0, accepted_before_held = 0;
	bool held = false;

	for (size_t i = 0; i < n; i++) {
		const struct verdict_message *m = &q->plan[i];

		if (m->kind == VERDICT_MESSAGE_ACCEPT_UPTO) {
			put_verdict(q, &used, NFQNL_MSG_VERDICT_BATCH, m, NF_ACCEPT);
			q->stats.batches++;
		} else {
			put_verdict(q, &used, NFQNL_MSG_VERDICT, m,
				    m->kind == VERDICT_MESSAGE_DROP ? NF_DROP :
								      NF_ACCEPT);
			q->stats.singles++;
		}
	}
	for (size_t i = 0; i < q->n_pending; i++) {
		if (q->pending[i].kind == VERDICT_HELD) {
			q->pending[kept++] = q->pending[i];
			held = true;
		} else if (q->pending[i].kind == VERDICT_ACCEPT && !held) {
			accepted_before_held++;
		}
	}
	if (accepted_before_held > 1)	/* they went as one batch */
		q->stats.batched_packets += accepted_before_held;
	q->n_pending = q->n_held = kept;
	if (used && mnl_socket_sendto(q->nl, q->verdicts, used) < 0)
		q->stats.send_errors++;
}

int queue_receive(struct queue *q, queue_packet_fn fn, void *arg)
{
	struct delivery d = { fn, arg };
	int fd = mnl_socket_get_fd(q->nl), rc = 0;

	q->in_burst = true;
	for (;;) {
		ssize_t n = recv(fd, q->buf, QUEUE_BUFFER_SIZE, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				rc = -errno;
			break;
		}
		mnl_cb_run(q->buf, (size_t)n, 0, q->portid, packet_cb, &d);
	}
	q->in_burst = false;
	flush_verdicts(q);
	return rc;
}

/* The packet's verdict, in the burst's messages (now outside a burst). */
static int set_verdict(struct queue *q, uint32_t id, enum verdict_kind kind,
		       uint32_t mark)
{
	size_t i = 0;

	/* the packets held are the few at the front */
	while (i < q->n_held && q->pending[i].id != id)
		i++;
	if (i < q->n_held) {
		q->pending[i].kind = kind;
		q->pending[i].mark = mark;
	} else {
		if (q->n_pending == QUEUE_BURST_ENTRIES)
			flush_verdicts(q);
		if (q->n_pending == QUEUE_BURST_ENTRIES)
			return -ENOBUFS;	/* every one of them held */
		q->pending[q->n_pending++] = (struct verdict_entry){ id, kind, mark };
	}
	if (!q->in_burst)
		flush_verdicts(q);
	return 0;
}

int queue_hold(struct queue *q, uint32_t id)
{
	int rc = set_verdict(q, id, VERDICT_HELD, 0);

	/* what came before goes now, not after the wait for the kernel */
	if (rc == 0)
		flush_verdicts(q);
	return rc;
}

int queue_accept(struct queue *q, uint32_t id)
{
	return set_verdict(q, id, VERDICT_ACCEPT, 0);
}

int queue_drop(struct queue *q, uint32_t id)
{
	return set_verdict(q, id, VERDICT_DROP, 0);
}

int queue_accept_with_mark(struct queue *q, uint32_t id, uint32_t mark)
{
	return set_verdict(q, id, VERDICT_ACCEPT_MARK, mark);
}

const struct queue_verdict_stats *queue_verdict_stats(const struct queue *q)
{
	return &q->stats;
}
