/* Whole EPM connections through flow_table_packet: flow.c. */
#include "../../daemon/flow.c"
#include "build_pdu.h"
#include "unit.h"

static const struct tw emsmdb = TW_EMSMDB;

/* One client-server pair and what the table reported for it. */
static struct {
	struct flow_table t;
	bool initialized;
	uint32_t next[2];	/* by enum dce_dir: next sequence number */
	struct got got;
	int endpoints;
	uint64_t now;
	struct packet_ingress in[2];	/* by enum dce_dir: where it comes in */
	int last;		/* what flow_table_packet returned last */
	struct bld b;		/* scratch */
} net;

#define LAN_IFINDEX 2
#define WAN_IFINDEX 3
#define REVERSE_PATH_MARK 0x00200000u

/* A table whose packets carry no ingress (a replay), or, with
 * reverse_path_mark, live ones. */
static void net_open_with(uint32_t reverse_path_mark)
{
	struct flow_config cfg;

	if (net.initialized)
		flow_table_release(&net.t);
	flow_config_defaults(&cfg);
	cfg.reverse_path_mark = reverse_path_mark;
	net.initialized = flow_table_init(&net.t, &cfg);
	CHECK(net.initialized);
	net.next[DCE_FROM_CLIENT] = 1000000;
	net.next[DCE_FROM_SERVER] = 2000000;
	memset(&net.got, 0, sizeof(net.got));
	net.endpoints = 0;
	net.now = 1;
	memset(net.in, 0, sizeof(net.in));
	net.last = 0;
}

static void net_open(void)
{
	net_open_with(0);
}

/* The client behind LAN_IFINDEX, the server behind WAN_IFINDEX. */
static void net_open_routed(void)
{
	net_open_with(REVERSE_PATH_MARK);
	net.in[DCE_FROM_CLIENT].ifindex = LAN_IFINDEX;
	net.in[DCE_FROM_SERVER].ifindex = WAN_IFINDEX;
}

/* A segment of dir at stream offset off from net.next[dir]; with ACK it
 * acknowledges everything the peer has sent. */
static void net_seg(enum dce_dir dir, uint8_t flags, size_t off,
		    const uint8_t *data, size_t len)
{
	static const uint8_t addr[2][4] = { { 192, 0, 2, 10 },
					    { 198, 51, 100, 20 } };
	static const uint16_t port[2] = { 49700, 135 };
	struct packet p = { .family = AF_INET, .proto = IPPROTO_TCP, .tcp_flags = flags,
			    .seq = net.next[dir] + (uint32_t)off,
			    .ack = flags & TCP_ACK ? net.next[!dir] : 0,
			    .sport = port[dir], .dport = port[!dir],
			    .payload = data, .payload_len = len,
			    .in = net.in[dir] };

	memcpy(p.src, addr[dir], 4);
	memcpy(p.dst, addr[!dir], 4);
	net.last = flow_table_packet(&net.t, &p, net.now++, got_flow, &net.got);
	if (net.last > 0)
		net.endpoints += net.last;
}

/* The next segment of dir: sent, and the sequence moves past it. */
static void net_send(enum dce_dir dir, uint8_t flags, const uint8_t *data,
		     size_t len)
{
	net_seg(dir, flags, 0, data, len);
	net.next[dir] += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) != 0);
}

/* net.b as segments of `piece` bytes. */
static void net_send_b(enum dce_dir dir, size_t piece)
{
	for (size_t at = 0; at < net.b.len; at += piece)
		net_send(dir, TCP_ACK | 0x08, net.b.b + at,
			 net.b.len - at < piece ? net.b.len - at : piece);
}

static void handshake(void)
{
	net_send(DCE_FROM_CLIENT, TCP_SYN, NULL, 0);
	net_send(DCE_FROM_SERVER, TCP_SYN | TCP_ACK, NULL, 0);
	net_send(DCE_FROM_CLIENT, TCP_ACK, NULL, 0);
}

/* bind, bind_ack, ept_map(EMSMDB) as call 2; leaves its answer in net.b. */
static void converse_until_response(void)
{
	struct twr t = twr_std(&emsmdb);
	const struct twr *tl[] = { &t };
	struct epm_resp r = resp_of(EPM_OP_MAP, 1, tl);

	bld_init(&net.b, false, false);
	put_epm_bind(&net.b, 1);
	net_send_b(DCE_FROM_CLIENT, BLD_CAP);
	bld_init(&net.b, false, false);
	put_epm_bind_ack(&net.b, 1);
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	bld_init(&net.b, false, false);
	put_map_call(&net.b, 2, 1, &t, 4);
	net_send_b(DCE_FROM_CLIENT, BLD_CAP);
	bld_init(&net.b, false, false);
	put_answer(&net.b, 2, 1, &r);
}

