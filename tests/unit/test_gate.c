/*
 * The policy through the gate: one test per reason a pinhole is refused,
 * towers naming another server, the re-check after a reload, the caps and
 * who gives way when max_pinholes is full.
 */
#include "../../daemon/gate.c"

#include <arpa/inet.h>

#include "unit.h"

static struct rpcgate_config cfg;
static struct flow_key key;
static struct epm_request req;
static struct dce_answer ans = { .call_id = 2, .req = &req };
static struct epm_endpoint ep;
static struct gate_eviction ev;

/* 192.0.2.10 asked 198.51.100.20 where EMSMDB is; the answer: tcp/49160. */
static void reset(void)
{
	config_defaults(&cfg);
	cfg.n_servers = 2;
	prefix_parse("198.51.100.20", &cfg.servers[0]);
	prefix_parse("198.51.100.30", &cfg.servers[1]);
	memset(&key, 0, sizeof(key));
	key.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", key.client);
	inet_pton(AF_INET, "198.51.100.20", key.server);
	key.client_port = 49700;
	key.server_port = 135;
	memset(&req, 0, sizeof(req));
	req.op = EPM_OP_MAP;
	req.has_iface = true;
	uuid_parse("a4f1db00-ca47-1067-b31f-00dd010662da", &req.iface);
	req.max_results = 4;
	memset(&ep, 0, sizeof(ep));
	ep.iface = req.iface;
	ep.proto = EPM_PROTO_TCP;
	ep.port = 49160;
	ep.has_addr = true;
	inet_pton(AF_INET, "198.51.100.20", ep.addr);
}

/* The decision on what the flow's answer advertised. */
static enum gate_reason check(struct pinhole *p)
{
	struct policy_facts facts;

	policy_facts_of(key.family, key.client, key.server, &req, &ep, &facts);
	return policy_decide(&cfg, &facts, p);
}

static void test_exchange_map_opens_client_server_port(void)
{
	struct pinhole p;

	reset();
	CHECK(check(&p) == GATE_OPEN);
	CHECK(p.family == AF_INET && p.proto == IPPROTO_TCP && p.port == 49160);
	CHECK(memcmp(p.client, key.client, 4) == 0);
	CHECK(memcmp(p.server, key.server, 4) == 0);
}

static void test_refusals(void)
{
	struct pinhole p;

	reset();
	inet_pton(AF_INET, "198.51.100.99", key.server);
	CHECK(check(&p) == GATE_NOT_SERVER);
	reset();
	req.op = EPM_OP_LOOKUP;
	CHECK(check(&p) == GATE_LOOKUP);
	reset();
	uuid_parse("12345778-1234-abcd-ef00-0123456789ac", &ep.iface);
	req.iface = ep.iface;
	CHECK(check(&p) == GATE_IFACE);
	reset();
	uuid_parse("f5cc5a18-4264-101a-8c59-08002b2f8426", &ep.iface);
	CHECK(check(&p) == GATE_NOT_ASKED);
	reset();
	ep.proto = EPM_PROTO_HTTP;
	CHECK(check(&p) == GATE_PROTO);
	reset();
	ep.port = 1023;
	CHECK(check(&p) == GATE_PORT_RANGE);
	reset();
	ep.port = 3389;
	CHECK(check(&p) == GATE_PORT_DENIED);
	reset();
	inet_pton(AF_INET, "203.0.113.99", ep.addr);
	CHECK(check(&p) == GATE_TOWER_ADDR);
}

static void test_tower_address_forms(void)
{
	struct pinhole p;

	reset();
	memset(ep.addr, 0, 4);
	CHECK(check(&p) == GATE_OPEN && memcmp(p.server, key.server, 4) == 0);
	reset();
	ep.has_addr = false;
	CHECK(check(&p) == GATE_OPEN && memcmp(p.server, key.server, 4) == 0);
	/* another configured server: the pinhole leads there */
	reset();
	inet_pton(AF_INET, "198.51.100.30", ep.addr);
	CHECK(check(&p) == GATE_OPEN && memcmp(p.server, ep.addr, 4) == 0);
	/* an IPv6 conversation cannot be pointed at an IPv4 host */
	reset();
	key.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1::10", key.client);
	inet_pton(AF_INET6, "2001:db8:2::20", key.server);
	cfg.n_servers = 3;
	prefix_parse("2001:db8:2::/64", &cfg.servers[2]);
	CHECK(check(&p) == GATE_TOWER_ADDR);
	memset(ep.addr, 0, 4);
	CHECK(check(&p) == GATE_OPEN && memcmp(p.server, key.server, 16) == 0);
}

