#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flow.h"

void flow_config_defaults(struct flow_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_flows = 4096;
	cfg->max_stream_bytes = 64 * 1024;
	cfg->max_held_segments = 256;
	cfg->max_call_bytes = 256 * 1024;
	cfg->idle_timeout_us = 300ull * 1000000;
	cfg->n_epm_ports = 2;
	cfg->epm_ports[0] = 135;
	cfg->epm_ports[1] = 593;
}

bool flow_config_add_port(struct flow_config *cfg, uint16_t port)
{
	for (size_t i = 0; i < cfg->n_epm_ports; i++)
		if (cfg->epm_ports[i] == port)
			return true;
	if (cfg->n_epm_ports == FLOW_MAX_EPM_PORTS)
		return false;
	cfg->epm_ports[cfg->n_epm_ports++] = port;
	return true;
}

bool flow_table_init(struct flow_table *t, const struct flow_config *cfg)
{
	size_t buckets = 1;

	memset(t, 0, sizeof(*t));
	t->cfg = *cfg;
	while (buckets < cfg->max_flows && buckets < (1u << 20))
		buckets <<= 1;
	t->buckets = calloc(buckets, sizeof(*t->buckets));
	t->bucket_mask = buckets - 1;
	return t->buckets != NULL;
}

static size_t key_addr_len(const struct flow_key *k)
{
	return k->family == AF_INET ? 4 : 16;
}

/* FNV-1a, seeded so that remote hosts cannot aim at one bucket. */
static size_t key_hash(const struct flow_table *t, const struct flow_key *k)
{
	uint32_t h = (2166136261u ^ t->cfg.hash_seed) + k->proto;
	size_t alen = key_addr_len(k);
	const uint8_t *parts[2] = { k->client, k->server };
	uint16_t ports[2] = { k->client_port, k->server_port };

	for (int p = 0; p < 2; p++) {
		for (size_t i = 0; i < alen; i++)
			h = (h ^ parts[p][i]) * 16777619u;
		h = (h ^ (ports[p] & 0xff)) * 16777619u;
		h = (h ^ (ports[p] >> 8)) * 16777619u;
	}
	return h & t->bucket_mask;
}

static bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
	size_t alen = key_addr_len(a);

	return a->family == b->family && a->proto == b->proto &&
	       a->client_port == b->client_port &&
	       a->server_port == b->server_port &&
	       memcmp(a->client, b->client, alen) == 0 &&
	       memcmp(a->server, b->server, alen) == 0;
}

static struct flow *find(struct flow_table *t, const struct flow_key *k)
{
	for (struct flow *f = t->buckets[key_hash(t, k)]; f; f = f->hash_next)
		if (key_equal(&f->key, k))
			return f;
	return NULL;
}

static void unlink_idle(struct flow_table *t, struct flow *f)
{
	if (f->older)
		f->older->newer = f->newer;
	else
		t->oldest = f->newer;
	if (f->newer)
		f->newer->older = f->older;
	else
		t->newest = f->older;
	f->older = f->newer = NULL;
}

static void touch(struct flow_table *t, struct flow *f, uint64_t now_us)
{
	f->last_seen_us = now_us;
	if (t->newest == f)
		return;
	if (t->oldest == f || f->older || f->newer)
		unlink_idle(t, f);
	f->older = t->newest;
	if (t->newest)
		t->newest->newer = f;
	else
		t->oldest = f;
	t->newest = f;
}

static void release_decoders(struct flow *f)
{
	tcp_stream_release(&f->stream[DCE_FROM_CLIENT]);
	tcp_stream_release(&f->stream[DCE_FROM_SERVER]);
	dce_conn_release(&f->dce);
	if (f->cl) {
		dce_cl_release(f->cl);
		free(f->cl);
		f->cl = NULL;
	}
}

static void reset_decoders(struct flow_table *t, struct flow *f)
{
	release_decoders(f);
	tcp_stream_init(&f->stream[DCE_FROM_CLIENT], t->cfg.max_stream_bytes,
			t->cfg.max_held_segments);
	tcp_stream_init(&f->stream[DCE_FROM_SERVER], t->cfg.max_stream_bytes,
			t->cfg.max_held_segments);
	dce_conn_init(&f->dce, t->cfg.max_call_bytes);
	f->desync = false;
	memset(&f->note, 0, sizeof(f->note));
}

static void destroy(struct flow_table *t, struct flow *f)
{
	struct flow **link = &t->buckets[key_hash(t, &f->key)];

	while (*link != f)
		link = &(*link)->hash_next;
	*link = f->hash_next;
	unlink_idle(t, f);
	release_decoders(f);
	free(f);
	t->n_flows--;
}

void flow_table_release(struct flow_table *t)
{
	while (t->oldest)
		destroy(t, t->oldest);
	free(t->buckets);
	t->buckets = NULL;
}

void flow_table_expire(struct flow_table *t, uint64_t now_us)
{
	/* captures are not always in time order: a step back expires nothing */
	while (t->oldest && now_us > t->oldest->last_seen_us &&
	       now_us - t->oldest->last_seen_us > t->cfg.idle_timeout_us) {
		destroy(t, t->oldest);
		t->stats.flows_expired++;
	}
}

