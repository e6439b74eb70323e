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
	flow_endpoint_fn fn;	/* got_flow unless a test wants more */
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
	net.fn = got_flow;
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
	net.last = flow_table_packet(&net.t, &p, net.now++, net.fn, &net.got);
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
	CHECK(net.t.oldest->stream[DCE_FROM_CLIENT].state != TCP_STREAM_NEW);
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

/* The flow's note as each answer found it; each answer then writes it. */
static struct {
	size_t n;
	enum flow_published found[4];
} notes;

static void note_flow(void *arg, struct flow *f, const struct dce_answer *ans,
		      const struct epm_endpoint *ep)
{
	if (notes.n < 4)
		notes.found[notes.n++] = f->note.published;
	f->note.published = FLOW_PUBLISHED;
	got_flow(arg, f, ans, ep);
}

/* Another ept_map(EMSMDB) and its answer on the bound connection. */
static void map_again(uint32_t call_id)
{
	struct twr t = twr_std(&emsmdb);
	const struct twr *tl[] = { &t };
	struct epm_resp r = resp_of(EPM_OP_MAP, 1, tl);

	bld_init(&net.b, false, false);
	put_map_call(&net.b, call_id, 1, &t, 4);
	net_send_b(DCE_FROM_CLIENT, BLD_CAP);
	bld_init(&net.b, false, false);
	put_answer(&net.b, call_id, 1, &r);
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
}

/* What the daemon learns at a conversation's first answer (its DNAT
 * lookup) is there at the second, and gone for the next connection on the
 * same ports. */
static void test_flow_note_lives_as_long_as_the_conversation(void)
{
	net_open();
	net.fn = note_flow;
	memset(&notes, 0, sizeof(notes));
	handshake();
	converse_until_response();
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	map_again(3);
	expect(2);
	CHECK(notes.n == 2);
	CHECK(notes.found[0] == FLOW_PUBLISHED_UNKNOWN);
	CHECK(notes.found[1] == FLOW_PUBLISHED);
	net.next[DCE_FROM_CLIENT] += 1000000;
	net.next[DCE_FROM_SERVER] += 1000000;
	handshake();
	converse_until_response();
	net_send_b(DCE_FROM_SERVER, BLD_CAP);
	CHECK(net.t.n_flows == 1);
	CHECK(notes.n == 3);
	CHECK(notes.found[2] == FLOW_PUBLISHED_UNKNOWN);
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
	RUN(test_flow_note_lives_as_long_as_the_conversation);
	if (net.initialized)
		flow_table_release(&net.t);
	UNIT_EXIT();
}