static void test_any_preset_and_map_without_tower(void)
{
	struct pinhole p;

	reset();
	cfg.groups[0].any_iface = true;
	uuid_parse("12345778-1234-abcd-ef00-0123456789ac", &ep.iface);
	req.has_iface = false;
	CHECK(check(&p) == GATE_OPEN);
}

static void test_caps_per_client_and_total(void)
{
	struct gate g;
	struct pinhole p;

	reset();
	cfg.max_pinholes_per_client = 2;
	cfg.max_pinholes = 3;
	CHECK(gate_init(&g, &cfg));
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_OPEN);
	/* the same pinhole again renews, it does not count twice */
	CHECK(gate_admit(&g, &key, &ans, &ep, 1000, &p, &ev) == GATE_OPEN);
	CHECK(g.n_pinholes == 1);
	ep.port = 49161;
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_OPEN);
	ep.port = 49162;
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_CLIENT_CAP);
	inet_pton(AF_INET, "192.0.2.11", key.client);
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_OPEN);
	CHECK(!ev.evicted);
	/* full: 192.0.2.10 holds the most and gives way its oldest */
	inet_pton(AF_INET, "192.0.2.12", key.client);
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_OPEN);
	CHECK(ev.evicted && ev.key.port == 49160 && g.n_pinholes == 3);
	CHECK(ev.host.family == AF_INET && ev.host.addr[3] == 10);
	CHECK(!gate_find(&g, &ev.key));
	/* now every host holds one: the newcomer's is one of the biggest */
	inet_pton(AF_INET, "192.0.2.11", key.client);
	ep.port = 49163;
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_TOTAL_CAP);
	CHECK(!ev.evicted && g.n_pinholes == 3);
	gate_release(&g);
}

static bool forget_all(void *arg, struct gate_pinhole *p)
{
	(*(int *)arg)++;
	(void)p;
	return true;
}

static void test_visit_forgets_and_recheck_after_reload(void)
{
	struct gate g;
	struct pinhole p;
	struct gate_pinhole *first;
	int visited = 0;

	reset();
	CHECK(gate_init(&g, &cfg));
	CHECK(gate_admit(&g, &key, &ans, &ep, 5000, &p, &ev) == GATE_OPEN);
	first = g.clients[bucket_of(&g, AF_INET, key.client)]->pinholes;
	CHECK(first->expires_ms == 5000 + 1000ull * cfg.pinhole_timeout);
	CHECK(gate_still_allowed(&cfg, first));
	cfg.groups[0].n_ifaces = 1;
	uuid_parse("f5cc5a18-4264-101a-8c59-08002b2f8426", &cfg.groups[0].ifaces[0]);
	CHECK(!gate_still_allowed(&cfg, first));
	gate_visit(&g, forget_all, &visited);
	CHECK(visited == 1 && g.n_pinholes == 0);
	gate_release(&g);
}

/*
 * How a pinhole's element is written: one add where the kernel updates
 * timeouts; otherwise one add when new, nothing while more than half of
 * pinhole_timeout is left (the record keeps its expiry), a replace from
 * half on, and a replace of a new one while the kernel may hold elements
 * the record forgot.
 */
