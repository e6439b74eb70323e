/*
 * libFuzzer target for the whole decoder path: TCP segments -> per
 * direction streams -> DCE/RPC PDUs -> EPM stubs -> endpoints, and UDP
 * datagrams -> connectionless DCE/RPC PDUs -> EPM stubs -> endpoints, all
 * through flow_table_packet(), the function live traffic and replay both
 * use.
 *
 * One client/server pair, IPv4 client 192.0.2.10:49700 -> server
 * 198.51.100.20:135, over TCP and over UDP.  The harness sends the TCP
 * handshake itself (client SYN with ISN CLIENT_ISN, server SYN-ACK with
 * ISN SERVER_ISN; both ISNs are chosen so that sequence numbers wrap past
 * 2^32 within a few KB), then turns the input into TCP segments and UDP
 * datagrams.  The input is a sequence of records:
 *
 *   flags    u8
 *   len      u16 LE     payload length (cut short at the end of the input)
 *   delta    u16 LE     only when the SEQ bits of flags are not 0
 *   payload  len bytes
 *
 * flags:
 *   0x01 DIR   0: client -> server, 1: server -> client
 *   0x02 ACK   the segment carries ACK, acknowledging everything the other
 *              direction has sent so far (beyond a gap this desyncs, as
 *              the decoder must)
 *   0x04 FIN
 *   0x18 SEQ   where the segment starts; "next" is, per direction, the end
 *              of the highest byte sent so far:
 *              0x00 in order  seq = next
 *              0x08 ahead     seq = next + delta   (leaves a gap to fill)
 *              0x10 behind    seq = next - delta   (retransmission, overlap,
 *                                                   or the fill of a gap)
 *              0x18 reopen    first a bare SYN (client) or SYN-ACK (server)
 *                             with ISN next + delta, then the payload in
 *                             order after it (a new connection on the same
 *                             ports, or a repeated handshake)
 *   0x20 RST   the segment carries RST (the flow is forgotten; a later
 *              segment that starts a PDU picks the connection up again)
 *   0x40 IDLE  the clock jumps past the idle timeout before the segment
 *              (or datagram)
 *   0x80 UDP   the payload is one UDP datagram between the same two
 *              addresses and ports, in the direction DIR says; ACK, FIN
 *              and SEQ are ignored (delta is still read when the SEQ bits
 *              are not 0), RST makes it an INGRESS record, IDLE applies,
 *              and "next" is left as it was
 *   0xa0 INGRESS  (UDP and RST together) not a packet: where DIR's packets
 *              come in from now on: payload byte 0 the interface index (0:
 *              unknown, as in a replay), byte 1 the bridge port, byte 2
 *              non-zero for the kernel's reverse-path mark (bytes past the
 *              payload count as 0); a direction then seen on another
 *              interface, or marked, must be refused and not decoded
 *
 * A real conversation is therefore its payload-carrying segments in
 * capture order, each as {DIR|ACK, len, payload}, and a UDP one its
 * datagrams in capture order, each as {UDP|DIR, len, payload};
 * tests/fuzz/make_corpus.py cuts the seeds in tests/fuzz/corpus/ that way
 * from real captures and the project's vectors.
 *
 * Limits are small (3000 bytes per stream direction, 1000 per reassembled
 * call stub or joined connectionless body) so that the cap paths are
 * reached with small inputs.  Every field of every reported endpoint is
 * read and branched on, so that UBSan sees bad bool/enum loads; after each
 * packet the harness checks that the endpoint count it was told matches
 * the callbacks, that the table holds at most the pair's TCP flow and its
 * UDP flow, and that no buffer exceeds its cap, and aborts if not.  The
 * table is released at the end so that LeakSanitizer sees anything left
 * behind.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flow.h"

#define CLIENT_ISN 0xffffff00u
#define SERVER_ISN 0xfffff000u
#define CLIENT_PORT 49700
#define SERVER_PORT 135

/*
 * Both caps are reachable within libFuzzer's default 4096-byte inputs,
 * and the stream cap is no power of two, so that the buffer growth in
 * tcp_stream.c has to clamp to it.
 */
#define MAX_STREAM_BYTES 3000
#define MAX_CALL_BYTES 1000
#define IDLE_TIMEOUT_US (60ull * 1000000)

