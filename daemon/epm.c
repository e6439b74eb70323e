/*
 * Endpoint mapper stubs and protocol towers.
 *
 * The IDL (DCE 1.1 Appendix O, MS-RPCE 3.1.1.5 / 2.2.1.1):
 *
 *   typedef struct { unsigned32 tower_length;
 *                    [size_is(tower_length)] byte tower_octet_string[]; } twr_t;
 *   typedef struct { uuid_t object; twr_p_t tower;
 *                    [string] char annotation[64]; } ept_entry_t;
 *
 *   void ept_lookup([in] unsigned32 inquiry_type, [in, ptr] uuid_p_t object,
 *                   [in, ptr] rpc_if_id_p_t interface_id,
 *                   [in] unsigned32 vers_option,
 *                   [in, out] ept_lookup_handle_t *entry_handle,
 *                   [in] unsigned32 max_ents, [out] unsigned32 *num_ents,
 *                   [out, length_is(*num_ents), size_is(max_ents)]
 *                       ept_entry_t entries[],
 *                   [out] error_status_t *status);            opnum 2
 *   void ept_map([in, ptr] uuid_p_t object, [in, ptr] twr_p_t map_tower,
 *                [in, out] ept_lookup_handle_t *entry_handle,
 *                [in] unsigned32 max_towers, [out] unsigned32 *num_towers,
 *                [out, ptr, size_is(max_towers), length_is(*num_towers)]
 *                    twr_p_t *towers,
 *                [out] error_status_t *status);               opnum 3
 *
 * NDR64 differs only in what this file reads through ndr_count():
 * pointers, conformance and variance are 8 bytes, 8-aligned.
 */
#include <string.h>

#include "epm.h"
#include "wire.h"

#define CONTEXT_HANDLE_LEN 20

/* Tower floor protocol identifiers (DCE 1.1 Appendix I) */
#define FLOOR_UUID 0x0d
#define FLOOR_TCP 0x07
#define FLOOR_UDP 0x08
#define FLOOR_IP 0x09
#define FLOOR_HTTP 0x1f

/* lhs of a UUID floor: protocol id, UUID, major version */
#define UUID_FLOOR_LHS_LEN 19

const struct uuid epm_iface_uuid = { { 0xe1, 0xaf, 0x83, 0x08, 0x5d, 0x1f,
	0x11, 0xc9, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa } };
const struct uuid ndr_syntax_uuid = { { 0x8a, 0x88, 0x5d, 0x04, 0x1c, 0xeb,
	0x11, 0xc9, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60 } };
const struct uuid ndr64_syntax_uuid = { { 0x71, 0x71, 0x05, 0x33, 0xbe, 0xba,
	0x49, 0x37, 0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36 } };

struct ndr {
	struct wire w;
	bool ndr64;
};

/* A pointer's referent id, or a conformance, offset or actual count. */
static uint64_t ndr_count(struct ndr *n)
{
	if (n->ndr64) {
		wire_align(&n->w, 8);
		return wire_u64(&n->w);
	}
	wire_align(&n->w, 4);
	return wire_u32(&n->w);
}

static size_t ndr_count_size(const struct ndr *n)
{
	return n->ndr64 ? 8 : 4;
}

static uint32_t ndr_u32(struct ndr *n)
{
	wire_align(&n->w, 4);
	return wire_u32(&n->w);
}

static void ndr_context_handle(struct ndr *n)
{
	wire_align(&n->w, 4);
	wire_skip(&n->w, CONTEXT_HANDLE_LEN);
}

/* [ptr] uuid_p_t: referent id, then the UUID when it is not NULL. */
static void ndr_uuid_ptr(struct ndr *n)
{
	struct uuid ignored;

	if (ndr_count(n) != 0) {
		wire_align(&n->w, 4);
		uuid_read(&n->w, &ignored);
	}
}

/*
 * twr_t: conformance (max_count), tower_length, tower_length octets.
 * The conformance must equal tower_length.  Returns the octets or NULL.
 */