static void test_element_write_refresh_keep_replace(void)
{
	struct gate g;
	struct pinhole p;
	struct gate_pinhole *rec;
	uint64_t half = 500ull * cfg.pinhole_timeout;

	reset();
	CHECK(gate_init(&g, &cfg));
	CHECK(g.kernel_updates_timeouts);
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_OPEN);
	rec = gate_find(&g, &p);
	CHECK(rec && rec->write == NFT_ELEMENT_REFRESH);
	CHECK(gate_admit(&g, &key, &ans, &ep, 1000, &p, &ev) == GATE_OPEN);
	CHECK(rec->write == NFT_ELEMENT_REFRESH &&
	      rec->expires_ms == 1000 + 2 * half);
	/* a failed batch changes nothing where one add renews anyway */
	g.kernel_may_hold_unrecorded = true;
	CHECK(gate_element_write(&g, NULL, 0) == NFT_ELEMENT_REFRESH);
	gate_release(&g);

	CHECK(gate_init(&g, &cfg));
	g.kernel_updates_timeouts = false;
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_OPEN);
	rec = gate_find(&g, &p);
	CHECK(rec && rec->write == NFT_ELEMENT_ADD && rec->expires_ms == 2 * half);
	/* more than half left: nothing sent, the expiry stays */
	CHECK(gate_admit(&g, &key, &ans, &ep, half - 1, &p, &ev) == GATE_OPEN);
	CHECK(rec->write == NFT_ELEMENT_KEEP && rec->expires_ms == 2 * half);
	/* exactly half left: replaced, renewed from now */
	CHECK(gate_admit(&g, &key, &ans, &ep, half, &p, &ev) == GATE_OPEN);
	CHECK(rec->write == NFT_ELEMENT_REPLACE && rec->expires_ms == 3 * half);
	/* past its expiry (the kernel's traffic kept it): replaced */
	CHECK(gate_element_write(&g, rec, 10 * half) == NFT_ELEMENT_REPLACE);
	CHECK(gate_element_write(&g, NULL, 0) == NFT_ELEMENT_ADD);
	g.kernel_may_hold_unrecorded = true;
	CHECK(gate_element_write(&g, NULL, 0) == NFT_ELEMENT_REPLACE);
	/* the doubt is about elements with no record */
	CHECK(gate_element_write(&g, rec, 2 * half - 1) == NFT_ELEMENT_KEEP);
	gate_release(&g);
}

static void test_fixed_mode_fixed_drift_and_lookup_first(void)
{
	struct server_policy *policy = &cfg.groups[0];
	struct pinhole p;

	reset();
	policy->mode = MODE_FIXED;
	policy->n_fixed = 1;
	policy->fixed[0].any_iface = true;
	policy->fixed[0].port = 6001;
	CHECK(check(&p) == GATE_DRIFT);
	ep.port = 6001;
	CHECK(check(&p) == GATE_FIXED);
	policy->fixed_require_lookup = true;
	CHECK(check(&p) == GATE_OPEN && p.port == 6001);
	/* a fixed port for another interface is drift for this one */
	policy->fixed[0].any_iface = false;
	uuid_parse("f5cc5a18-4264-101a-8c59-08002b2f8426", &policy->fixed[0].iface);
	CHECK(check(&p) == GATE_DRIFT);
	/* an interface that is not allowed is refused before any port talk */
	uuid_parse("12345778-1234-abcd-ef00-0123456789ac", &ep.iface);
	req.iface = ep.iface;
	CHECK(check(&p) == GATE_IFACE);
}

static void test_allow_lookup_and_udp(void)
{
	struct pinhole p;

	reset();
	req.op = EPM_OP_LOOKUP;
	cfg.groups[0].allow_lookup = true;
	/* a lookup is not about one asked interface */
	uuid_parse("f5cc5a18-4264-101a-8c59-08002b2f8426", &ep.iface);
	CHECK(check(&p) == GATE_OPEN);
	ep.proto = EPM_PROTO_UDP;
	CHECK(check(&p) == GATE_OPEN && p.proto == IPPROTO_UDP);
}

/* The heap, the host lists and the counts agree with each other. */
static bool gate_consistent(const struct gate *g)
{
	size_t pinholes = 0, in_lists = 0;

	for (size_t i = 0; i < g->n_hosts; i++) {
		const struct gate_host *h = g->biggest[i];
		size_t n = 0;

		if (h->heap_index != i || h->n_pinholes == 0)
			return false;
		if (i > 0 && g->biggest[(i - 1) / 2]->n_pinholes < h->n_pinholes)
			return false;
		for (const struct gate_pinhole *p = h->oldest; p; p = p->host_newer) {
			if (p->client->host != h ||
			    (p->host_newer ? p->host_newer->host_older != p :
					     h->newest != p))
				return false;
			n++;
		}
		if (n != h->n_pinholes)
			return false;
		pinholes += n;
	}
	for (size_t i = 0; i <= g->bucket_mask; i++)
		for (const struct gate_client *c = g->clients[i]; c; c = c->next) {
			size_t n = 0;

			for (const struct gate_pinhole *p = c->pinholes; p; p = p->next)
				n++;
			if (n != c->n_pinholes || n == 0)
				return false;
			in_lists += n;
		}
	return pinholes == g->n_pinholes && in_lists == g->n_pinholes;
}