static struct flow *create(struct flow_table *t, const struct flow_key *k,
			   uint64_t now_us)
{
	struct flow *f;
	size_t bucket;

	if (t->n_flows >= t->cfg.max_flows) {
		t->stats.flows_refused++;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		t->stats.flows_refused++;
		return NULL;
	}
	f->key = *k;
	reset_decoders(t, f);
	if (k->proto == IPPROTO_UDP) {
		f->cl = malloc(sizeof(*f->cl));
		if (!f->cl) {
			free(f);
			t->stats.flows_refused++;
			return NULL;
		}
		dce_cl_init(f->cl, t->cfg.max_call_bytes);
	}
	bucket = key_hash(t, k);
	f->hash_next = t->buckets[bucket];
	t->buckets[bucket] = f;
	t->n_flows++;
	t->stats.flows_tracked++;
	touch(t, f, now_us);
	return f;
}

static bool is_epm_port(const struct flow_table *t, uint16_t port)
{
	for (size_t i = 0; i < t->cfg.n_epm_ports; i++)
		if (t->cfg.epm_ports[i] == port)
			return true;
	return false;
}

struct consumer {
	struct flow *flow;
	enum dce_dir dir;
	flow_endpoint_fn fn;
	void *arg;
	int endpoints;
};

static void report_endpoint(void *arg, const struct dce_answer *ans,
			    const struct epm_endpoint *ep)
{
	struct consumer *c = arg;

	c->fn(c->arg, c->flow, ans, ep);
}

static size_t consume(void *arg, const uint8_t *data, size_t len)
{
	struct consumer *c = arg;
	size_t used = dce_conn_input(&c->flow->dce, c->dir, data, len,
				     report_endpoint, c, &c->endpoints);

	return used == DCE_DESYNC ? TCP_CONSUMER_DESYNC : used;
}

/* Finds the flow and the direction the packet travels in it. */
static struct flow *lookup(struct flow_table *t, const struct packet *pkt,
			   enum dce_dir *dir)
{
	struct flow_key k = { .family = pkt->family, .proto = pkt->proto };
	size_t alen = pkt->family == AF_INET ? 4 : 16;
	struct flow *f;

	memcpy(k.client, pkt->src, alen);
	memcpy(k.server, pkt->dst, alen);
	k.client_port = pkt->sport;
	k.server_port = pkt->dport;
	f = find(t, &k);
	*dir = DCE_FROM_CLIENT;
	if (f)
		return f;
	memcpy(k.client, pkt->dst, alen);
	memcpy(k.server, pkt->src, alen);
	k.client_port = pkt->dport;
	k.server_port = pkt->sport;
	*dir = DCE_FROM_SERVER;
	return find(t, &k);
}

/*
 * A direction keeps the interface its first packet came in on: a packet
 * of that direction from anywhere else is someone speaking for one of
 * the peers.  Unknown (zero) interfaces are not checked.
 */
static bool ingress_holds(struct flow *f, enum dce_dir dir,
			  const struct packet *pkt)
{
	struct flow_ingress *in = &f->ingress[dir];

	if (pkt->in.ifindex == 0)
		return true;
	if (in->ifindex == 0) {
		in->ifindex = pkt->in.ifindex;
		in->phys_ifindex = pkt->in.phys_ifindex;
		return true;
	}
	return in->ifindex == pkt->in.ifindex &&
	       in->phys_ifindex == pkt->in.phys_ifindex;
}

static int forged(struct flow_table *t, enum flow_forgery why)
{
	t->stats.forged++;
	return why;
}

/*
 * Whether a segment can open a stream whose SYN was not seen (a capture
 * or a daemon that started mid-connection): it must begin a PDU, or the
 * ncacn_http banner.
 */
static bool starts_pdu(const struct packet *pkt)
{
	struct dce_hdr h;

	return dce_parse_hdr(pkt->payload, pkt->payload_len, &h) ||
	       (pkt->payload_len >= 4 && memcmp(pkt->payload, "ncac", 4) == 0);
}

/*
 * The packet's flow, found or created, or NULL when it is not followed;
 * *refused when it belongs to a flow but came in on the wrong interface
 * (the flow is then left as it was).
 */