static void finish(void)
{
	net_send(DCE_FROM_CLIENT, TCP_FIN | TCP_ACK, NULL, 0);
	net_send(DCE_FROM_SERVER, TCP_FIN | TCP_ACK, NULL, 0);
	net_send(DCE_FROM_CLIENT, TCP_ACK, NULL, 0);
}

static void expect(int n)
{
	CHECK(net.endpoints == n);
	CHECK(net.got.n == n);
	if (n > 0 && net.got.n > 0)
		CHECK(ep_is(&net.got.ep[0], &emsmdb));
}

static void test_flow_response_one_byte_per_packet(void)
{
	net_open();
	handshake();
	converse_until_response();
	net_send_b(DCE_FROM_SERVER, 1);
	expect(1);
	CHECK(net.t.stats.endpoints == 1);
	finish();
	CHECK(net.t.n_flows == 0);	/* both sides closed */
}

static void test_flow_response_out_of_order_with_retransmission(void)
{
	size_t len;

	net_open();
	handshake();
	converse_until_response();
	len = net.b.len;
	net_seg(DCE_FROM_SERVER, TCP_ACK, 50, net.b.b + 50, 50);
	net_seg(DCE_FROM_SERVER, TCP_ACK, 100, net.b.b + 100, len - 100);
	net_seg(DCE_FROM_SERVER, TCP_ACK, 30, net.b.b + 30, 90);
	expect(0);
	net_send(DCE_FROM_SERVER, TCP_ACK, net.b.b, 50);
	expect(1);
	net_seg(DCE_FROM_SERVER, TCP_ACK, 50, net.b.b + 100, len - 100);
	expect(1);
}

static void test_flow_picked_up_without_handshake(void)
{
	net_open();
	converse_until_response();
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	expect(1);
}

/* The server acknowledges a client byte that never crossed here; the
 * ACK comes alone, or on the response itself. */
static void ack_unseen_then_respond(bool on_response)
{
	net_open();
	handshake();
	converse_until_response();
	net.next[DCE_FROM_CLIENT]++;
	if (!on_response)
		net_send(DCE_FROM_SERVER, TCP_ACK, NULL, 0);
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	expect(0);
	CHECK(net.t.stats.flows_desync == 1);
}

static void test_flow_ack_of_unseen_bytes_desyncs(void)
{
	ack_unseen_then_respond(false);
}

static void test_flow_response_carrying_ack_of_unseen_bytes(void)
{
	ack_unseen_then_respond(true);
}

static void test_flow_frag_length_beyond_data_then_fin(void)
{
	net_open();
	handshake();
	converse_until_response();
	bld_patch(&net.b, FRAG_LEN_AT, net.b.len + 1, 2);
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	finish();
	expect(0);
	CHECK(net.t.n_flows == 0);
}

/*
 * A client forges the server's answer and the router hairpins it: it
 * comes in where the client's packets do.  Dropped, not decoded -- the
 * genuine answer that follows still counts.
 */
static void test_flow_answer_from_the_client_side_refused(void)
{
	net_open_routed();
	handshake();
	converse_until_response();
	net.in[DCE_FROM_SERVER].ifindex = LAN_IFINDEX;
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	CHECK(net.last == FLOW_FORGED_INGRESS);
	expect(0);
	CHECK(net.t.stats.forged == 1);
	/* not consumed: the genuine copy of those bytes is new to the stream */
	net.next[DCE_FROM_SERVER] -= (uint32_t)net.b.len;
	net.in[DCE_FROM_SERVER].ifindex = WAN_IFINDEX;
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	CHECK(net.last == 1);
	expect(1);
}

/* The client's side keeps its interface too: a request (or a fresh SYN)
 * in its name from elsewhere is refused and changes nothing. */