#define F_DIR 0x01
#define F_ACK 0x02
#define F_FIN 0x04
#define F_SEQ 0x18
#define SEQ_IN_ORDER 0x00
#define SEQ_AHEAD 0x08
#define SEQ_BEHIND 0x10
#define SEQ_REOPEN 0x18
#define F_RST 0x20
#define F_IDLE 0x40
#define F_UDP 0x80
#define F_INGRESS (F_UDP | F_RST)
#define REVERSE_PATH_MARK 0x00200000u

/*
 * A hook for a throwaway driver that #includes this file to print what a
 * seed decodes to; the fuzzer itself never defines it.
 */
#ifndef FUZZ_ON_ENDPOINT
#define FUZZ_ON_ENDPOINT(flow, ans, ep) ((void)0)
#endif

struct side {
	uint32_t next;		/* end of the highest byte sent */
	bool fin;
	uint32_t fin_seq;	/* sequence number the FIN occupies */
};

struct harness {
	struct flow_table table;
	struct side side[2];	/* by enum dce_dir */
	struct packet_ingress in[2];	/* by enum dce_dir */
	uint64_t now_us;
	uint8_t proto;		/* of the packet being sent */
	int callbacks;		/* endpoints reported during one packet */
	uint64_t fold;		/* every field read, so that none is dead */
};

static volatile uint64_t fuzz_sink;

static const uint8_t client_addr[4] = { 192, 0, 2, 10 };
static const uint8_t server_addr[4] = { 198, 51, 100, 20 };

static int64_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

/* Whether a flow is the one client/server pair there is (TCP or UDP). */
static bool is_the_pair(const struct flow_key *k)
{
	return k->family == AF_INET &&
	       memcmp(k->client, client_addr, 4) == 0 &&
	       memcmp(k->server, server_addr, 4) == 0 &&
	       k->client_port == CLIENT_PORT && k->server_port == SERVER_PORT;
}

static void on_endpoint(void *arg, const struct flow *flow,
			const struct dce_answer *ans,
			const struct epm_endpoint *ep)
{
	struct harness *h = arg;
	const char *name;
	uint64_t x = h->fold;

	h->callbacks++;
	if (!flow || !ans || !ans->req || !ep)
		abort();
	/* the flow is the pair's, over the protocol of the packet sent */
	if (!is_the_pair(&flow->key) || flow->key.proto != h->proto)
		abort();
	/* the question the answer was judged against */
	switch (ans->req->op) {
	case EPM_OP_LOOKUP:
		x = x * 31 + ans->req->inquiry_type;
		break;
	case EPM_OP_MAP:
		x = x * 31 + 7;
		break;
	default:
		abort();
	}
	if (ans->req->has_iface) {
		for (size_t i = 0; i < sizeof(ans->req->iface.b); i++)
			x = x * 31 + ans->req->iface.b[i];
		x = x * 31 + ans->req->iface_major;
	}
	x = x * 31 + ans->req->max_results;
	x = x * 31 + ans->call_id;
	/* the endpoint, every field */
	for (size_t i = 0; i < sizeof(ep->iface.b); i++)
		x = x * 31 + ep->iface.b[i];
	x = x * 31 + ep->iface_major;
	x = x * 31 + ep->iface_minor;
	switch (ep->proto) {
	case EPM_PROTO_TCP:
	case EPM_PROTO_UDP:
	case EPM_PROTO_HTTP:
		x = x * 31 + (uint64_t)ep->proto;
		break;
	default:
		abort();
	}
	x = x * 31 + ep->port;
	if (ep->has_addr)
		for (size_t i = 0; i < sizeof(ep->addr); i++)
			x = x * 31 + ep->addr[i];
	name = epm_iface_name(&ep->iface);
	if (name)
		x = x * 31 + (uint8_t)name[0];
	x = x * 31 + (uint8_t)epm_proto_name(ep->proto)[0];
	h->fold = x;
	FUZZ_ON_ENDPOINT(flow, ans, ep);
}

/*
 * What must hold of a UDP flow's connectionless decoder: the call joined
 * in each direction is within its caps, its fragments are held in
 * ascending fragnum order, none past the last, and their lengths add up to
 * the body; a call that is whole is no longer held.
 */
