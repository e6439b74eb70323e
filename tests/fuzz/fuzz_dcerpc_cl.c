/*
 * libFuzzer target for the connectionless DCE/RPC decoder alone
 * (dcerpc_cl.c: ncadg_ip_udp, UDP 135), one conversation fed datagram by
 * datagram, without the flow table around it: what fuzz_decoder.c reaches
 * through UDP records, here with no IP/UDP framing to spend input on and a
 * small per-call cap (600 bytes) so that joining fragments hits it.
 *
 * The input is a sequence of records:
 *
 *   dir      u8        bit 0: 0 client -> server, 1 server -> client
 *   len      u16 LE    datagram length (cut short at the end of the input)
 *   datagram len bytes, from the 80-byte header on
 *
 * Every datagram is also parsed with dce_cl_parse_hdr() on its own and
 * its fields read.  After each datagram the harness checks that the
 * endpoint count returned matches the callbacks, that the calls held stay
 * within DCE_CL_MAX_CALLS, and that the call joined in each direction
 * stays within its caps with its fragments in ascending order; the
 * conversation is released at the end so that LeakSanitizer sees anything
 * left behind.  Seeds: tests/fuzz/corpus-dcerpc_cl/ (tests/fuzz/make_seeds.py,
 * from the udp_* vectors).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcerpc_cl.h"

#define MAX_CALL_BYTES 600

struct harness {
	int callbacks;
	uint64_t fold;
};

static volatile uint64_t fuzz_sink;

static void on_endpoint(void *arg, const struct dce_answer *ans,
			const struct epm_endpoint *ep)
{
	struct harness *h = arg;

	h->callbacks++;
	if (!ans || !ans->req || !ep ||
	    (ans->req->op != EPM_OP_MAP && ans->req->op != EPM_OP_LOOKUP))
		abort();
	h->fold = h->fold * 31 + ans->call_id + ep->port + ep->iface.b[0] +
		  (uint64_t)ep->proto + ep->iface_major;
}

static void check_conn(const struct dce_cl_conn *c)
{
	if (c->n_calls > DCE_CL_MAX_CALLS)
		abort();
	for (int d = 0; d < 2; d++) {
		const struct dce_cl_reassembly *r = &c->reassembly[d];

		if (r->len > MAX_CALL_BYTES || r->n_frags > DCE_CL_MAX_FRAGS ||
		    (!r->active && r->n_frags))
			abort();
		for (uint16_t i = 1; i < r->n_frags; i++)
			if (r->frags[i].fragnum <= r->frags[i - 1].fragnum)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dce_cl_conn conn;
	struct harness h = { 0 };
	size_t pos = 0;

	dce_cl_init(&conn, MAX_CALL_BYTES);
	while (size - pos >= 3) {
		enum dce_dir dir = data[pos] & 1 ? DCE_FROM_SERVER : DCE_FROM_CLIENT;
		size_t len = (size_t)(data[pos + 1] | data[pos + 2] << 8);
		struct dce_cl_hdr hdr;
		int endpoints;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		if (dce_cl_parse_hdr(data + pos, len, &hdr))
			h.fold += hdr.ptype + hdr.flags1 + hdr.serial + hdr.seqnum +
				  hdr.body_len + hdr.fragnum + hdr.auth_proto +
				  hdr.activity.b[0] + hdr.if_vers + hdr.opnum;
		h.callbacks = 0;
		endpoints = dce_cl_input(&conn, dir, data + pos, len, on_endpoint, &h);
		if (endpoints != h.callbacks || endpoints < 0)
			abort();
		check_conn(&conn);
		pos += len;
	}
	fuzz_sink = h.fold;
	dce_cl_release(&conn);
	return 0;
}
