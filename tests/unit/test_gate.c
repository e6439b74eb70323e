/* The policy: one test per reason a pinhole is refused, and the caps. */
#include "../../daemon/gate.c"

#include <arpa/inet.h>

#include "unit.h"

static struct rpcgate_config cfg;
static struct flow_key key;
static struct epm_request req;
static struct dce_answer ans = { .call_id = 2, .req = &req };
static struct epm_endpoint ep;

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

static enum gate_reason check(struct pinhole *p)
{
	return gate_check(&cfg, &key, &ans, &ep, p);
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
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p) == GATE_OPEN);
	/* the same pinhole again renews, it does not count twice */
	CHECK(gate_admit(&g, &key, &ans, &ep, 1000, &p) == GATE_OPEN);
	CHECK(g.n_pinholes == 1);
	ep.port = 49161;
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p) == GATE_OPEN);
	ep.port = 49162;
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p) == GATE_CLIENT_CAP);
	inet_pton(AF_INET, "192.0.2.11", key.client);
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p) == GATE_OPEN);
	inet_pton(AF_INET, "192.0.2.12", key.client);
	CHECK(gate_admit(&g, &key, &ans, &ep, 0, &p) == GATE_TOTAL_CAP);
	CHECK(g.n_pinholes == 3);
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
	CHECK(gate_admit(&g, &key, &ans, &ep, 5000, &p) == GATE_OPEN);
	first = g.buckets[client_hash(&g, AF_INET, key.client)]->pinholes;
	CHECK(first->expires_ms == 5000 + 1000ull * cfg.pinhole_timeout);
	CHECK(gate_still_allowed(&cfg, first));
	cfg.groups[0].n_ifaces = 1;
	uuid_parse("f5cc5a18-4264-101a-8c59-08002b2f8426", &cfg.groups[0].ifaces[0]);
	CHECK(!gate_still_allowed(&cfg, first));
	gate_visit(&g, forget_all, &visited);
	CHECK(visited == 1 && g.n_pinholes == 0);
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

int main(void)
{
	RUN(test_exchange_map_opens_client_server_port);
	RUN(test_refusals);
	RUN(test_tower_address_forms);
	RUN(test_any_preset_and_map_without_tower);
	RUN(test_caps_per_client_and_total);
	RUN(test_visit_forgets_and_recheck_after_reload);
	RUN(test_fixed_mode_fixed_drift_and_lookup_first);
	RUN(test_allow_lookup_and_udp);
	UNIT_EXIT();
}