static void check_cl(const struct dce_cl_conn *c)
{
	if (c->n_calls > DCE_CL_MAX_CALLS)
		abort();
	for (int d = 0; d < 2; d++) {
		const struct dce_cl_reassembly *r = &c->reassembly[d];
		size_t sum = 0;

		if (r->len > MAX_CALL_BYTES || r->n_frags > DCE_CL_MAX_FRAGS)
			abort();
		if (!r->active) {
			if (r->len || r->n_frags || r->body || r->frags)
				abort();
			continue;
		}
		if (r->n_frags == 0 ||
		    (r->have_last && r->n_frags == r->last + 1u))
			abort();
		for (uint16_t i = 0; i < r->n_frags; i++) {
			if (i && r->frags[i].fragnum <= r->frags[i - 1].fragnum)
				abort();
			if (r->have_last && r->frags[i].fragnum > r->last)
				abort();
			sum += r->frags[i].len;
		}
		if (sum != r->len)
			abort();
	}
}

/* What must hold of every flow after every packet. */
static void check_flow(const struct flow *f, size_t *n_tcp, size_t *n_udp)
{
	const struct dce_conn *c = &f->dce;

	if (!is_the_pair(&f->key))
		abort();
	if (f->key.proto == IPPROTO_TCP && !f->cl) {
		(*n_tcp)++;
	} else if (f->key.proto == IPPROTO_UDP && f->cl) {
		(*n_udp)++;
		check_cl(f->cl);
	} else {
		abort();
	}
	for (int d = 0; d < 2; d++) {
		const struct tcp_stream *s = &f->stream[d];

		if (tcp_stream_accounted(s) > MAX_STREAM_BYTES)
			abort();
		if (s->state == TCP_STREAM_DESYNC &&
		    tcp_stream_buffered(s) != 0)
			abort();
		if (c->reassembly[d].len > MAX_CALL_BYTES)
			abort();
	}
	if (c->n_calls > DCE_MAX_CALLS ||
	    c->n_epm_ctx > DCE_MAX_CONTEXTS ||
	    c->n_proposed > DCE_MAX_CONTEXTS)
		abort();
}

static void check_flows(const struct harness *h)
{
	const struct flow_list *lists[2] = { &h->table.halfopen,
					     &h->table.established };
	size_t n_tcp = 0, n_udp = 0;

	for (int l = 0; l < 2; l++)
		for (const struct flow *f = lists[l]->oldest; f;
		     f = f->table_links.newer)
			check_flow(f, &n_tcp, &n_udp);
	if (n_tcp + n_udp != h->table.n_flows || n_tcp > 1 || n_udp > 1)
		abort();
}

/* Sends pkt (its protocol and payload set) in direction dir of the pair. */
static void deliver(struct harness *h, struct packet *pkt, enum dce_dir dir)
{
	int endpoints;

	pkt->family = AF_INET;
	memcpy(pkt->src, dir == DCE_FROM_CLIENT ? client_addr : server_addr, 4);
	memcpy(pkt->dst, dir == DCE_FROM_CLIENT ? server_addr : client_addr, 4);
	pkt->sport = dir == DCE_FROM_CLIENT ? CLIENT_PORT : SERVER_PORT;
	pkt->dport = dir == DCE_FROM_CLIENT ? SERVER_PORT : CLIENT_PORT;
	pkt->in = h->in[dir];

	h->proto = pkt->proto;
	h->callbacks = 0;
	endpoints = flow_table_packet(&h->table, pkt, h->now_us++,
				      on_endpoint, h);
	/* a refused packet is not decoded; a marked one always refused */
	if (endpoints < 0 ? h->callbacks != 0 ||
				    (endpoints != FLOW_FORGED_REVERSE_PATH &&
				     endpoints != FLOW_FORGED_INGRESS) :
			    endpoints != h->callbacks ||
				    (pkt->in.mark & REVERSE_PATH_MARK))
		abort();
	check_flows(h);
}

static void set_ingress(struct harness *h, enum dce_dir dir,
			const uint8_t *payload, size_t len)
{
	struct packet_ingress *in = &h->in[dir];

	memset(in, 0, sizeof(*in));
	in->ifindex = len > 0 ? payload[0] : 0;
	in->phys_ifindex = len > 1 ? payload[1] : 0;
	in->mark = len > 2 && payload[2] ? REVERSE_PATH_MARK : 0;
}

