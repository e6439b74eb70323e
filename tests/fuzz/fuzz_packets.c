/*
 * libFuzzer target for raw IP packets, as NFQUEUE hands them to the
 * daemon: packet_parse_ip() (IPv4, IPv6 and its extension headers, TCP,
 * UDP), then, for what parses, flow_table_packet() on one table that many
 * clients and servers share.  Where fuzz_decoder.c builds well-formed
 * packets of one pair to reach deep into the DCE/RPC decoder, this target
 * owns the addresses, ports, flags and lengths, so it reaches the IP
 * parser, the flow table's hash chains, its cap, idle expiry and flows
 * that are created, reset and recreated in any order.
 *
 * The input is a sequence of records:
 *
 *   ctl      u8
 *   len      u16 LE    packet length (cut short at the end of the input)
 *   packet   len bytes, from the IP version nibble on
 *
 * ctl:
 *   0x07 IFINDEX  the packet's ingress interface index, 0..7
 *                 (struct packet_ingress: what the queue reports)
 *   0x18 MARK     its packet mark, 0..3 (2 and 3 carry the table's
 *                 reverse-path mark, 0x2: an answer the kernel's
 *                 reverse-path rule flagged)
 *   0x20 IDLE     the clock jumps past the idle timeout before the packet
 *   0x40 EXPIRE   flow_table_expire() runs after the packet
 *   0x80 PREFIX   the IPv6 host prefix for host_key_of() is 60, not 64
 *
 * Caps are small so that they are reached: 8 flows, 2000 bytes per stream
 * direction (no power of two), 1000 per joined call.  After every packet
 * the harness checks what must hold whatever the input: the endpoints
 * reported match the count returned (a packet refused as forged, by
 * its reverse-path mark or an ingress interface other than its
 * direction's first packet's, reports none), each comes from a flow of the
 * packet's addresses, ports and protocol; the table holds at most
 * max_flows flows, its idle list agrees with its count, no buffer exceeds
 * its cap.  The table is released at the end so that LeakSanitizer sees
 * anything left behind.  tests/fuzz/make_seeds.py writes the seeds
 * (tests/fuzz/corpus-packets/) from tests/vectors/.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flow.h"
#include "packet.h"

#define MAX_FLOWS 8
#define MAX_STREAM_BYTES 2000
#define MAX_CALL_BYTES 1000
#define IDLE_TIMEOUT_US (60ull * 1000000)

#define C_IFINDEX 0x07
#define C_MARK 0x18
#define C_IDLE 0x20
#define C_EXPIRE 0x40
#define C_PREFIX 0x80

struct harness {
	struct flow_table table;
	const struct packet *pkt;	/* the packet being followed */
	int callbacks;
	uint64_t fold;			/* every field read, so none is dead */
};

static volatile uint64_t fuzz_sink;

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

/* Whether the flow is the packet's conversation, in either direction. */
static bool flow_of_packet(const struct flow_key *k, const struct packet *p)
{
	size_t n = addr_len(p->family);

	if (k->family != p->family || k->proto != p->proto)
		return false;
	if (memcmp(k->client, p->src, n) == 0 && memcmp(k->server, p->dst, n) == 0 &&
	    k->client_port == p->sport && k->server_port == p->dport)
		return true;
	return memcmp(k->client, p->dst, n) == 0 && memcmp(k->server, p->src, n) == 0 &&
	       k->client_port == p->dport && k->server_port == p->sport;
}

static void on_endpoint(void *arg, struct flow *flow,
			const struct dce_answer *ans,
			const struct epm_endpoint *ep)
{
	struct harness *h = arg;
	uint64_t x = h->fold;

	h->callbacks++;
	if (!flow || !ans || !ans->req || !ep || !flow_of_packet(&flow->key, h->pkt))
		abort();
	switch (ep->proto) {
	case EPM_PROTO_TCP:
	case EPM_PROTO_UDP:
	case EPM_PROTO_HTTP:
		break;
	default:
		abort();
	}
	x = x * 31 + (uint64_t)ans->req->op;
	x = x * 31 + ans->call_id;
	for (size_t i = 0; i < sizeof(ep->iface.b); i++)
		x = x * 31 + ep->iface.b[i];
	x = x * 31 + ep->port;
	if (ep->has_addr)
		x = x * 31 + ep->addr[0];
	h->fold = x;
}

