#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "queue.h"

/* A GSO packet can be up to 64 KiB; the netlink message adds headers. */
#define QUEUE_BUFFER_SIZE (0xffff + MNL_SOCKET_BUFFER_SIZE)

struct queue {
	struct mnl_socket *nl;
	uint32_t portid;
	uint16_t num;
	char *buf;
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

struct queue *queue_open(uint16_t num, bool fail_open)
{
	struct queue *q = calloc(1, sizeof(*q));
	struct nlmsghdr *nlh;
	uint32_t flags = NFQA_CFG_F_GSO | (fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	int rcvbuf = 8 * 1024 * 1024;

	if (!q || !(q->buf = malloc(QUEUE_BUFFER_SIZE)))
		goto fail;
	q->num = num;
	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	q->portid = mnl_socket_get_portid(q->nl);

	nlh = nfq_nlmsg_put(q->buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	if (config_request(q, nlh) < 0)
		goto fail;
	nlh = nfq_nlmsg_put(q->buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	if (config_request(q, nlh) < 0)
		goto fail;
	/* queue bursts are absorbed here rather than dropped */
	setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		   sizeof(rcvbuf));
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

int queue_receive(struct queue *q, queue_packet_fn fn, void *arg)
{
	struct delivery d = { fn, arg };
	int fd = mnl_socket_get_fd(q->nl);

	for (;;) {
		ssize_t n = recv(fd, q->buf, QUEUE_BUFFER_SIZE, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		mnl_cb_run(q->buf, (size_t)n, 0, q->portid, packet_cb, &d);
	}
}

static int send_verdict(struct queue *q, uint32_t id, int verdict)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, q->num);

	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	return mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

int queue_accept(struct queue *q, uint32_t id)
{
	return send_verdict(q, id, NF_ACCEPT);
}

int queue_drop(struct queue *q, uint32_t id)
{
	return send_verdict(q, id, NF_DROP);
}

int queue_accept_with_mark(struct queue *q, uint32_t id, uint32_t mark)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, q->num);

	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	nfq_nlmsg_verdict_put_mark(nlh, mark);
	return mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}
