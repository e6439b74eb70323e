#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "flow.h"

void flow_config_defaults(struct flow_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_flows = 4096;
	cfg->max_tcp_per_client = 256;
	cfg->max_udp_per_client = 256;
	cfg->max_stream_bytes = 64 * 1024;
	cfg->max_held_segments = 256;
	cfg->max_call_bytes = 256 * 1024;
	cfg->idle_timeout_us = 300ull * 1000000;
	cfg->handshake_timeout_us = 5ull * 1000000;
	cfg->host_v6_prefix = 64;
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

_Static_assert(FLOW_MAX_EPM_PORTS >= CONFIG_MAX_PORTS,
	       "every configured endpoint-mapper port must reach the flow table");

void flow_config_from_policy(struct flow_config *cfg,
			     const struct rpcgate_config *policy)
{
	cfg->max_flows = policy->max_flows;
	cfg->max_tcp_per_client = policy->max_flows_per_client;
	cfg->max_udp_per_client = policy->max_udp_flows_per_client;
	cfg->max_stream_bytes = policy->max_buffer_bytes;
	cfg->max_held_segments = policy->max_held_segments;
	cfg->max_call_bytes = policy->max_call_bytes;
	cfg->idle_timeout_us = (uint64_t)policy->flow_idle_timeout * 1000000;
	cfg->handshake_timeout_us =
		(uint64_t)policy->flow_handshake_timeout * 1000000;
	cfg->host_v6_prefix = policy->ipv6_host_prefix;
	cfg->reverse_path_mark = policy->reverse_path_mark;
	cfg->n_epm_ports = 0;
	for (size_t i = 0; i < policy->n_epm_ports; i++)
		flow_config_add_port(cfg, policy->epm_ports[i]);
}

static size_t bucket_count(size_t max_flows)
{
	size_t buckets = 1;

	while (buckets < max_flows && buckets < (1u << 20))
		buckets <<= 1;
	return buckets;
}

/* A host holds at most every flow: max_flows + 1 counts, 0 included. */
static bool grow_counts(struct flow_table *t, size_t max_flows)
{
	struct flow_holder **bigger;

	if (max_flows < t->n_counts)
		return true;
	bigger = realloc(t->by_count, (max_flows + 1) * sizeof(*bigger));
	if (!bigger)
		return false;
	memset(bigger + t->n_counts, 0,
	       (max_flows + 1 - t->n_counts) * sizeof(*bigger));
	t->by_count = bigger;
	t->n_counts = max_flows + 1;
	return true;
}

bool flow_table_init(struct flow_table *t, const struct flow_config *cfg)
{
	size_t buckets = bucket_count(cfg->max_flows);

	memset(t, 0, sizeof(*t));
	t->cfg = *cfg;
	t->buckets = calloc(buckets, sizeof(*t->buckets));
	t->clients = calloc(buckets, sizeof(*t->clients));
	t->hosts = calloc(buckets, sizeof(*t->hosts));
	t->bucket_mask = buckets - 1;
	if (t->buckets && t->clients && t->hosts &&
	    grow_counts(t, cfg->max_flows))
		return true;
	free(t->buckets);
	free(t->clients);
	free(t->hosts);
	free(t->by_count);
	return false;
}

/* The hash tables keep their size: a larger max_flows lengthens chains. */
bool flow_table_configure(struct flow_table *t, const struct flow_config *cfg)
{
	uint32_t seed = t->cfg.hash_seed;

	if (!grow_counts(t, cfg->max_flows))
		return false;
	t->cfg = *cfg;
	t->cfg.hash_seed = seed;
	return true;
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

static struct flow_links *links_of(struct flow *f, bool host_list)
{
	return host_list ? &f->host_links : &f->table_links;
}

static void list_remove(struct flow_list *l, struct flow *f, bool host_list)
{
	struct flow_links *k = links_of(f, host_list);

	if (k->older)
		links_of(k->older, host_list)->newer = k->newer;
	else
		l->oldest = k->newer;
	if (k->newer)
		links_of(k->newer, host_list)->older = k->older;
	else
		l->newest = k->older;
	k->older = k->newer = NULL;
}

static void list_append(struct flow_list *l, struct flow *f, bool host_list)
{
	struct flow_links *k = links_of(f, host_list);

	k->older = l->newest;
	k->newer = NULL;
	if (l->newest)
		links_of(l->newest, host_list)->newer = f;
	else
		l->oldest = f;
	l->newest = f;
}

/* The table's and the host's list this flow is on. */
static struct flow_list *table_list(struct flow_table *t, struct flow *f)
{
	return f->established ? &t->established : &t->halfopen;
}

static struct flow_list *host_list(struct flow *f)
{
	return f->established ? &f->host->established : &f->host->halfopen;
}

/* Half-open flows keep their creation order; established ones move to the
 * newest end whenever they are seen. */
static void touch(struct flow_table *t, struct flow *f, uint64_t now_us)
{
	f->last_seen_us = now_us;
	if (!f->established || t->established.newest == f)
		return;
	list_remove(&t->established, f, false);
	list_append(&t->established, f, false);
	list_remove(&f->host->established, f, true);
	list_append(&f->host->established, f, true);
}

/* The server has answered, and for TCP the client acknowledged it: from
 * now on the flow lives until it idles out. */
static void note_progress(struct flow_table *t, struct flow *f,
			  enum dce_dir dir, uint8_t tcp_flags)
{
	if (f->established)
		return;
	if (dir == DCE_FROM_SERVER)
		f->server_spoke = true;
	if (!f->server_spoke ||
	    (f->key.proto == IPPROTO_TCP &&
	     (dir != DCE_FROM_CLIENT || !(tcp_flags & TCP_ACK))))
		return;
	list_remove(&t->halfopen, f, false);
	list_remove(&f->host->halfopen, f, true);
	f->established = true;
	list_append(&t->established, f, false);
	list_append(&f->host->established, f, true);
}

/* ---- client addresses and hosts ---------------------------------------- */

static size_t holder_proto(uint8_t proto)
{
	return proto == IPPROTO_UDP;
}

static size_t holder_hash(const struct flow_table *t, const struct host_key *k)
{
	uint32_t h = (2166136261u ^ t->cfg.hash_seed) + k->family;

	for (size_t i = 0; i < sizeof(k->addr); i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h & t->bucket_mask;
}

static struct flow_holder *holder_find(struct flow_table *t,
				       struct flow_holder **buckets,
				       const struct host_key *k)
{
	struct flow_holder *h = buckets[holder_hash(t, k)];

	while (h && !host_key_equal(&h->key, k))
		h = h->hash_next;
	return h;
}

static struct flow_holder *holder_get(struct flow_table *t,
				      struct flow_holder **buckets,
				      const struct host_key *k)
{
	struct flow_holder *h = holder_find(t, buckets, k);
	size_t bucket;

	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->key = *k;
	bucket = holder_hash(t, k);
	h->hash_next = buckets[bucket];
	buckets[bucket] = h;
	return h;
}

static size_t holder_total(const struct flow_holder *h)
{
	return h->n_flows[0] + h->n_flows[1];
}

/* Forgets a holder that holds nothing any more. */
static void holder_put(struct flow_table *t, struct flow_holder **buckets,
		       struct flow_holder *h)
{
	struct flow_holder **link = &buckets[holder_hash(t, &h->key)];

	if (holder_total(h))
		return;
	while (*link != h)
		link = &(*link)->hash_next;
	*link = h->hash_next;
	free(h);
}

static void by_count_remove(struct flow_table *t, struct flow_holder *h)
{
	size_t n = holder_total(h);

	if (h->fewer)
		h->fewer->more = h->more;
	else
		t->by_count[n] = h->more;
	if (h->more)
		h->more->fewer = h->fewer;
	h->fewer = h->more = NULL;
}

static void by_count_insert(struct flow_table *t, struct flow_holder *h)
{
	size_t n = holder_total(h);

	h->more = t->by_count[n];
	if (h->more)
		h->more->fewer = h;
	t->by_count[n] = h;
	if (n > t->max_count)
		t->max_count = n;
}

/* One more or one fewer flow for a host, kept in by_count: O(1), as the
 * biggest count drops by at most one at a time. */
static void host_count(struct flow_table *t, struct flow_holder *h,
		       uint8_t proto, bool more)
{
	size_t was = holder_total(h);

	if (was)
		by_count_remove(t, h);
	if (more)
		h->n_flows[holder_proto(proto)]++;
	else
		h->n_flows[holder_proto(proto)]--;
	if (holder_total(h))
		by_count_insert(t, h);
	/* the last of the biggest holders now holds one fewer */
	if (!more && was == t->max_count && !t->by_count[was])
		t->max_count = was - 1;
}

/* ---- flows --------------------------------------------------------------- */

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
}

static void destroy(struct flow_table *t, struct flow *f)
{
	struct flow **link = &t->buckets[key_hash(t, &f->key)];

	while (*link != f)
		link = &(*link)->hash_next;
	*link = f->hash_next;
	list_remove(table_list(t, f), f, false);
	list_remove(host_list(f), f, true);
	f->client->n_flows[holder_proto(f->key.proto)]--;
	holder_put(t, t->clients, f->client);
	host_count(t, f->host, f->key.proto, false);
	holder_put(t, t->hosts, f->host);
	release_decoders(f);
	free(f);
	t->n_flows--;
}

void flow_table_release(struct flow_table *t)
{
	while (t->halfopen.oldest)
		destroy(t, t->halfopen.oldest);
	while (t->established.oldest)
		destroy(t, t->established.oldest);
	free(t->buckets);
	free(t->clients);
	free(t->hosts);
	free(t->by_count);
	t->buckets = NULL;
	t->clients = t->hosts = t->by_count = NULL;
}

/* Whether more than timeout has passed since then; captures are not
 * always in time order, and a step back expires nothing. */
static bool older_than(uint64_t then_us, uint64_t now_us, uint64_t timeout_us)
{
	return now_us > then_us && now_us - then_us > timeout_us;
}

void flow_table_expire(struct flow_table *t, uint64_t now_us)
{
	uint64_t halfopen_us = t->cfg.handshake_timeout_us;

	if (halfopen_us > t->cfg.idle_timeout_us)
		halfopen_us = t->cfg.idle_timeout_us;
	while (t->halfopen.oldest &&
	       older_than(t->halfopen.oldest->created_us, now_us, halfopen_us)) {
		destroy(t, t->halfopen.oldest);
		t->stats.flows_halfopen_expired++;
	}
	while (t->established.oldest &&
	       older_than(t->established.oldest->last_seen_us, now_us,
			  t->cfg.idle_timeout_us)) {
		destroy(t, t->established.oldest);
		t->stats.flows_expired++;
	}
}

/*
 * A full table makes room for a newcomer from host (NULL: one that holds
 * nothing yet): the host holding the most gives up its oldest half-open
 * flow, or else its least recently seen one, unless it would then hold
 * fewer than the newcomer's host.
 */
static bool make_room(struct flow_table *t, const struct flow_holder *host)
{
	size_t mine = host ? holder_total(host) : 0;
	struct flow_holder *biggest = t->by_count[t->max_count];

	if (!biggest || mine + 1 >= t->max_count) {
		t->stats.flows_refused++;
		return false;
	}
	destroy(t, biggest->halfopen.oldest ? biggest->halfopen.oldest :
					      biggest->established.oldest);
	t->stats.flows_evicted++;
	return true;
}

static struct flow *create(struct flow_table *t, const struct flow_key *k,
			   uint64_t now_us)
{
	size_t proto = holder_proto(k->proto);
	size_t cap = proto ? t->cfg.max_udp_per_client : t->cfg.max_tcp_per_client;
	struct host_key client_key, host_key;
	struct flow_holder *client, *host;
	struct flow *f;
	size_t bucket;

	host_key_of(k->family, k->client, 128, &client_key);
	host_key_of(k->family, k->client, t->cfg.host_v6_prefix, &host_key);
	client = holder_find(t, t->clients, &client_key);
	if (client && client->n_flows[proto] >= cap) {
		t->stats.flows_refused_client++;
		return NULL;
	}
	host = holder_find(t, t->hosts, &host_key);
	if (t->n_flows >= t->cfg.max_flows && !make_room(t, host))
		return NULL;
	/* make_room may have freed the holders: they are looked up again */
	f = calloc(1, sizeof(*f));
	client = f ? holder_get(t, t->clients, &client_key) : NULL;
	host = client ? holder_get(t, t->hosts, &host_key) : NULL;
	if (host) {
		reset_decoders(t, f);
		if (k->proto == IPPROTO_UDP && (f->cl = malloc(sizeof(*f->cl))))
			dce_cl_init(f->cl, t->cfg.max_call_bytes);
	}
	if (!host || (k->proto == IPPROTO_UDP && !f->cl)) {
		if (host)
			release_decoders(f);
		if (client)
			holder_put(t, t->clients, client);
		if (host)
			holder_put(t, t->hosts, host);
		free(f);
		t->stats.flows_refused++;
		return NULL;
	}
	f->key = *k;
	f->client = client;
	f->host = host;
	client->n_flows[proto]++;
	host_count(t, host, k->proto, true);
	f->created_us = f->last_seen_us = now_us;
	list_append(&t->halfopen, f, false);
	list_append(&host->halfopen, f, true);
	bucket = key_hash(t, k);
	f->hash_next = t->buckets[bucket];
	t->buckets[bucket] = f;
	t->n_flows++;
	t->stats.flows_tracked++;
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
		note_progress(t, c->flow, c->dir, 0);
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
	note_progress(t, c.flow, c.dir, pkt->tcp_flags);
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
