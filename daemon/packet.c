#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "packet.h"
#include "wire.h"

#define IPPROTO_TCP_NUMBER 6
#define IPPROTO_UDP_NUMBER 17
#define UDP_HEADER_LEN 8
#define IPV6_HOP_BY_HOP 0
#define IPV6_ROUTING 43
#define IPV6_FRAGMENT 44
#define IPV6_DEST_OPTIONS 60
#define IPV6_HEADER_LEN 40
#define TCP_MIN_HEADER 20
#define IPV4_MORE_FRAGMENTS 0x2000
#define IPV4_OFFSET_MASK 0x1fff

/*
 * TCP header: sport u16, dport u16, seq u32, ack u32,
 *   data offset (4 bits, in 32-bit words), flags, window, checksum, urgent
 */
static enum packet_result parse_tcp(const uint8_t *data, size_t len,
				    struct packet *pkt)
{
	struct wire w;
	size_t header_len;

	if (len < TCP_MIN_HEADER)
		return PACKET_TRUNCATED;
	wire_init(&w, data, len, true);
	pkt->sport = wire_u16(&w);
	pkt->dport = wire_u16(&w);
	pkt->seq = wire_u32(&w);
	pkt->ack = wire_u32(&w);
	header_len = (size_t)(wire_u8(&w) >> 4) * 4;
	pkt->tcp_flags = wire_u8(&w);
	if (header_len < TCP_MIN_HEADER)
		return PACKET_MALFORMED;
	if (header_len > len)
		return PACKET_TRUNCATED;
	pkt->payload = data + header_len;
	pkt->payload_len = len - header_len;
	return PACKET_OK;
}

/* UDP header: sport u16, dport u16, length u16 (header included), checksum */
static enum packet_result parse_udp(const uint8_t *data, size_t len,
				    struct packet *pkt)
{
	struct wire w;
	size_t udp_len;

	if (len < UDP_HEADER_LEN)
		return PACKET_TRUNCATED;
	wire_init(&w, data, len, true);
	pkt->sport = wire_u16(&w);
	pkt->dport = wire_u16(&w);
	udp_len = wire_u16(&w);
	if (udp_len < UDP_HEADER_LEN)
		return PACKET_MALFORMED;
	if (udp_len > len)
		return PACKET_TRUNCATED;
	pkt->payload = data + UDP_HEADER_LEN;
	pkt->payload_len = udp_len - UDP_HEADER_LEN;
	return PACKET_OK;
}

/* The transport header, once the IP layer has found it. */
static enum packet_result parse_transport(uint8_t proto, const uint8_t *data,
					  size_t len, struct packet *pkt)
{
	pkt->proto = proto;
	if (proto == IPPROTO_TCP_NUMBER)
		return parse_tcp(data, len, pkt);
	if (proto == IPPROTO_UDP_NUMBER)
		return parse_udp(data, len, pkt);
	return PACKET_OTHER;
}

/*
 * IPv4: version/IHL, TOS, total length u16, id, flags/fragment offset,
 *   TTL, protocol, checksum, source, destination, options
 */
static enum packet_result parse_ipv4(const uint8_t *data, size_t len,
				     struct packet *pkt)
{
	size_t header_len = (size_t)(data[0] & 0x0f) * 4;
	size_t total_len;
	uint16_t fragment;

	if (len < 20)
		return PACKET_TRUNCATED;
	total_len = (size_t)data[2] << 8 | data[3];
	/* senders using segmentation offload are captured with 0 here */
	if (total_len == 0)
		total_len = len;
	if (header_len < 20 || total_len < header_len)
		return PACKET_MALFORMED;
	/* a frame longer than total_len carries link-layer padding */
	if (total_len > len)
		return PACKET_TRUNCATED;
	fragment = (uint16_t)(data[6] << 8 | data[7]);
	pkt->family = AF_INET;
	memcpy(pkt->src, data + 12, 4);
	memcpy(pkt->dst, data + 16, 4);
	if (data[9] != IPPROTO_TCP_NUMBER && data[9] != IPPROTO_UDP_NUMBER)
		return PACKET_OTHER;
	if (fragment & (IPV4_MORE_FRAGMENTS | IPV4_OFFSET_MASK))
		return PACKET_FRAGMENT;
	return parse_transport(data[9], data + header_len, total_len - header_len,
			       pkt);
}

/*
 * IPv6: version/class/flow u32, payload length u16, next header u8,
 *   hop limit u8, source[16], destination[16], extension headers
 *   (next header u8, length in 8-byte units not counting the first u8)
 */
static enum packet_result parse_ipv6(const uint8_t *data, size_t len,
				     struct packet *pkt)
{
	size_t payload_len, offset = IPV6_HEADER_LEN;
	uint8_t next;

	if (len < IPV6_HEADER_LEN)
		return PACKET_TRUNCATED;
	payload_len = (size_t)data[4] << 8 | data[5];
	if (payload_len > len - IPV6_HEADER_LEN)
		return PACKET_TRUNCATED;
	len = IPV6_HEADER_LEN + payload_len;
	next = data[6];
	pkt->family = AF_INET6;
	memcpy(pkt->src, data + 8, 16);
	memcpy(pkt->dst, data + 24, 16);
	while (next == IPV6_HOP_BY_HOP || next == IPV6_ROUTING ||
	       next == IPV6_DEST_OPTIONS || next == IPV6_FRAGMENT) {
		size_t ext_len;

		if (len - offset < 8)
			return PACKET_TRUNCATED;
		if (next == IPV6_FRAGMENT)
			return PACKET_FRAGMENT;
		ext_len = ((size_t)data[offset + 1] + 1) * 8;
		if (ext_len > len - offset)
			return PACKET_TRUNCATED;
		next = data[offset];
		offset += ext_len;
	}
	return parse_transport(next, data + offset, len - offset, pkt);
}

enum packet_result packet_parse_ip(const uint8_t *data, size_t len,
				   struct packet *pkt)
{
	memset(pkt, 0, sizeof(*pkt));
	if (len < 1)
		return PACKET_TRUNCATED;
	switch (data[0] >> 4) {
	case 4:
		return parse_ipv4(data, len, pkt);
	case 6:
		return parse_ipv6(data, len, pkt);
	default:
		return PACKET_MALFORMED;
	}
}

const char *packet_result_text(enum packet_result result)
{
	switch (result) {
	case PACKET_OK:
		return "ok";
	case PACKET_OTHER:
		return "neither TCP nor UDP";
	case PACKET_FRAGMENT:
		return "IP fragment";
	case PACKET_MALFORMED:
		return "malformed IP or TCP header";
	case PACKET_TRUNCATED:
		return "truncated packet";
	}
	return "?";
}

void packet_addr_format(uint8_t family, const uint8_t *addr, char *out,
			size_t size)
{
	if (!inet_ntop(family, addr, out, (socklen_t)size))
		snprintf(out, size, "?");
}

void host_key_of(uint8_t family, const uint8_t *addr, unsigned v6_prefix,
		 struct host_key *out)
{
	size_t len = family == AF_INET ? 4 : 16;
	unsigned bits = family == AF_INET ? 32 : v6_prefix;

	memset(out, 0, sizeof(*out));
	out->family = family;
	if (bits > 8 * len)
		bits = (unsigned)(8 * len);
	memcpy(out->addr, addr, bits / 8);
	if (bits % 8)
		out->addr[bits / 8] = addr[bits / 8] & (uint8_t)(0xff00 >> (bits % 8));
}

bool host_key_equal(const struct host_key *a, const struct host_key *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0;
}