/* server2 (198.51.100.30) in a fixed-mode group of its own */
static struct server_policy *fixed_group_for_server2(void)
{
	struct server_policy *fixed = &cfg.groups[1];

	cfg.n_groups = 2;
	*fixed = cfg.groups[0];
	fixed->line = 7;
	fixed->mode = MODE_FIXED;
	fixed->n_fixed = 1;
	fixed->fixed[0].any_iface = true;
	fixed->fixed[0].port = 6001;
	cfg.server_group[1] = 1;
	return fixed;
}

static void test_tower_naming_another_server_judged_by_its_group(void)
{
	struct server_policy *fixed;
	struct pinhole p;

	reset();
	fixed = fixed_group_for_server2();
	/* the dynamic server's answer names server2 on a dynamic port: drift */
	inet_pton(AF_INET, "198.51.100.30", ep.addr);
	CHECK(check(&p) == GATE_DRIFT);
	CHECK(memcmp(p.server, ep.addr, 4) == 0 && p.port == 49160);
	ep.port = 6001;
	CHECK(check(&p) == GATE_FIXED);
	fixed->fixed_require_lookup = true;
	CHECK(check(&p) == GATE_OPEN && memcmp(p.server, ep.addr, 4) == 0);
	/* its interfaces, not the answering server's */
	fixed->n_ifaces = 1;
	uuid_parse("f5cc5a18-4264-101a-8c59-08002b2f8426", &fixed->ifaces[0]);
	CHECK(check(&p) == GATE_IFACE);
	/* and its lookups: the answering group allows them, server2's not */
	reset();
	fixed = fixed_group_for_server2();
	fixed->mode = MODE_DYNAMIC;
	cfg.groups[0].allow_lookup = true;
	req.op = EPM_OP_LOOKUP;
	CHECK(check(&p) == GATE_OPEN);	/* the tower names the answering server */
	inet_pton(AF_INET, "198.51.100.30", ep.addr);
	CHECK(check(&p) == GATE_LOOKUP);
	/* the other way round: a fixed server's tower naming a dynamic one */
	reset();
	fixed = fixed_group_for_server2();
	inet_pton(AF_INET, "198.51.100.30", key.server);
	inet_pton(AF_INET, "198.51.100.20", ep.addr);
	CHECK(check(&p) == GATE_OPEN && p.server[3] == 20);
	/* the answering endpoint mapper must still be a configured server */
	inet_pton(AF_INET, "198.51.100.99", key.server);
	CHECK(check(&p) == GATE_NOT_SERVER);
}

static void test_recheck_is_the_decision(void)
{
	struct gate g;
	struct pinhole p;
	struct gate_pinhole *rec;

	/* opened by an ept_lookup answer; allow_lookup turned off */
	reset();
	req.op = EPM_OP_LOOKUP;
	cfg.groups[0].allow_lookup = true;
	CHECK(gate_init(&g, &cfg));
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_OPEN);
	rec = gate_find(&g, &p);
	CHECK(rec && rec->facts.op == EPM_OP_LOOKUP);
	CHECK(gate_still_allowed(&cfg, rec));
	cfg.groups[0].allow_lookup = false;
	CHECK(!gate_still_allowed(&cfg, rec));
	/* the same record, renewed by an ept_map answer, keeps its pinhole */
	req.op = EPM_OP_MAP;
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_OPEN);
	CHECK(g.n_pinholes == 1 && gate_still_allowed(&cfg, rec));
	gate_release(&g);

	/* a tower naming server2, whose group becomes fixed on reload */
	reset();
	inet_pton(AF_INET, "198.51.100.30", ep.addr);
	CHECK(gate_init(&g, &cfg));
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p, &ev) == GATE_OPEN);
	rec = gate_find(&g, &p);
	CHECK(rec && gate_still_allowed(&cfg, rec));
	fixed_group_for_server2();
	CHECK(!gate_still_allowed(&cfg, rec));
	/* the answering server leaves servers: nothing it said holds */
	reset();
	cfg.n_servers = 1;
	prefix_parse("198.51.100.30", &cfg.servers[0]);
	CHECK(!gate_still_allowed(&cfg, rec));
	/* every reason the decision has, the re-check has: port range */
	reset();
	cfg.port_min = 50000;
	CHECK(!gate_still_allowed(&cfg, rec));
	reset();
	cfg.n_deny_ports = 1;
	cfg.deny_ports[0] = 49160;
	CHECK(!gate_still_allowed(&cfg, rec));
	reset();
	CHECK(gate_still_allowed(&cfg, rec));
	gate_release(&g);
}

