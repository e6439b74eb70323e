/*
 * IPv4/IPv6 and TCP or UDP headers of one packet, as NFQUEUE and the link layers
 * of a capture hand them over.  Pure; every length is checked against
 * both the buffer and the IP header's own total length.
 */
#ifndef RPCGATE_PACKET_H
#define RPCGATE_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

enum packet_result {
	PACKET_OK,
	PACKET_OTHER,		/* well formed, but neither TCP nor UDP */
	PACKET_FRAGMENT,	/* a non-first fragment, or one we cannot join */
	PACKET_MALFORMED,
	PACKET_TRUNCATED,	/* shorter than its IP header says */
};

/*
 * Where a packet entered the router, as NFQUEUE reports it; all zero when
 * unknown (a replayed capture).  Not parsed from the packet: the queue
 * fills it in after packet_parse_ip().
 */
struct packet_ingress {
	uint32_t ifindex;	/* NFQA_IFINDEX_INDEV */
	uint32_t phys_ifindex;	/* NFQA_IFINDEX_PHYSINDEV: the bridge port */
	uint32_t mark;		/* NFQA_MARK: the packet mark set by the rules */
	uint8_t hwaddr_len;	/* NFQA_HWADDR: the sender's link address */
	uint8_t hwaddr[8];
};

struct packet {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t src[16];
	uint8_t dst[16];	/* IPv4 in the first 4 bytes */
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;		/* TCP only */
	uint32_t ack;
	uint8_t tcp_flags;
	const uint8_t *payload;
	size_t payload_len;
	struct packet_ingress in;
};

/*
 * The "one host" that fairness counts when a shared cap is full: an IPv4
 * address, or the first v6_prefix bits of an IPv6 address (a machine can
 * hold as many addresses of its /64 as it likes).
 */
struct host_key {
	uint8_t family;
	uint8_t addr[16];	/* host bits beyond the prefix are zero */
};

void host_key_of(uint8_t family, const uint8_t *addr, unsigned v6_prefix,
		 struct host_key *out);
bool host_key_equal(const struct host_key *a, const struct host_key *b);

enum packet_result packet_parse_ip(const uint8_t *data, size_t len,
				   struct packet *pkt);

const char *packet_result_text(enum packet_result result);

/* An address as text (for logs and replay output); "?" if it cannot be. */
void packet_addr_format(uint8_t family, const uint8_t *addr, char *out,
			size_t size);

#endif