static void test_flow_client_side_from_elsewhere_refused(void)
{
	net_open_routed();
	handshake();
	net.in[DCE_FROM_CLIENT].ifindex = WAN_IFINDEX;
	net_seg(DCE_FROM_CLIENT, TCP_SYN, 12345, NULL, 0);
	CHECK(net.last == FLOW_FORGED_INGRESS);
	CHECK(net.t.n_flows == 1);
	/* the one flow, on whichever list its handshake put it */
	CHECK((net.t.established.oldest ? net.t.established.oldest :
					 net.t.halfopen.oldest)
		      ->stream[DCE_FROM_CLIENT].state != TCP_STREAM_NEW);
	bld_init(&net.b, false, false);
	put_epm_bind(&net.b, 1);
	net_send_b(DCE_FROM_CLIENT, BLD_CAP);
	CHECK(net.last == FLOW_FORGED_INGRESS);
	CHECK(net.t.stats.forged == 2);
}

/* A bridge port is part of where a packet came in. */
static void test_flow_other_bridge_port_refused(void)
{
	net_open_routed();
	net.in[DCE_FROM_CLIENT].phys_ifindex = 7;
	handshake();
	converse_until_response();
	net.in[DCE_FROM_CLIENT].phys_ifindex = 8;
	net_send(DCE_FROM_CLIENT, TCP_ACK, NULL, 0);
	CHECK(net.last == FLOW_FORGED_INGRESS);
	net.in[DCE_FROM_CLIENT].phys_ifindex = 7;
	net_send(DCE_FROM_CLIENT, TCP_ACK, NULL, 0);
	CHECK(net.last == 0);
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	expect(1);
}

/* An unknown interface (zero, as in a replay) is not checked. */
static void test_flow_zero_ifindex_unchecked(void)
{
	net_open_routed();
	handshake();
	converse_until_response();
	net.in[DCE_FROM_SERVER].ifindex = 0;
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	expect(1);
	CHECK(net.t.stats.forged == 0);
}

/*
 * The kernel's verdict: a packet from a server's EPM port that failed
 * the reverse-path check carries reverse_path_mark.  Never decoded, never
 * the start of a flow; without a configured mark (replay) a mark means
 * nothing.
 */
static void test_flow_reverse_path_mark_refused(void)
{
	net_open_routed();
	handshake();
	converse_until_response();
	net.in[DCE_FROM_SERVER].mark = REVERSE_PATH_MARK | 1;
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	CHECK(net.last == FLOW_FORGED_REVERSE_PATH);
	expect(0);
	CHECK(net.t.stats.forged == 1);
	net.next[DCE_FROM_SERVER] -= (uint32_t)net.b.len;
	net.in[DCE_FROM_SERVER].mark = 1;	/* another bit: someone else's */
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	expect(1);

	/* picked up mid-stream: the marked side is never heard */
	net_open_routed();
	net.in[DCE_FROM_SERVER].mark = REVERSE_PATH_MARK;
	converse_until_response();
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	CHECK(net.last == FLOW_FORGED_REVERSE_PATH);
	CHECK(net.t.n_flows == 1);	/* the client's, picked up */

	/* no mark configured */
	net_open();
	net.in[DCE_FROM_SERVER].mark = REVERSE_PATH_MARK;
	handshake();
	converse_until_response();
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	expect(1);
}

/* ---- caps: per client, half-open expiry, fairness when full ------------- */

static struct flow_table caps;

static const uint8_t caps_server4[4] = { 198, 51, 100, 20 };
static const uint8_t caps_server6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff };

static void caps_open(size_t max_flows, size_t per_client)
{
	struct flow_config cfg;

	flow_config_defaults(&cfg);
	cfg.max_flows = max_flows;
	cfg.max_tcp_per_client = per_client;
	cfg.max_udp_per_client = per_client;
	CHECK(flow_table_init(&caps, &cfg));
}

/* An IPv4 client 192.0.2.n, or an IPv6 one 2001:db8:<net>::<n>. */
static void client_addr(uint8_t family, unsigned net, unsigned n,
			uint8_t out[16])
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	memset(out, 0, 16);
	if (family == AF_INET) {
		out[0] = 192, out[1] = 0, out[2] = 2, out[3] = (uint8_t)n;
		return;
	}
	memcpy(out, v6, 16);
	out[5] = (uint8_t)net;
	out[14] = (uint8_t)(n >> 8);
	out[15] = (uint8_t)n;
}