/* What must hold of one flow, on list l of the table, after every packet. */
static void check_flow(const struct flow_table *t, const struct flow_list *l,
		       const struct flow *f)
{
	const struct flow_holder *c = f->client, *host = f->host;
	size_t proto = f->key.proto == IPPROTO_UDP;
	size_t cap = proto ? t->cfg.max_udp_per_client : t->cfg.max_tcp_per_client;

	if ((f->key.family != AF_INET && f->key.family != AF_INET6) ||
	    (f->key.proto == IPPROTO_UDP) != (f->cl != NULL))
		abort();
	for (int d = 0; d < 2; d++)
		if (tcp_stream_buffered(&f->stream[d]) > MAX_STREAM_BYTES ||
		    f->dce.reassembly[d].len > MAX_CALL_BYTES ||
		    (f->cl && f->cl->reassembly[d].len > MAX_CALL_BYTES))
			abort();
	if (f->table_links.newer ? f->table_links.newer->table_links.older != f :
				   l->newest != f)
		abort();
	if ((l == &t->established) != f->established)
		abort();
	/* the per-client cap holds; the host's count is in by_count */
	if (!c || !host || c->n_flows[proto] == 0 || c->n_flows[proto] > cap ||
	    host->n_flows[proto] == 0 ||
	    host->n_flows[0] + host->n_flows[1] > t->max_count)
		abort();
}

/* What must hold of the table after every packet. */
static void check_table(const struct flow_table *t)
{
	const struct flow_list *lists[2] = { &t->halfopen, &t->established };
	size_t n = 0;

	for (int l = 0; l < 2; l++)
		for (const struct flow *f = lists[l]->oldest; f;
		     f = f->table_links.newer) {
			n++;
			check_flow(t, lists[l], f);
		}
	if (n != t->n_flows || n > MAX_FLOWS ||
	    (n && !t->by_count[t->max_count]))
		abort();
}

/* The helpers of packet.h that logs and fairness use on every decision. */
static uint64_t read_helpers(const struct packet *p, uint8_t ctl)
{
	struct host_key src, dst;
	char text[64];

	host_key_of(p->family, p->src, ctl & C_PREFIX ? 60 : 64, &src);
	host_key_of(p->family, p->dst, 128 + (ctl & C_IFINDEX), &dst);
	packet_addr_format(p->family, p->src, text, sizeof(text));
	return (uint64_t)host_key_equal(&src, &dst) + (uint8_t)text[0] +
	       src.addr[7] + dst.addr[15];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness h;
	struct flow_config cfg;
	uint64_t now_us = 1000000;
	size_t pos = 0;
	char unknown[8];

	memset(&h, 0, sizeof(h));
	flow_config_defaults(&cfg);
	cfg.max_flows = MAX_FLOWS;
	/* small enough that the per-client caps and fairness are reached */
	cfg.max_tcp_per_client = MAX_FLOWS / 2;
	cfg.max_udp_per_client = MAX_FLOWS / 4;
	cfg.max_stream_bytes = MAX_STREAM_BYTES;
	cfg.max_call_bytes = MAX_CALL_BYTES;
	cfg.idle_timeout_us = IDLE_TIMEOUT_US;
	cfg.hash_seed = 0x5eed;
	/* one of the MARK values is the reverse-path mark */
	cfg.reverse_path_mark = 0x2;
	if (!flow_table_init(&h.table, &cfg))
		return 0;
	/* an address family the formatter does not know */
	packet_addr_format(AF_UNIX, (const uint8_t *)"", unknown, sizeof(unknown));

	while (size - pos >= 3) {
		uint8_t ctl = data[pos];
		size_t len = (size_t)(data[pos + 1] | data[pos + 2] << 8);
		struct packet pkt;
		enum packet_result result;
		int endpoints;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		if (ctl & C_IDLE)
			now_us += IDLE_TIMEOUT_US + 1;
		result = packet_parse_ip(data + pos, len, &pkt);
		pos += len;
		h.fold = h.fold * 31 + (uint8_t)packet_result_text(result)[0];
		if (result != PACKET_OK)
			continue;
		if ((pkt.proto != IPPROTO_TCP && pkt.proto != IPPROTO_UDP) ||
		    pkt.payload_len > len ||
		    (pkt.payload_len && (pkt.payload < data || pkt.payload + pkt.payload_len > data + pos)))
			abort();
		pkt.in.ifindex = ctl & C_IFINDEX;
		pkt.in.mark = (ctl & C_MARK) >> 3;
		h.fold += read_helpers(&pkt, ctl);
		h.pkt = &pkt;
		h.callbacks = 0;
		endpoints = flow_table_packet(&h.table, &pkt, now_us++, on_endpoint, &h);
		/* a packet refused as forged is not decoded: no endpoint */
		if (endpoints < 0 ? (endpoints != FLOW_FORGED_REVERSE_PATH &&
				     endpoints != FLOW_FORGED_INGRESS) || h.callbacks
				  : endpoints != h.callbacks)
			abort();
		if (ctl & C_EXPIRE)
			flow_table_expire(&h.table, now_us);
		check_table(&h.table);
	}

	fuzz_sink = h.fold + h.table.stats.endpoints + h.table.stats.flows_refused +
		    h.table.stats.flows_refused_client + h.table.stats.flows_evicted +
		    (uint8_t)unknown[0];
	flow_table_release(&h.table);
	return 0;
}