static struct flow *flow_for(struct flow_table *t, const struct packet *pkt,
			     uint64_t now_us, enum dce_dir *dir, bool *refused)
{
	bool syn_only = (pkt->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	struct flow *f = lookup(t, pkt, dir);
	struct flow_key k = { .family = pkt->family, .proto = IPPROTO_TCP };
	bool from_client;

	if (f) {
		struct tcp_stream *client = &f->stream[DCE_FROM_CLIENT];

		if (!ingress_holds(f, *dir, pkt)) {
			*refused = true;
			return NULL;
		}
		/* a new connection on the same ports starts afresh */
		if (syn_only && *dir == DCE_FROM_CLIENT &&
		    client->state != TCP_STREAM_NEW &&
		    client->next_seq != pkt->seq + 1)
			reset_decoders(t, f);
		touch(t, f, now_us);
		return f;
	}
	if (syn_only)
		from_client = is_epm_port(t, pkt->dport);
	else if (pkt->payload_len && starts_pdu(pkt))
		from_client = is_epm_port(t, pkt->dport);
	else
		return NULL;
	if (!from_client && (syn_only || !is_epm_port(t, pkt->sport)))
		return NULL;
	memcpy(k.client, from_client ? pkt->src : pkt->dst, sizeof(k.client));
	memcpy(k.server, from_client ? pkt->dst : pkt->src, sizeof(k.server));
	k.client_port = from_client ? pkt->sport : pkt->dport;
	k.server_port = from_client ? pkt->dport : pkt->sport;
	*dir = from_client ? DCE_FROM_CLIENT : DCE_FROM_SERVER;
	f = create(t, &k, now_us);
	if (f)
		ingress_holds(f, *dir, pkt);	/* records it */
	return f;
}

/*
 * Connectionless: a conversation starts with a client's request to an EPM
 * port (the header says so), and every datagram is whole.
 */
static int udp_datagram(struct flow_table *t, const struct packet *pkt,
			uint64_t now_us, struct consumer *c)
{
	struct flow_key k = { .family = pkt->family, .proto = IPPROTO_UDP };
	size_t alen = pkt->family == AF_INET ? 4 : 16;

	c->flow = lookup(t, pkt, &c->dir);
	if (c->flow) {
		if (!ingress_holds(c->flow, c->dir, pkt))
			return forged(t, FLOW_FORGED_INGRESS);
		touch(t, c->flow, now_us);
	} else {
		if (!is_epm_port(t, pkt->dport) || pkt->payload_len < DCE_CL_HDR_LEN ||
		    pkt->payload[0] != DCE_CL_RPC_VERS ||
		    pkt->payload[1] != DCE_REQUEST)
			return 0;
		memcpy(k.client, pkt->src, alen);
		memcpy(k.server, pkt->dst, alen);
		k.client_port = pkt->sport;
		k.server_port = pkt->dport;
		c->dir = DCE_FROM_CLIENT;
		c->flow = create(t, &k, now_us);
		if (!c->flow)
			return 0;
		ingress_holds(c->flow, c->dir, pkt);	/* records it */
	}
	c->endpoints = dce_cl_input(c->flow->cl, c->dir, pkt->payload,
				    pkt->payload_len, report_endpoint, c);
	t->stats.endpoints += (uint64_t)c->endpoints;
	return c->endpoints;
}

int flow_table_packet(struct flow_table *t, const struct packet *pkt,
		      uint64_t now_us, flow_endpoint_fn fn, void *arg)
{
	struct consumer c = { .fn = fn, .arg = arg };
	struct tcp_stream *own, *peer;
	uint32_t seq = pkt->seq;
	bool refused = false;

	flow_table_expire(t, now_us);
	if (t->cfg.reverse_path_mark && (pkt->in.mark & t->cfg.reverse_path_mark))
		return forged(t, FLOW_FORGED_REVERSE_PATH);
	if (pkt->proto == IPPROTO_UDP)
		return udp_datagram(t, pkt, now_us, &c);
	if (pkt->proto != IPPROTO_TCP)
		return 0;
	c.flow = flow_for(t, pkt, now_us, &c.dir, &refused);
	if (refused)
		return forged(t, FLOW_FORGED_INGRESS);
	if (!c.flow)
		return 0;
	if (pkt->tcp_flags & TCP_RST) {
		destroy(t, c.flow);
		return 0;
	}
	if (c.flow->desync)
		return 0;
	own = &c.flow->stream[c.dir];
	peer = &c.flow->stream[!c.dir];
	if (pkt->tcp_flags & TCP_SYN) {
		if (own->state == TCP_STREAM_NEW)
			tcp_stream_open(own, seq);
		seq++;
	} else if (own->state == TCP_STREAM_NEW && pkt->payload_len &&
		   starts_pdu(pkt)) {
		tcp_stream_open(own, seq - 1);
	}
	if (pkt->tcp_flags & TCP_ACK)
		tcp_stream_acked(peer, pkt->ack);
	/* an acknowledgement of bytes never seen stops the payload it rides on */
	if (peer->state != TCP_STREAM_DESYNC)
		tcp_stream_segment(own, seq, pkt->payload, pkt->payload_len,
				   pkt->tcp_flags & TCP_FIN, consume, &c);
	if (own->state == TCP_STREAM_DESYNC || peer->state == TCP_STREAM_DESYNC) {
		/* nothing this flow says can be trusted to line up any more */
		c.flow->desync = true;
		t->stats.flows_desync++;
		release_decoders(c.flow);
		return c.endpoints;
	}
	if (own->state == TCP_STREAM_CLOSED && peer->state == TCP_STREAM_CLOSED)
		destroy(t, c.flow);
	t->stats.endpoints += (uint64_t)c.endpoints;
	return c.endpoints;
}
