#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "state.h"

static const uint8_t magic[8] = { 'R', 'P', 'C', 'G', 'S', 'T', 'A', 'T' };

struct writer {
	uint8_t *p;
};

static void put_u8(struct writer *w, uint8_t v)
{
	*w->p++ = v;
}

static void put_be(struct writer *w, uint64_t v, unsigned bytes)
{
	for (unsigned i = bytes; i-- > 0;)
		*w->p++ = (uint8_t)(v >> (8 * i));
}

static void put_bytes(struct writer *w, const void *src, size_t n)
{
	memcpy(w->p, src, n);
	w->p += n;
}

void state_write_header(uint8_t out[STATE_HEADER_SIZE], uint32_t count,
			uint64_t written_ms)
{
	struct writer w = { out };

	put_bytes(&w, magic, sizeof(magic));
	put_be(&w, STATE_VERSION, 2);
	put_be(&w, 0, 2);
	put_be(&w, count, 4);
	put_be(&w, written_ms, 8);
}

/* 16 bytes: an IPv4 address in the first 4, zeros after */
static void put_addr(struct writer *w, uint8_t family, const uint8_t *addr)
{
	uint8_t field[16] = { 0 };

	memcpy(field, addr, family == AF_INET ? 4 : 16);
	put_bytes(w, field, sizeof(field));
}

void state_write_record(uint8_t out[STATE_RECORD_SIZE],
			const struct state_record *r)
{
	const struct policy_facts *f = &r->facts;
	static const uint8_t zero[16];
	struct writer w = { out };

	put_u8(&w, f->family == AF_INET ? 4 : 6);
	put_addr(&w, f->family, f->client);
	put_addr(&w, f->family, f->epm_server);
	put_u8(&w, (uint8_t)f->op);
	put_u8(&w, f->has_asked_iface);
	put_bytes(&w, f->has_asked_iface ? f->asked_iface.b : zero, 16);
	put_bytes(&w, f->iface.b, 16);
	put_u8(&w, (uint8_t)f->proto);
	put_be(&w, f->port, 2);
	put_u8(&w, f->has_addr);
	put_bytes(&w, f->has_addr ? f->addr : zero, 4);
	put_be(&w, r->remaining_ms, 4);
	put_u8(&w, r->published);
	if (r->published)
		put_addr(&w, f->family, r->public_addr);
	else
		put_bytes(&w, zero, 16);
}

/* ---- reading: every field is checked, nothing is trusted -------------- */

struct reader {
	const uint8_t *p;
};

static uint8_t get_u8(struct reader *r)
{
	return *r->p++;
}

static uint64_t get_be(struct reader *r, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | *r->p++;
	return v;
}

static void get_bytes(struct reader *r, void *dst, size_t n)
{
	memcpy(dst, r->p, n);
	r->p += n;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool get_bool(struct reader *r, bool *out)
{
	uint8_t v = get_u8(r);

	*out = v == 1;
	return v <= 1;
}

/* An address field of the record's family: IPv4 leaves 12 zero bytes. */
static bool get_addr(struct reader *r, uint8_t family, uint8_t out[16])
{
	get_bytes(r, out, 16);
	return family == AF_INET6 || all_zero(out + 4, 12);
}

/* One record, or the name of the field that is wrong. */
static const char *read_record(struct reader *r, struct state_record *out)
{
	struct policy_facts *f = &out->facts;
	uint8_t family = get_u8(r), op, proto;

	memset(out, 0, sizeof(*out));
	if (family != 4 && family != 6)
		return "family";
	f->family = family == 4 ? AF_INET : AF_INET6;
	if (!get_addr(r, f->family, f->client) || all_zero(f->client, 16))
		return "client";
	if (!get_addr(r, f->family, f->epm_server) || all_zero(f->epm_server, 16))
		return "endpoint mapper";
	op = get_u8(r);
	if (op != EPM_OP_MAP && op != EPM_OP_LOOKUP)
		return "operation";
	f->op = (enum epm_op)op;
	if (!get_bool(r, &f->has_asked_iface))
		return "asked-interface flag";
	get_bytes(r, f->asked_iface.b, 16);
	if (!f->has_asked_iface && !all_zero(f->asked_iface.b, 16))
		return "asked interface";
	get_bytes(r, f->iface.b, 16);
	proto = get_u8(r);
	if (proto != EPM_PROTO_TCP && proto != EPM_PROTO_UDP)
		return "protocol";
	f->proto = (enum epm_proto)proto;
	f->port = (uint16_t)get_be(r, 2);
	if (f->port == 0)
		return "port";
	if (!get_bool(r, &f->has_addr))
		return "tower-address flag";
	get_bytes(r, f->addr, 4);
	if (!f->has_addr && !all_zero(f->addr, 4))
		return "tower address";
	out->remaining_ms = (uint32_t)get_be(r, 4);
	if (out->remaining_ms > STATE_MAX_REMAINING_MS)
		return "remaining time";
	if (!get_bool(r, &out->published))
		return "published flag";
	if (!get_addr(r, f->family, out->public_addr) ||
	    out->published == all_zero(out->public_addr, 16))
		return "public address";
	return NULL;
}

long state_parse(const uint8_t *data, size_t len, uint64_t *written_ms,
		 state_record_fn fn, void *arg, char *err, size_t errlen)
{
	struct reader r = { data };
	struct state_record rec;
	uint32_t version, count;

	if (len < STATE_HEADER_SIZE || memcmp(data, magic, sizeof(magic)) != 0) {
		snprintf(err, errlen, "not an rpcgate state file");
		return -1;
	}
	r.p += sizeof(magic);
	version = (uint32_t)get_be(&r, 2);
	if (version != STATE_VERSION || get_be(&r, 2) != 0) {
		snprintf(err, errlen, "version %u, this rpcgated reads %u",
			 version, STATE_VERSION);
		return -1;
	}
	count = (uint32_t)get_be(&r, 4);
	*written_ms = get_be(&r, 8);
	if (count > STATE_MAX_RECORDS ||
	    len - STATE_HEADER_SIZE != (size_t)count * STATE_RECORD_SIZE) {
		snprintf(err, errlen, "%zu bytes for %u record(s): truncated "
			 "or overlong", len, count);
		return -1;
	}
	for (uint32_t i = 0; i < count; i++) {
		const char *bad = read_record(&r, &rec);

		if (bad) {
			snprintf(err, errlen, "record %u: bad %s", i + 1, bad);
			return -1;
		}
	}
	r.p = data + STATE_HEADER_SIZE;
	for (uint32_t i = 0; fn && i < count; i++) {
		read_record(&r, &rec);
		fn(arg, &rec);
	}
	return count;
}