static void next_test_addr(uint8_t *addr)
{
	for (int i = 3; i >= 0 && ++addr[i] == 0; i--)
		;
}

static void admit_from(struct gate *g, const char *client, uint16_t port,
		       enum gate_reason want)
{
	struct pinhole p;

	key.family = strchr(client, ':') ? AF_INET6 : AF_INET;
	inet_pton(key.family, client, key.client);
	inet_pton(key.family, key.family == AF_INET6 ? "2001:db8:2::20" :
		  "198.51.100.20", key.server);
	ep.has_addr = false;
	ep.port = port;
	CHECK(gate_admit(g, &key, &ans, &ep, port, &p, &ev) == want);
	CHECK(gate_consistent(g));
}

static void test_eviction_takes_the_biggest_hosts_oldest(void)
{
	struct gate g;

	reset();
	cfg.max_pinholes = 5;
	CHECK(gate_init(&g, &cfg));
	admit_from(&g, "192.0.2.10", 50001, GATE_OPEN);
	admit_from(&g, "192.0.2.11", 50002, GATE_OPEN);
	admit_from(&g, "192.0.2.10", 50003, GATE_OPEN);
	admit_from(&g, "192.0.2.10", 50004, GATE_OPEN);
	admit_from(&g, "192.0.2.11", 50005, GATE_OPEN);
	CHECK(!ev.evicted);
	/* renewing .10's oldest makes 50003 its oldest */
	admit_from(&g, "192.0.2.10", 50001, GATE_OPEN);
	CHECK(!ev.evicted && g.n_pinholes == 5);
	admit_from(&g, "192.0.2.12", 50006, GATE_OPEN);
	CHECK(ev.evicted && ev.key.port == 50003 && ev.key.client[3] == 10);
	/* .10 and .11 now hold 2 each: .11 is one of the biggest, refused */
	admit_from(&g, "192.0.2.11", 50007, GATE_TOTAL_CAP);
	CHECK(!ev.evicted);
	/* a newcomer with none: one of the two gives way (a tie) */
	admit_from(&g, "192.0.2.13", 50008, GATE_OPEN);
	CHECK(ev.evicted && (ev.key.client[3] == 10 || ev.key.client[3] == 11));
	CHECK(g.n_pinholes == 5 && g.n_hosts == 4);
	gate_release(&g);
}

static void test_one_ipv6_host_is_its_prefix(void)
{
	struct gate g;
	char addr[64];

	reset();
	cfg.n_servers = 3;
	prefix_parse("2001:db8:2::/64", &cfg.servers[2]);
	cfg.max_pinholes = 8;
	cfg.max_pinholes_per_client = 2;	/* per address, not per /64 */
	CHECK(gate_init(&g, &cfg));
	for (unsigned i = 0; i < 8; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:1::%x", 0x100 + i / 2);
		admit_from(&g, addr, (uint16_t)(50000 + i), GATE_OPEN);
	}
	admit_from(&g, "2001:db8:1::100", 50100, GATE_CLIENT_CAP);
	CHECK(g.n_hosts == 1 && g.biggest[0]->n_pinholes == 8);
	/* a new address of the same /64 is the biggest holder: refused */
	admit_from(&g, "2001:db8:1:0:ffff::1", 50101, GATE_TOTAL_CAP);
	/* another /64 of the same /48 is another host: the /64 gives way */
	admit_from(&g, "2001:db8:1:1::10", 50102, GATE_OPEN);
	CHECK(ev.evicted && ev.key.port == 50000 && ev.host.family == AF_INET6);
	CHECK(memcmp(ev.host.addr, "\x20\x01\x0d\xb8\x00\x01\0\0\0\0\0\0\0\0\0\0",
		     16) == 0);
	/* the evicted pinhole's address had two: it keeps the other */
	CHECK(g.n_pinholes == 8 && g.n_hosts == 2);
	/* an IPv4 client is a host of its own next to the /64 */
	admit_from(&g, "192.0.2.10", 50103, GATE_OPEN);
	CHECK(ev.evicted && ev.host.family == AF_INET6 && g.n_hosts == 3);
	gate_release(&g);
}

