/*
 * IPv4/IPv6 and TCP or UDP headers of one packet, as NFQUEUE and the link layers
 * of a capture hand them over.  Pure; every length is checked against
 * both the buffer and the IP header's own total length.
 */
#ifndef RPCGATE_PACKET_H
#define RPCGATE_PACKET_H

#include <netinet/in.h>
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
};

enum packet_result packet_parse_ip(const uint8_t *data, size_t len,
				   struct packet *pkt);

const char *packet_result_text(enum packet_result result);

/* An address as text (for logs and replay output); "?" if it cannot be. */
void packet_addr_format(uint8_t family, const uint8_t *addr, char *out,
			size_t size);

#endif
