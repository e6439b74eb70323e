/*
 * The few DCE/RPC PDUs the gateway benchmark exchanges on TCP 135, built
 * by hand (connection-oriented DCE/RPC v5, little-endian NDR): a bind to
 * the endpoint mapper v3 in NDR, its bind_ack, an ept_map request for
 * EMSMDB, and the answer with one ncacn_ip_tcp tower.  Shared by
 * epm_load.c (the client side) and epm_serve.c (the server side); both
 * were checked against impacket (tests/ns/epm_client.py and epm_server.py).
 */
#ifndef RPCGATE_BENCH_EPM_WIRE_H
#define RPCGATE_BENCH_EPM_WIRE_H

#include <stdint.h>
#include <string.h>

#define WIRE_BIND 11
#define WIRE_BIND_ACK 12
#define WIRE_REQUEST 0
#define WIRE_RESPONSE 2
#define WIRE_HEADER_LEN 16
#define WIRE_MAX_PDU 512
#define WIRE_OP_MAP 3

/* UUIDs as NDR puts them on the wire (first three fields little-endian) */
static const uint8_t wire_epm_uuid[16] = {
	0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11,
	0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa };	/* e1af8308-5d1f-11c9-91a4-08002b14a0fa */
static const uint8_t wire_ndr_uuid[16] = {
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
	0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60 };	/* 8a885d04-1ceb-11c9-9fe8-08002b104860 */
static const uint8_t wire_emsmdb_uuid[16] = {
	0x00, 0xdb, 0xf1, 0xa4, 0x47, 0xca, 0x67, 0x10,
	0xb3, 0x1f, 0x00, 0xdd, 0x01, 0x06, 0x62, 0xda };	/* a4f1db00-ca47-1067-b31f-00dd010662da */
#define WIRE_EMSMDB_MAJOR 0
#define WIRE_EMSMDB_MINOR 81

struct wire {
	uint8_t b[WIRE_MAX_PDU];
	size_t len;
};

static inline void wire_put(struct wire *w, const void *p, size_t n)
{
	memcpy(w->b + w->len, p, n);	/* every PDU here is far below the size */
	w->len += n;
}

static inline void wire_u8(struct wire *w, uint8_t v)
{
	wire_put(w, &v, 1);
}

static inline void wire_u16(struct wire *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	wire_put(w, b, 2);
}

static inline void wire_u32(struct wire *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	wire_put(w, b, 4);
}

static inline void wire_pad4(struct wire *w)
{
	while (w->len % 4)
		wire_u8(w, 0);
}

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Starts a PDU; wire_finish() writes its length. */
static inline void wire_header(struct wire *w, uint8_t ptype, uint32_t call_id)
{
	static const uint8_t start[8] = { 5, 0, 0, 3 /* first|last */, 0x10 /* LE */ };

	w->len = 0;
	wire_put(w, start, sizeof(start));
	w->b[2] = ptype;
	wire_u16(w, 0);
	wire_u16(w, 0);		/* auth_length */
	wire_u32(w, call_id);
}

static inline void wire_finish(struct wire *w)
{
	w->b[8] = (uint8_t)w->len;
	w->b[9] = (uint8_t)(w->len >> 8);
}

/* Length of the PDU at p once its header is in, else 0. */
static inline size_t wire_pdu_len(const uint8_t *p, size_t have)
{
	return have < WIRE_HEADER_LEN ? 0 : wire_get16(p + 8);
}

static inline void wire_bind(struct wire *w, uint32_t call_id)
{
	wire_header(w, WIRE_BIND, call_id);
	wire_u16(w, 5840);	/* max_xmit_frag */
	wire_u16(w, 5840);	/* max_recv_frag */
	wire_u32(w, 0);		/* assoc_group */
	wire_u32(w, 1);		/* one context, three reserved bytes */
	wire_u16(w, 0);		/* context id */
	wire_u16(w, 1);		/* one transfer syntax */
	wire_put(w, wire_epm_uuid, 16);
	wire_u32(w, 3);
	wire_put(w, wire_ndr_uuid, 16);
	wire_u32(w, 2);
	wire_finish(w);
}