/* The evicted client shares the newcomer's bucket (and is freed). */
static void test_eviction_within_one_bucket(void)
{
	struct gate g;
	char first[INET_ADDRSTRLEN], second[INET_ADDRSTRLEN];
	uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };

	reset();
	cfg.max_pinholes = 1;
	CHECK(gate_init(&g, &cfg));
	while (bucket_of(&g, AF_INET, b) != bucket_of(&g, AF_INET, a))
		next_test_addr(b);
	inet_ntop(AF_INET, a, first, sizeof(first));
	inet_ntop(AF_INET, b, second, sizeof(second));
	admit_from(&g, first, 50001, GATE_OPEN);
	ep.port = 50001;
	admit_from(&g, first, 50002, GATE_TOTAL_CAP);	/* its own: refused */
	/* the second host holds none: the first gives way, and goes */
	admit_from(&g, second, 50003, GATE_OPEN);
	CHECK(ev.evicted && memcmp(ev.key.client, a, 4) == 0);
	CHECK(g.n_pinholes == 1 && g.n_hosts == 1);
	CHECK(*find_client(&g, AF_INET, a) == NULL);
	CHECK(*find_client(&g, AF_INET, b) != NULL);
	gate_release(&g);
}

static bool forget_odd_ports(void *arg, struct gate_pinhole *p)
{
	(void)arg;
	return p->key.port % 2;
}

/* Admissions, evictions and forgetting in any order keep the counts. */
static void test_counts_hold_under_churn(void)
{
	struct gate g;
	char addr[64];
	uint32_t x = 1;

	reset();
	cfg.max_pinholes = 50;
	cfg.max_pinholes_per_client = 4;
	CHECK(gate_init(&g, &cfg));
	for (unsigned i = 0; i < 3000; i++) {
		struct pinhole p;

		x = x * 1103515245u + 12345u;
		snprintf(addr, sizeof(addr), "192.0.2.%u", (x >> 16) % 23);
		inet_pton(AF_INET, addr, key.client);
		ep.port = (uint16_t)(50000 + (x >> 8) % 7);
		gate_admit(&g, &key, &ans, &ep, i, &p, &ev);
		if (i % 500 == 499)
			gate_visit(&g, forget_odd_ports, NULL);
		if (!gate_consistent(&g) || g.n_pinholes > cfg.max_pinholes) {
			CHECK(!"consistent");
			break;
		}
	}
	gate_release(&g);
}

int main(void)
{
	RUN(test_exchange_map_opens_client_server_port);
	RUN(test_refusals);
	RUN(test_tower_address_forms);
	RUN(test_any_preset_and_map_without_tower);
	RUN(test_caps_per_client_and_total);
	RUN(test_visit_forgets_and_recheck_after_reload);
	RUN(test_element_write_refresh_keep_replace);
	RUN(test_fixed_mode_fixed_drift_and_lookup_first);
	RUN(test_allow_lookup_and_udp);
	RUN(test_tower_naming_another_server_judged_by_its_group);
	RUN(test_recheck_is_the_decision);
	RUN(test_eviction_takes_the_biggest_hosts_oldest);
	RUN(test_one_ipv6_host_is_its_prefix);
	RUN(test_eviction_within_one_bucket);
	RUN(test_counts_hold_under_churn);
	UNIT_EXIT();
}