static const uint8_t *ndr_tower(struct ndr *n, size_t *len)
{
	uint64_t max_count = ndr_count(n);
	uint32_t tower_length = ndr_u32(n);

	if (n->w.failed || max_count != tower_length) {
		wire_fail(&n->w);
		return NULL;
	}
	*len = tower_length;
	return wire_bytes(&n->w, tower_length);
}

/*
 * Conformant varying array header: max_count, offset, actual_count.
 * A server may not send more than the client made room for, nor more
 * than it says it sends.
 */
static bool ndr_array_header(struct ndr *n, uint32_t count, uint32_t room,
			     size_t min_element_size)
{
	uint64_t max_count = ndr_count(n);
	uint64_t offset = ndr_count(n);
	uint64_t actual = ndr_count(n);

	if (n->w.failed || actual != count || max_count > room ||
	    offset > max_count || actual > max_count - offset)
		return false;
	/* cheap bound before any loop: every element needs its fixed part */
	return actual <= wire_left(&n->w) / min_element_size;
}

/*
 * Tower octets (DCE 1.1 Appendix L), all little-endian except port and
 * address values, which are big-endian:
 *
 *   floor_count u16
 *   floor[]: lhs_length u16, lhs (protocol id u8, data), rhs_length u16, rhs
 *
 * Floor 1 is the interface (0x0d, UUID, major; rhs minor), floor 2 the
 * transfer syntax, floor 3 the RPC protocol (0x0a CL, 0x0b CO), then
 * transport floors.  Unknown protocol ids are skipped; a transport floor
 * whose value has the wrong size, or a second port floor, is malformed.
 */
int epm_parse_tower(const uint8_t *octets, size_t len, struct epm_endpoint *ep)
{
	struct wire w;
	uint16_t floor_count;
	bool has_port = false;

	wire_init(&w, octets, len, false);
	memset(ep, 0, sizeof(*ep));
	floor_count = wire_u16le(&w);
	if (w.failed || floor_count < 3)
		return -1;
	for (uint16_t floor = 0; floor < floor_count; floor++) {
		uint16_t lhs_len = wire_u16le(&w);
		const uint8_t *lhs = wire_bytes(&w, lhs_len);
		uint16_t rhs_len = wire_u16le(&w);
		const uint8_t *rhs = wire_bytes(&w, rhs_len);
		struct wire value;

		if (w.failed || lhs_len < 1)
			return -1;
		wire_init(&value, rhs, rhs_len, false);
		if (floor < 2) {
			struct wire lhs_w;

			if (lhs[0] != FLOOR_UUID || lhs_len != UUID_FLOOR_LHS_LEN ||
			    rhs_len != 2)
				return -1;
			if (floor == 0) {
				wire_init(&lhs_w, lhs + 1, lhs_len - 1, false);
				uuid_read_le(&lhs_w, &ep->iface);
				ep->iface_major = wire_u16le(&lhs_w);
				ep->iface_minor = wire_u16le(&value);
			}
			continue;
		}
		switch (lhs[0]) {
		case FLOOR_TCP:
		case FLOOR_UDP:
		case FLOOR_HTTP:
			if (rhs_len != 2 || has_port)
				return -1;
			has_port = true;
			ep->proto = lhs[0] == FLOOR_TCP ? EPM_PROTO_TCP :
				    lhs[0] == FLOOR_UDP ? EPM_PROTO_UDP :
							  EPM_PROTO_HTTP;
			ep->port = wire_u16be(&value);
			break;
		case FLOOR_IP:
			if (rhs_len != 4 || ep->has_addr)
				return -1;
			ep->has_addr = true;
			memcpy(ep->addr, rhs, 4);
			break;
		default:
			break;
		}
	}
	return has_port ? 1 : 0;
}

bool epm_parse_request(enum epm_op op, const uint8_t *stub, size_t len,
		       bool big_endian, enum ndr_syntax syntax,
		       struct epm_request *req)
{
	struct ndr n = { .ndr64 = syntax == NDR_SYNTAX_NDR64 };