static inline void wire_bind_ack(struct wire *w, uint32_t call_id)
{
	wire_header(w, WIRE_BIND_ACK, call_id);
	wire_u16(w, 5840);
	wire_u16(w, 5840);
	wire_u32(w, 0x12345);	/* assoc_group */
	wire_u16(w, 4);
	wire_put(w, "135", 4);	/* secondary address */
	wire_pad4(w);
	wire_u32(w, 1);		/* one result */
	wire_u16(w, 0);		/* acceptance */
	wire_u16(w, 0);
	wire_put(w, wire_ndr_uuid, 16);
	wire_u32(w, 2);
	wire_finish(w);
}

static inline void wire_floor(struct wire *w, const void *lhs, uint16_t lhs_len,
			      const void *rhs, uint16_t rhs_len)
{
	wire_u16(w, lhs_len);
	wire_put(w, lhs, lhs_len);
	wire_u16(w, rhs_len);
	wire_put(w, rhs, rhs_len);
}

/* EMSMDB over ncacn_ip_tcp: iface, NDR, CO RPC, TCP port, IPv4. */
static inline void wire_tower(struct wire *w, uint16_t port, const uint8_t ip[4])
{
	uint8_t iface[19] = { 0x0d }, ndr[19] = { 0x0d };
	uint8_t minor[2] = { WIRE_EMSMDB_MINOR, 0 }, zero[2] = { 0 };
	uint8_t tcp = 0x07, rpc = 0x0b, ipf = 0x09;
	uint8_t port_be[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	memcpy(iface + 1, wire_emsmdb_uuid, 16);
	iface[17] = WIRE_EMSMDB_MAJOR;
	memcpy(ndr + 1, wire_ndr_uuid, 16);
	ndr[17] = 2;
	wire_u16(w, 5);
	wire_floor(w, iface, 19, minor, 2);
	wire_floor(w, ndr, 19, zero, 2);
	wire_floor(w, &rpc, 1, zero, 2);
	wire_floor(w, &tcp, 1, port_be, 2);
	wire_floor(w, &ipf, 1, ip, 4);
}

#define WIRE_TOWER_LEN 75

/* twr_t: conformance, tower_length, the floors */
static inline void wire_twr(struct wire *w, uint16_t port, const uint8_t ip[4])
{
	wire_pad4(w);
	wire_u32(w, WIRE_TOWER_LEN);
	wire_u32(w, WIRE_TOWER_LEN);
	wire_tower(w, port, ip);
}

static inline void wire_map_request(struct wire *w, uint32_t call_id)
{
	static const uint8_t any[4], nil[20];

	wire_header(w, WIRE_REQUEST, call_id);
	wire_u32(w, 0);		/* alloc_hint, set below */
	wire_u16(w, 0);		/* context */
	wire_u16(w, WIRE_OP_MAP);
	wire_u32(w, 1);		/* object: referent, nil UUID */
	wire_put(w, nil, 16);
	wire_u32(w, 2);		/* map_tower: referent */
	wire_twr(w, 135, any);
	wire_pad4(w);
	wire_put(w, nil, 20);	/* entry_handle */
	wire_u32(w, 1);		/* max_towers */
	w->b[16] = (uint8_t)(w->len - 24);
	wire_finish(w);
}

static inline void wire_map_response(struct wire *w, uint32_t call_id,
				     uint16_t port, const uint8_t ip[4])
{
	static const uint8_t nil[20];

	wire_header(w, WIRE_RESPONSE, call_id);
	wire_u32(w, 0);		/* alloc_hint, set below */
	wire_u16(w, 0);		/* context */
	wire_u16(w, 0);		/* cancel count, reserved */
	wire_put(w, nil, 20);	/* entry_handle */
	wire_u32(w, 1);		/* num_towers */
	wire_u32(w, 1);		/* max_count */
	wire_u32(w, 0);		/* offset */
	wire_u32(w, 1);		/* actual_count */
	wire_u32(w, 3);		/* referent */
	wire_twr(w, port, ip);
	wire_pad4(w);
	wire_u32(w, 0);		/* status */
	w->b[16] = (uint8_t)(w->len - 24);
	wire_finish(w);
}

/* The TCP port floor of the first tower in an answer, or 0. */
static inline uint16_t wire_answer_port(const uint8_t *p, size_t len)
{
	static const uint8_t floor_tcp[5] = { 1, 0, 0x07, 2, 0 };

	for (size_t i = WIRE_HEADER_LEN; i + sizeof(floor_tcp) + 2 <= len; i++)
		if (memcmp(p + i, floor_tcp, sizeof(floor_tcp)) == 0)
			return (uint16_t)(p[i + 5] << 8 | p[i + 6]);
	return 0;
}

#endif