/* One packet between a client and the server's port 135. */
static void caps_packet(uint8_t family, const uint8_t *client, uint16_t port,
			uint8_t proto, enum dce_dir dir, uint8_t flags,
			uint64_t now_us)
{
	const uint8_t *server = family == AF_INET ? caps_server4 : caps_server6;
	size_t alen = family == AF_INET ? 4 : 16;
	static uint8_t datagram[DCE_CL_HDR_LEN];
	struct packet p = { .family = family, .proto = proto,
			    .tcp_flags = flags, .seq = 1000, .ack = 2001 };

	if (proto == IPPROTO_UDP) {
		datagram[0] = DCE_CL_RPC_VERS;
		datagram[1] = dir == DCE_FROM_CLIENT ? DCE_REQUEST : DCE_RESPONSE;
		p.payload = datagram;
		p.payload_len = sizeof(datagram);
	}
	memcpy(p.src, dir == DCE_FROM_CLIENT ? client : server, alen);
	memcpy(p.dst, dir == DCE_FROM_CLIENT ? server : client, alen);
	p.sport = dir == DCE_FROM_CLIENT ? port : 135;
	p.dport = dir == DCE_FROM_CLIENT ? 135 : port;
	flow_table_packet(&caps, &p, now_us, got_flow, &net.got);
}

static void syn(uint8_t family, const uint8_t *client, uint16_t port,
		uint64_t now_us)
{
	caps_packet(family, client, port, IPPROTO_TCP, DCE_FROM_CLIENT, TCP_SYN,
		    now_us);
}

/* SYN, SYN-ACK, ACK */
static void connect3(uint8_t family, const uint8_t *client, uint16_t port,
		     uint64_t now_us)
{
	syn(family, client, port, now_us);
	caps_packet(family, client, port, IPPROTO_TCP, DCE_FROM_SERVER,
		    TCP_SYN | TCP_ACK, now_us);
	caps_packet(family, client, port, IPPROTO_TCP, DCE_FROM_CLIENT, TCP_ACK,
		    now_us);
}

static bool followed(uint8_t family, const uint8_t *client, uint16_t port,
		     uint8_t proto)
{
	const uint8_t *server = family == AF_INET ? caps_server4 : caps_server6;
	struct flow_key k = { .family = family, .proto = proto,
			      .client_port = port, .server_port = 135 };

	memcpy(k.client, client, family == AF_INET ? 4 : 16);
	memcpy(k.server, server, family == AF_INET ? 4 : 16);
	return find(&caps, &k) != NULL;
}

static void test_flow_per_client_caps(void)
{
	uint8_t a[16], b[16];

	caps_open(100, 3);
	client_addr(AF_INET, 0, 10, a);
	client_addr(AF_INET, 0, 11, b);
	for (uint16_t port = 40000; port < 40004; port++)
		syn(AF_INET, a, port, 1);
	CHECK(caps.n_flows == 3);
	CHECK(!followed(AF_INET, a, 40003, IPPROTO_TCP));
	CHECK(caps.stats.flows_refused_client == 1);
	/* UDP counts apart, and so does every other address */
	for (uint16_t port = 40000; port < 40004; port++)
		caps_packet(AF_INET, a, port, IPPROTO_UDP, DCE_FROM_CLIENT, 0, 1);
	CHECK(caps.n_flows == 6);
	CHECK(caps.stats.flows_refused_client == 2);
	syn(AF_INET, b, 40000, 1);
	CHECK(followed(AF_INET, b, 40000, IPPROTO_TCP));
	/* a flow that ends makes room for the next */
	caps_packet(AF_INET, a, 40000, IPPROTO_TCP, DCE_FROM_CLIENT, TCP_RST, 2);
	syn(AF_INET, a, 40003, 3);
	CHECK(followed(AF_INET, a, 40003, IPPROTO_TCP));
	/* per address: two addresses of one IPv6 /64 have a cap each */
	client_addr(AF_INET6, 1, 1, a);
	client_addr(AF_INET6, 1, 2, b);
	for (uint16_t port = 40000; port < 40004; port++) {
		syn(AF_INET6, a, port, 4);
		syn(AF_INET6, b, port, 4);
	}
	CHECK(caps.n_flows == 7 + 6);
	CHECK(caps.stats.flows_refused_client == 4);
	flow_table_release(&caps);
}