	wire_init(&n.w, stub, len, big_endian);
	memset(req, 0, sizeof(*req));
	req->op = op;
	if (op == EPM_OP_MAP) {
		/* object, map_tower, entry_handle, max_towers */
		ndr_uuid_ptr(&n);
		if (ndr_count(&n) != 0) {
			struct epm_endpoint asked;
			size_t tower_len = 0;
			const uint8_t *tower = ndr_tower(&n, &tower_len);

			if (!tower || epm_parse_tower(tower, tower_len, &asked) < 0)
				return false;
			req->has_iface = true;
			req->iface = asked.iface;
			req->iface_major = asked.iface_major;
		}
	} else if (op == EPM_OP_LOOKUP) {
		/* inquiry_type, object, interface_id, vers_option,
		 * entry_handle, max_ents */
		req->inquiry_type = ndr_u32(&n);
		ndr_uuid_ptr(&n);
		if (ndr_count(&n) != 0) {
			wire_align(&n.w, 4);
			uuid_read(&n.w, &req->iface);
			req->iface_major = wire_u16(&n.w);
			wire_skip(&n.w, 2);
			req->has_iface = true;
		}
		(void)ndr_u32(&n);
	} else {
		return false;
	}
	ndr_context_handle(&n);
	req->max_results = ndr_u32(&n);
	return !n.w.failed;
}

/* Endpoints kept from the validating pass, enough for any ept_map answer
 * seen in practice; longer answers are walked a second time instead. */
#define EPM_KEPT_ENDPOINTS 8

struct kept_endpoints {
	size_t n;
	struct epm_endpoint ep[EPM_KEPT_ENDPOINTS];
};

/*
 * Walks the deferred towers of one response: the validating pass keeps
 * endpoints (parsed in place, not copied), the reporting pass hands them
 * to fn.
 */
static bool ndr_deferred_towers(struct ndr *n, uint64_t towers, int *endpoints,
				struct kept_endpoints *kept, epm_endpoint_fn fn,
				void *arg)
{
	for (uint64_t i = 0; i < towers; i++) {
		struct epm_endpoint scratch;
		struct epm_endpoint *ep = kept && kept->n < EPM_KEPT_ENDPOINTS ?
						  &kept->ep[kept->n] : &scratch;
		size_t tower_len = 0;
		const uint8_t *tower = ndr_tower(n, &tower_len);
		int has_port;

		if (!tower)
			return false;
		has_port = epm_parse_tower(tower, tower_len, ep);
		if (has_port < 0)
			return false;
		if (has_port) {
			(*endpoints)++;
			if (kept)
				kept->n++;
			if (fn)
				fn(arg, ep);
		}
	}
	return true;
}

/* Counts the non-NULL pointers of an array of `count` referent ids. */
static uint64_t ndr_pointer_array(struct ndr *n, uint64_t count)
{
	uint64_t non_null = 0;

	for (uint64_t i = 0; i < count; i++)
		non_null += ndr_count(n) != 0;
	return non_null;
}

/* ept_entry_t[]: object, tower pointer, annotation as a varying string. */
static uint64_t ndr_lookup_entries(struct ndr *n, uint64_t count)
{
	uint64_t non_null = 0;

	for (uint64_t i = 0; i < count && !n->w.failed; i++) {
		struct uuid object;
		uint64_t offset, actual;

		wire_align(&n->w, n->ndr64 ? 8 : 4);
		uuid_read(&n->w, &object);
		non_null += ndr_count(n) != 0;
		offset = ndr_count(n);
		actual = ndr_count(n);
		if (offset > EPM_ANNOTATION_MAX ||
		    actual > EPM_ANNOTATION_MAX - offset)
			wire_fail(&n->w);
		wire_skip(&n->w, actual);
	}
	return non_null;
}

