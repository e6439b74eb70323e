/*
 * Test-side encoder for DCE/RPC connectionless PDUs (DCE 1.1 ch. 12.5,
 * MS-RPCE 2.2.3), written from the spec independently of the decoder.
 * The EPM stubs and towers in their bodies come from build_pdu.h; CL is
 * NDR only, so the struct bld of a body has ndr64 false.  Everything is
 * static inline, as in build_pdu.h.
 */
#ifndef RPCGATE_BUILD_CL_H
#define RPCGATE_BUILD_CL_H

#include "build_pdu.h"
#include "dcerpc_cl.h"

/* Header offsets, for lies told by patching (bld_patch). */
#define CL_PTYPE_AT 1
#define CL_FLAGS1_AT 2
#define CL_DREP_AT 4
#define CL_IF_ID_AT 24
#define CL_IF_VERS_AT 60
#define CL_SEQNUM_AT 64
#define CL_OPNUM_AT 68
#define CL_LEN_AT 74
#define CL_FRAGNUM_AT 76
#define CL_AUTH_PROTO_AT 78

#define CL_ACTIVITY "9b3c5e1a-7d42-4f08-b6a1-2c4d6e8f0a13"
#define CL_OBJECT "00000000-0000-0000-0000-000000000000"
#define CL_SERVER_BOOT 0x65920080u
#define CL_EPM_IF_VERS 3u	/* v3.0: major in the low half */
#define CL_WHOLE 0		/* flags1 of an unfragmented PDU */

/* One CL PDU: the header's variable fields and the body. */
struct cl_pdu {
	uint8_t ptype, flags1;
	struct uuid iface, activity;
	uint32_t if_vers, seqnum;
	uint16_t opnum, fragnum, serial;
	uint8_t auth_proto;
	const uint8_t *body;
	size_t body_len;
};

/*
 * Appends one PDU in b's drep; returns where it starts.  Header:
 *   rpc_vers 4, ptype, flags1, flags2, drep[3], serial_hi,
 *   object, if_id, act_id (uuids in drep order),
 *   server_boot u32, if_vers u32, seqnum u32,
 *   opnum u16, ihint u16, ahint u16, len u16, fragnum u16,
 *   auth_proto u8, serial_lo u8; then the body.
 * An authenticated PDU gets a 16-byte verifier after the body.
 */
static inline size_t put_cl_pdu(struct bld *b, const struct cl_pdu *p)
{
	const size_t start = b->len;
	const struct uuid object = test_uuid(CL_OBJECT);
	const uint8_t head[8] = { DCE_CL_RPC_VERS, p->ptype, p->flags1, 0,
				  b->be ? 0x00 : 0x10, 0, 0,
				  (uint8_t)(p->serial >> 8) };

	put_bytes(b, head, sizeof(head));
	put_uuid(b, &object);
	put_uuid(b, &p->iface);
	put_uuid(b, &p->activity);
	put_u32(b, CL_SERVER_BOOT);
	put_u32(b, p->if_vers);
	put_u32(b, p->seqnum);
	put_u16(b, p->opnum);
	put_u16(b, 0xffff);	/* ihint */
	put_u16(b, 0xffff);	/* ahint */
	put_u16(b, (uint16_t)p->body_len);
	put_u16(b, p->fragnum);
	put_u8(b, p->auth_proto);
	put_u8(b, (uint8_t)p->serial);
	put_bytes(b, p->body, p->body_len);
	if (p->auth_proto)
		put_fill(b, 0x5a, 16);
	return start;
}

/* A PDU of call seqnum on the test activity, to EPM v3 with opnum op. */
static inline struct cl_pdu cl_call(uint8_t ptype, uint32_t seqnum,
				    uint16_t op, const struct bld *body)
{
	struct cl_pdu p = { .ptype = ptype, .flags1 = CL_WHOLE,
			    .iface = epm_iface_uuid,
			    .activity = test_uuid(CL_ACTIVITY),
			    .if_vers = CL_EPM_IF_VERS, .seqnum = seqnum,
			    .opnum = op, .body = body->b,
			    .body_len = body->len };

	return p;
}

/*
 * Fragment i of nfrags of PDU `whole`: its share of the body (cut evenly,
 * so some may be empty), fragnum i, FRAG on all and LASTFRAG on the last,
 * whole's other flags kept.
 */
static inline struct cl_pdu cl_fragment(struct cl_pdu whole, size_t i,
					size_t nfrags)
{
	size_t from = whole.body_len * i / nfrags;
	size_t to = whole.body_len * (i + 1) / nfrags;

	whole.flags1 |= DCE_CL_FRAG | (i + 1 == nfrags ? DCE_CL_LASTFRAG : 0);
	whole.fragnum = (uint16_t)i;
	whole.body += from;
	whole.body_len = to - from;
	return whole;
}

/* The NDR stub of an ept_map for tower w, in the drep of b. */
static inline void cl_map_stub(struct bld *stub, bool be, const struct twr *w,
			       uint32_t max_towers)
{
	bld_init(stub, be, false);
	put_map_request(stub, w, max_towers);
}

/* The NDR stub of answer r, in the given drep. */
static inline void cl_answer_stub(struct bld *stub, bool be,
				  const struct epm_resp *r)
{
	bld_init(stub, be, false);
	put_epm_response(stub, r);
}

/* A UDP tower as an endpoint mapper advertises ncadg_ip_udp. */
#define TW_EMSMDB_UDP { EMSMDB_UUID, 0, 81, PROT_UDP, 50500, \
			{ 198, 51, 100, 20 } }

#endif