static void test_flow_halfopen_expires_fast(void)
{
	uint8_t a[16];
	const uint64_t s = 1000000;

	caps_open(100, 100);
	client_addr(AF_INET, 0, 10, a);
	syn(AF_INET, a, 40000, 1 * s);		/* never completes */
	connect3(AF_INET, a, 40001, 1 * s);
	/* answered by the server, never acknowledged by the client */
	syn(AF_INET, a, 40002, 1 * s);
	caps_packet(AF_INET, a, 40002, IPPROTO_TCP, DCE_FROM_SERVER,
		    TCP_SYN | TCP_ACK, 1 * s);
	caps_packet(AF_INET, a, 40000, IPPROTO_UDP, DCE_FROM_CLIENT, 0, 1 * s);
	caps_packet(AF_INET, a, 40001, IPPROTO_UDP, DCE_FROM_CLIENT, 0, 1 * s);
	caps_packet(AF_INET, a, 40001, IPPROTO_UDP, DCE_FROM_SERVER, 0, 1 * s);
	/* a retransmitted SYN does not make it younger */
	syn(AF_INET, a, 40000, 5 * s);
	flow_table_expire(&caps, 6 * s);
	CHECK(caps.n_flows == 5);
	flow_table_expire(&caps, 6 * s + 1);
	CHECK(caps.n_flows == 2);
	CHECK(caps.stats.flows_halfopen_expired == 3);
	CHECK(followed(AF_INET, a, 40001, IPPROTO_TCP));
	CHECK(followed(AF_INET, a, 40001, IPPROTO_UDP));
	CHECK(!followed(AF_INET, a, 40002, IPPROTO_TCP));
	/* established flows live flow_idle_timeout */
	flow_table_expire(&caps, 300 * s);
	CHECK(caps.n_flows == 2);
	flow_table_expire(&caps, 302 * s);
	CHECK(caps.n_flows == 0);
	CHECK(caps.stats.flows_expired == 2);
	/* never longer half-open than idle */
	caps.cfg.idle_timeout_us = 2 * s;
	syn(AF_INET, a, 40000, 400 * s);
	flow_table_expire(&caps, 402 * s + 1);
	CHECK(caps.n_flows == 0);
	flow_table_release(&caps);
}

static void test_flow_full_table_biggest_gives_way(void)
{
	uint8_t a[16], b[16], c[16];

	caps_open(4, 100);
	client_addr(AF_INET, 0, 1, a);
	client_addr(AF_INET, 0, 2, b);
	client_addr(AF_INET, 0, 3, c);
	connect3(AF_INET, a, 40000, 1);		/* a's oldest, established */
	syn(AF_INET, a, 40001, 2);
	syn(AF_INET, a, 40002, 3);
	connect3(AF_INET, b, 40000, 4);
	/* full: a holds 3, the most; its oldest half-open flow goes */
	syn(AF_INET, c, 40000, 5);
	CHECK(followed(AF_INET, c, 40000, IPPROTO_TCP));
	CHECK(!followed(AF_INET, a, 40001, IPPROTO_TCP));
	CHECK(followed(AF_INET, a, 40000, IPPROTO_TCP));
	CHECK(caps.stats.flows_evicted == 1);
	CHECK(caps.n_flows == 4);
	/* a, b and c hold 2, 1, 1: a newcomer from a is refused */
	syn(AF_INET, a, 40003, 6);
	CHECK(!followed(AF_INET, a, 40003, IPPROTO_TCP));
	CHECK(caps.stats.flows_refused == 1);
	/* and from b: it would hold more than a then */
	syn(AF_INET, b, 40001, 7);
	CHECK(!followed(AF_INET, b, 40001, IPPROTO_TCP));
	CHECK(caps.stats.flows_refused == 2);
	/* a new host: a gives up its half-open, then its established flow */
	client_addr(AF_INET, 0, 4, c);
	syn(AF_INET, c, 40000, 8);
	CHECK(!followed(AF_INET, a, 40002, IPPROTO_TCP));
	CHECK(followed(AF_INET, a, 40000, IPPROTO_TCP));
	CHECK(caps.stats.flows_evicted == 2);
	flow_table_release(&caps);
}

