/*
 * DCE/RPC connectionless PDUs (ncadg_ip_udp: DCE 1.1 ch. 12 "Connectionless
 * RPC PDUs", MS-RPCE 2.2.3) as one conversation with the endpoint mapper on
 * UDP 135 sees them: which EPM calls the client made (keyed by activity and
 * sequence number), and what the server's answers to them advertise.
 * Pure: the caller feeds one datagram at a time, gets endpoints back.
 *
 * Resolved in this module (see daemon/dcerpc_cl.c for the reasons):
 *  - if_vers is one u32, major version in the low 16 bits, minor in the
 *    high (as the DCE runtime's RPC_IF_VERS_MAJOR/MINOR read it); EPM is
 *    major 3, any minor.
 *  - Authenticated PDUs (auth_proto != 0) are refused: a request is not
 *    followed, a response ends its call with nothing reported.
 *  - Bytes after the body of an unauthenticated datagram are ignored.
 *  - A PDU without the FRAG flag is whole and must be fragment 0.
 *  - A call joins at most DCE_CL_MAX_FRAGS fragments.
 *  - A response is matched by activity and sequence number only; its
 *    interface and opnum fields are not compared with the request's.
 *  - An activity makes one call at a time: a request with a later seqnum
 *    (serial arithmetic) ends the activity's earlier calls.
 *  - One call is joined per direction at a time; a fragment of another
 *    call abandons it (the abandoned call stays outstanding).
 */
#ifndef RPCGATE_DCERPC_CL_H
#define RPCGATE_DCERPC_CL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcerpc.h"
#include "epm.h"
#include "uuid.h"

#define DCE_CL_HDR_LEN 80
#define DCE_CL_RPC_VERS 4

/*
 * PDU types are numbered alike in both protocols (DCE 1.1 12.5.2, 12.6.4):
 * request, response and fault are dcerpc.h's DCE_REQUEST (0),
 * DCE_RESPONSE (2) and DCE_FAULT (3).  Of the connectionless-only types
 * only reject matters here; ping (1), working (4), nocall (5), ack (7),
 * cl_cancel (8), fack (9) and cancel_ack (10) carry no answer.
 */
#define DCE_CL_PING 1
#define DCE_CL_REJECT 6
#define DCE_CL_FACK 9

/* flags1 */
#define DCE_CL_LASTFRAG 0x02
#define DCE_CL_FRAG 0x04
#define DCE_CL_NOFACK 0x08
#define DCE_CL_MAYBE 0x10
#define DCE_CL_IDEMPOTENT 0x20
#define DCE_CL_BROADCAST 0x40

struct dce_cl_hdr {
	uint8_t ptype;
	uint8_t flags1;
	uint8_t flags2;
	bool big_endian;
	uint16_t serial;	/* serial_hi << 8 | serial_lo */
	struct uuid object;
	struct uuid iface;
	struct uuid activity;
	uint32_t server_boot;
	uint32_t if_vers;
	uint32_t seqnum;
	uint16_t opnum;
	uint16_t ihint;
	uint16_t ahint;
	uint16_t body_len;
	uint16_t fragnum;
	uint8_t auth_proto;
};

/* EPM calls a conversation may have outstanding at once. */
#define DCE_CL_MAX_CALLS 8
/* Fragments one call may be cut into (every DCE runtime must accept
 * 1464-byte datagrams, so 256 of them carry more than 256 KiB). */
#define DCE_CL_MAX_FRAGS 256

struct dce_cl_call {
	struct uuid activity;
	uint32_t seqnum;
	struct epm_request req;
};

/* One present fragment of the call being joined. */
struct dce_cl_frag {
	uint16_t fragnum;
	uint16_t len;
};

/*
 * The call being joined in one direction: the bodies of the fragments
 * received so far, kept in fragnum order (a fragment that arrives early
 * is inserted where it belongs), so the body is whole and contiguous as
 * soon as fragments 0 .. the LASTFRAG one are all there.
 */
struct dce_cl_reassembly {
	uint8_t *body;
	size_t len;
	struct dce_cl_frag *frags;	/* ascending fragnum */
	uint16_t n_frags;
	bool active;
	bool big_endian;
	bool have_last;
	uint16_t last;		/* fragnum of the LASTFRAG fragment */
	uint16_t opnum;		/* requests */
	struct uuid activity;
	uint32_t seqnum;
};

/*
 * One conversation.  At most one call is joined per direction at a time
 * (a fragment of another call abandons it), each up to max_call_bytes of
 * body, so a conversation holds at most 2 x max_call_bytes on the heap.
 */
struct dce_cl_conn {
	size_t max_call_bytes;	/* joined body bytes per call */
	uint8_t n_calls;
	struct dce_cl_call calls[DCE_CL_MAX_CALLS];
	struct dce_cl_reassembly reassembly[2];	/* by enum dce_dir */
};

/*
 * Parses the 80-byte header.  Returns false when len cannot hold it, it
 * is not RPC version 4, or drep names an unknown integer representation.
 * The body length is not checked against len here.
 */
bool dce_cl_parse_hdr(const uint8_t *p, size_t len, struct dce_cl_hdr *h);

void dce_cl_init(struct dce_cl_conn *c, size_t max_call_bytes);
void dce_cl_release(struct dce_cl_conn *c);

/*
 * One datagram of this direction of the conversation.  Endpoints of a
 * completed EPM answer go to fn (dce_answer.call_id is the call's
 * sequence number); returns how many.  Anything that is not a well-formed
 * answer to an EPM call this conversation made reports nothing.
 */
int dce_cl_input(struct dce_cl_conn *c, enum dce_dir dir, const uint8_t *data,
		 size_t len, dce_endpoint_fn fn, void *arg);

#endif