static void send_packet(struct harness *h, enum dce_dir dir, uint8_t tcp_flags,
			uint32_t seq, const uint8_t *payload, size_t len)
{
	struct packet pkt = { .proto = IPPROTO_TCP };
	const struct side *peer = &h->side[!dir];

	pkt.seq = seq;
	pkt.tcp_flags = tcp_flags;
	if (tcp_flags & TCP_ACK)
		pkt.ack = peer->next +
			  (peer->fin && peer->fin_seq == peer->next ? 1 : 0);
	pkt.payload = payload;
	pkt.payload_len = len;
	deliver(h, &pkt, dir);
}

static void send_datagram(struct harness *h, enum dce_dir dir,
			  const uint8_t *payload, size_t len)
{
	struct packet pkt = { .proto = IPPROTO_UDP };

	pkt.payload = payload;
	pkt.payload_len = len;
	deliver(h, &pkt, dir);
}

/* Moves a direction's high-water mark past a segment. */
static void advance(struct side *s, uint32_t seq, size_t len, bool fin)
{
	uint32_t end = seq + (uint32_t)len;

	if (seq_diff(end, s->next) > 0)
		s->next = end;
	if (fin && !s->fin) {
		s->fin = true;
		s->fin_seq = end;
	}
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness h;
	struct flow_config cfg;
	size_t pos = 0;

	memset(&h, 0, sizeof(h));
	flow_config_defaults(&cfg);
	cfg.max_flows = 4;
	cfg.max_stream_bytes = MAX_STREAM_BYTES;
	cfg.max_call_bytes = MAX_CALL_BYTES;
	cfg.idle_timeout_us = IDLE_TIMEOUT_US;
	cfg.hash_seed = 0x5eed;
	cfg.reverse_path_mark = REVERSE_PATH_MARK;
	if (!flow_table_init(&h.table, &cfg))
		return 0;
	h.now_us = 1000000;

	send_packet(&h, DCE_FROM_CLIENT, TCP_SYN, CLIENT_ISN, NULL, 0);
	h.side[DCE_FROM_CLIENT].next = CLIENT_ISN + 1;
	send_packet(&h, DCE_FROM_SERVER, TCP_SYN | TCP_ACK, SERVER_ISN, NULL, 0);
	h.side[DCE_FROM_SERVER].next = SERVER_ISN + 1;

	while (size - pos >= 3) {
		uint8_t flags = data[pos];
		size_t len = le16(data + pos + 1);
		uint16_t delta = 0;
		enum dce_dir dir = (flags & F_DIR) ? DCE_FROM_SERVER :
						     DCE_FROM_CLIENT;
		struct side *own = &h.side[dir];
		uint8_t tcp_flags = 0;
		uint32_t seq;

		pos += 3;
		if (flags & F_SEQ) {
			if (size - pos < 2)
				break;
			delta = le16(data + pos);
			pos += 2;
		}
		if (len > size - pos)
			len = size - pos;
		if (flags & F_IDLE)
			h.now_us += IDLE_TIMEOUT_US + 1;
		if ((flags & F_INGRESS) == F_INGRESS) {
			set_ingress(&h, dir, data + pos, len);
			pos += len;
			continue;
		}
		if (flags & F_UDP) {
			send_datagram(&h, dir, data + pos, len);
			pos += len;
			continue;
		}

		switch (flags & F_SEQ) {
		case SEQ_AHEAD:
			seq = own->next + delta;
			break;
		case SEQ_BEHIND:
			seq = own->next - delta;
			break;
		case SEQ_REOPEN:
			seq = own->next + delta;
			send_packet(&h, dir,
				    dir == DCE_FROM_CLIENT ? TCP_SYN :
							     TCP_SYN | TCP_ACK,
				    seq, NULL, 0);
			own->fin = false;
			own->next = ++seq;
			break;
		default:
			seq = own->next;
			break;
		}
		if (flags & F_ACK)
			tcp_flags |= TCP_ACK;
		if (flags & F_FIN)
			tcp_flags |= TCP_FIN;
		if (flags & F_RST)
			tcp_flags |= TCP_RST;
		send_packet(&h, dir, tcp_flags, seq, data + pos, len);
		advance(own, seq, len, flags & F_FIN);
		pos += len;
	}

	fuzz_sink = h.fold + h.table.stats.endpoints;
	flow_table_release(&h.table);
	return 0;
}