/* Addresses of one /64 are one host: it gives way, whatever address. */
static void test_flow_full_table_ipv6_prefix_is_one_host(void)
{
	uint8_t a[16], other[16];

	caps_open(8, 2);
	for (unsigned n = 1; n <= 4; n++) {
		client_addr(AF_INET6, 1, n, a);
		syn(AF_INET6, a, 40000, n);
		syn(AF_INET6, a, 40001, n);
	}
	CHECK(caps.n_flows == 8);
	CHECK(caps.max_count == 8);
	for (unsigned n = 1; n <= 3; n++) {
		client_addr(AF_INET6, 2, n, other);
		syn(AF_INET6, other, 40000, 10 + n);
		CHECK(followed(AF_INET6, other, 40000, IPPROTO_TCP));
	}
	CHECK(caps.stats.flows_evicted == 3);
	/* the oldest went first */
	client_addr(AF_INET6, 1, 1, a);
	CHECK(!followed(AF_INET6, a, 40000, IPPROTO_TCP));
	CHECK(!followed(AF_INET6, a, 40001, IPPROTO_TCP));
	client_addr(AF_INET6, 1, 2, a);
	CHECK(!followed(AF_INET6, a, 40000, IPPROTO_TCP));
	CHECK(followed(AF_INET6, a, 40001, IPPROTO_TCP));
	/* with a /128 host, each address counts alone */
	flow_table_release(&caps);
	caps_open(8, 2);
	caps.cfg.host_v6_prefix = 128;
	for (unsigned n = 1; n <= 4; n++) {
		client_addr(AF_INET6, 1, n, a);
		syn(AF_INET6, a, 40000, n);
		syn(AF_INET6, a, 40001, n);
	}
	CHECK(caps.max_count == 2);
	syn(AF_INET6, other, 40000, 20);
	CHECK(caps.stats.flows_evicted == 1);
	flow_table_release(&caps);
}

/* Counts and lists stay right through a flood and its expiry. */
static void test_flow_syn_flood_bounded(void)
{
	uint8_t a[16], b[16];
	const uint64_t s = 1000000;

	caps_open(4096, 256);
	client_addr(AF_INET, 0, 66, a);
	client_addr(AF_INET, 0, 10, b);
	for (unsigned i = 0; i < 5000; i++)
		syn(AF_INET, a, (uint16_t)(10000 + i), 1 * s + i);
	CHECK(caps.n_flows == 256);
	CHECK(caps.stats.flows_refused_client == 5000 - 256);
	connect3(AF_INET, b, 40000, 2 * s);
	CHECK(followed(AF_INET, b, 40000, IPPROTO_TCP));
	flow_table_expire(&caps, 7 * s);
	CHECK(caps.n_flows == 1);
	CHECK(caps.max_count == 1);
	CHECK(caps.stats.flows_halfopen_expired == 256);
	flow_table_release(&caps);
}

/* A reload to a larger max_flows: one host may then hold them all. */
static void test_flow_configure_grows(void)
{
	struct flow_config cfg;
	uint8_t a[16];

	caps_open(2, 100);
	cfg = caps.cfg;
	cfg.max_flows = 6;
	cfg.hash_seed = 99;
	CHECK(flow_table_configure(&caps, &cfg));
	CHECK(caps.cfg.hash_seed == 0);	/* the running seed stays */
	client_addr(AF_INET, 0, 1, a);
	for (uint16_t port = 40000; port < 40007; port++)
		syn(AF_INET, a, port, 1);
	CHECK(caps.n_flows == 6);
	CHECK(caps.max_count == 6);
	CHECK(caps.stats.flows_refused == 1);
	flow_table_release(&caps);
}

int main(void)
{
	RUN(test_flow_response_one_byte_per_packet);
	RUN(test_flow_response_out_of_order_with_retransmission);
	RUN(test_flow_picked_up_without_handshake);
	RUN(test_flow_ack_of_unseen_bytes_desyncs);
	RUN(test_flow_response_carrying_ack_of_unseen_bytes);
	RUN(test_flow_frag_length_beyond_data_then_fin);
	RUN(test_flow_answer_from_the_client_side_refused);
	RUN(test_flow_client_side_from_elsewhere_refused);
	RUN(test_flow_other_bridge_port_refused);
	RUN(test_flow_zero_ifindex_unchecked);
	RUN(test_flow_reverse_path_mark_refused);
	RUN(test_flow_per_client_caps);
	RUN(test_flow_halfopen_expires_fast);
	RUN(test_flow_full_table_biggest_gives_way);
	RUN(test_flow_full_table_ipv6_prefix_is_one_host);
	RUN(test_flow_syn_flood_bounded);
	RUN(test_flow_configure_grows);
	if (net.initialized)
		flow_table_release(&net.t);
	UNIT_EXIT();
}