static int parse_response(const struct epm_request *req, struct ndr *n,
			  uint32_t *status, struct kept_endpoints *kept,
			  epm_endpoint_fn fn, void *arg)
{
	uint32_t count;
	uint64_t towers;
	int endpoints = 0;
	size_t element_size;

	/* entry_handle, num_towers | num_ents, array, deferred towers, status */
	ndr_context_handle(n);
	count = ndr_u32(n);
	element_size = ndr_count_size(n);
	if (req->op == EPM_OP_LOOKUP)
		element_size += 16 + 2 * ndr_count_size(n);
	if (!ndr_array_header(n, count, req->max_results, element_size))
		return -1;
	if (req->op == EPM_OP_MAP)
		towers = ndr_pointer_array(n, count);
	else
		towers = ndr_lookup_entries(n, count);
	if (n->w.failed ||
	    !ndr_deferred_towers(n, towers, &endpoints, kept, fn, arg))
		return -1;
	*status = ndr_u32(n);
	return n->w.failed ? -1 : endpoints;
}

int epm_parse_response(const struct epm_request *req, const uint8_t *stub,
		       size_t len, bool big_endian, enum ndr_syntax syntax,
		       uint32_t *status, epm_endpoint_fn fn, void *arg)
{
	struct ndr n = { .ndr64 = syntax == NDR_SYNTAX_NDR64 };
	struct kept_endpoints kept;
	int endpoints;

	/* The whole stub is validated before any endpoint is reported. */
	kept.n = 0;
	wire_init(&n.w, stub, len, big_endian);
	endpoints = parse_response(req, &n, status, &kept, NULL, NULL);
	if (endpoints <= 0 || *status != 0)
		return endpoints < 0 ? -1 : 0;
	if (!fn)
		return endpoints;
	if (kept.n <= EPM_KEPT_ENDPOINTS) {
		for (size_t i = 0; i < kept.n; i++)
			fn(arg, &kept.ep[i]);
		return endpoints;
	}
	wire_init(&n.w, stub, len, big_endian);
	return parse_response(req, &n, status, NULL, fn, arg);
}

/* Interfaces an administrator will recognise in logs and replay output. */
static const struct uuid_text_map known_ifaces[] = {
	{ "a4f1db00-ca47-1067-b31f-00dd010662da", "EMSMDB" },
	{ "5261574a-4572-206e-b268-6b199213b4e4", "AsyncEMSMDB" },
	{ "f5cc5a18-4264-101a-8c59-08002b2f8426", "NSPI" },
	{ "1544f5e0-613c-11d1-93df-00c04fd7bd09", "RFR" },
	{ "e1af8308-5d1f-11c9-91a4-08002b14a0fa", "EPM" },
	{ "e3514235-4b06-11d1-ab04-00c04fc2dcd2", "DRSUAPI" },
	{ "12345678-1234-abcd-ef00-01234567cffb", "NETLOGON" },
	{ "12345778-1234-abcd-ef00-0123456789ab", "LSARPC" },
	{ "12345778-1234-abcd-ef00-0123456789ac", "SAMR" },
	{ "367abb81-9844-35f1-ad32-98f038001003", "SVCCTL" },
	{ "4b324fc8-1670-01d3-1278-5a47bf6ee188", "SRVSVC" },
	{ "338cd001-2244-31f1-aaaa-900038001003", "WINREG" },
	{ "1ff70682-0a51-30e8-076d-740be8cee98b", "ATSVC" },
	{ "86d35949-83c9-4044-b424-db363231fd0c", "TASKSCHD" },
	{ "50abc2a4-574d-40b3-9d66-ee4fd5fba076", "DNSSERVER" },
	{ "f5cc59b4-4264-101a-8c59-08002b2f8426", "FRSRPC" },
	{ "3919286a-b10c-11d0-9ba8-00c04fd92ef5", "DSSETUP" },
	{ "000001a0-0000-0000-c000-000000000046", "ISystemActivator" },
	{ "99fcfec4-5260-101b-bbcb-00aa0021347a", "IObjectExporter" },
};

const char *epm_iface_name(const struct uuid *iface)
{
	return uuid_map_find(known_ifaces,
			     sizeof(known_ifaces) / sizeof(known_ifaces[0]), iface);
}

const char *epm_proto_name(enum epm_proto proto)
{
	switch (proto) {
	case EPM_PROTO_TCP:
		return "tcp";
	case EPM_PROTO_UDP:
		return "udp";
	case EPM_PROTO_HTTP:
		return "http";
	}
	return "?";
}
