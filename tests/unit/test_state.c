/*
 * The state file's codec: records come back as they were written, and a
 * file that is wrong anywhere -- magic, version, length, any field of any
 * record -- yields nothing.
 */
#include "../../daemon/state.c"

#include <arpa/inet.h>
#include <stdlib.h>

#include "unit.h"

struct collected {
	size_t n;
	struct state_record r[4];
};

static void collect(void *arg, const struct state_record *r)
{
	struct collected *c = arg;

	if (c->n < 4)
		c->r[c->n] = *r;
	c->n++;
}

static void sample(struct state_record *r, uint8_t family)
{
	memset(r, 0, sizeof(*r));
	r->facts.family = family;
	if (family == AF_INET) {
		inet_pton(AF_INET, "192.0.2.10", r->facts.client);
		inet_pton(AF_INET, "198.51.100.20", r->facts.epm_server);
		r->facts.has_addr = true;
		inet_pton(AF_INET, "198.51.100.30", r->facts.addr);
		r->published = true;
		inet_pton(AF_INET, "203.0.113.5", r->public_addr);
	} else {
		inet_pton(AF_INET6, "2001:db8:1::10", r->facts.client);
		inet_pton(AF_INET6, "2001:db8:2::20", r->facts.epm_server);
	}
	r->facts.op = EPM_OP_MAP;
	r->facts.has_asked_iface = family == AF_INET;
	uuid_parse("a4f1db00-ca47-1067-b31f-00dd010662da", &r->facts.iface);
	if (r->facts.has_asked_iface)
		r->facts.asked_iface = r->facts.iface;
	r->facts.proto = family == AF_INET ? EPM_PROTO_TCP : EPM_PROTO_UDP;
	r->facts.port = 49160;
	r->remaining_ms = 119500;
}

/* Two records, IPv4 (published, tower address) and IPv6, in buf. */
static size_t two_records(uint8_t *buf)
{
	struct state_record r;

	state_write_header(buf, 2, 123456789);
	sample(&r, AF_INET);
	state_write_record(buf + STATE_HEADER_SIZE, &r);
	sample(&r, AF_INET6);
	state_write_record(buf + STATE_HEADER_SIZE + STATE_RECORD_SIZE, &r);
	return STATE_HEADER_SIZE + 2 * STATE_RECORD_SIZE;
}

static long parse(const uint8_t *buf, size_t len, struct collected *c)
{
	uint64_t written = 0;
	char err[128];

	memset(c, 0, sizeof(*c));
	return state_parse(buf, len, &written, collect, c, err, sizeof(err));
}

static void test_round_trip(void)
{
	uint8_t buf[STATE_HEADER_SIZE + 2 * STATE_RECORD_SIZE];
	struct state_record want;
	struct collected c = { 0 };
	uint64_t written = 0;
	char err[128];
	size_t len = two_records(buf);

	CHECK(state_parse(buf, len, &written, collect, &c, err, sizeof(err)) == 2);
	CHECK(written == 123456789);
	CHECK(c.n == 2);
	sample(&want, AF_INET);
	CHECK(memcmp(&c.r[0].facts, &want.facts, sizeof(want.facts)) == 0);
	CHECK(c.r[0].remaining_ms == 119500 && c.r[0].published);
	CHECK(memcmp(c.r[0].public_addr, want.public_addr, 16) == 0);
	sample(&want, AF_INET6);
	CHECK(memcmp(&c.r[1].facts, &want.facts, sizeof(want.facts)) == 0);
	CHECK(!c.r[1].published);
	/* checking only hands nothing on */
	CHECK(state_parse(buf, len, &written, NULL, NULL, err, sizeof(err)) == 2);
	/* an empty file is a good one */
	state_write_header(buf, 0, 1);
	CHECK(parse(buf, STATE_HEADER_SIZE, &c) == 0 && c.n == 0);
}

/* Flips one byte at off to value: the whole file is refused. */
static bool refused_with(size_t off, uint8_t value)
{
	uint8_t buf[STATE_HEADER_SIZE + 2 * STATE_RECORD_SIZE];
	struct collected c;
	size_t len = two_records(buf);

	buf[off] = value;
	return parse(buf, len, &c) == -1 && c.n == 0;
}

static void test_every_field_checked(void)
{
	size_t second = STATE_HEADER_SIZE + STATE_RECORD_SIZE;
	size_t first = STATE_HEADER_SIZE;

	CHECK(refused_with(0, 'X'));			/* magic */
	CHECK(refused_with(9, 2));			/* version */
	CHECK(refused_with(11, 1));			/* reserved */
	CHECK(refused_with(15, 3));			/* count against the length */
	CHECK(refused_with(second, 5));		/* family */
	CHECK(refused_with(first + 1 + 5, 1));	/* IPv4 client, byte 6 of 16 */
	CHECK(refused_with(first + 17 + 15, 1));	/* IPv4 server, byte 16 */
	CHECK(refused_with(second + 33, 4));		/* operation */
	CHECK(refused_with(second + 34, 2));		/* asked flag */
	CHECK(refused_with(second + 35, 1));		/* asked iface without the flag */
	CHECK(refused_with(first + 67, 2));		/* protocol (HTTP) */
	CHECK(refused_with(second + 70, 2));		/* tower-address flag */
	CHECK(refused_with(second + 72, 1));		/* tower address without the flag */
	CHECK(refused_with(first + 75, 0xff));	/* remaining over a day */
	CHECK(refused_with(first + 79, 2));		/* published flag */
	CHECK(refused_with(second + 80, 1));		/* public address, not published */
	CHECK(refused_with(first + 80 + 6, 1));	/* IPv4 public address, byte 7 */
}

static void test_lengths(void)
{
	uint8_t buf[STATE_HEADER_SIZE + 2 * STATE_RECORD_SIZE + 1];
	struct collected c;
	size_t len = two_records(buf);

	CHECK(parse(buf, len - 1, &c) == -1 && c.n == 0);	/* truncated */
	buf[len] = 0;
	CHECK(parse(buf, len + 1, &c) == -1 && c.n == 0);	/* overlong */
	CHECK(parse(buf, STATE_HEADER_SIZE - 1, &c) == -1);	/* no header */
	CHECK(parse(buf, 0, &c) == -1);
	/* a count that would overflow a multiplication */
	state_write_header(buf, 0xffffffffu, 1);
	CHECK(parse(buf, STATE_HEADER_SIZE, &c) == -1);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_every_field_checked);
	RUN(test_lengths);
	UNIT_EXIT();
}
