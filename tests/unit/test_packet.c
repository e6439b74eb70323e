/* IPv4/IPv6 and TCP headers: packet.c. */
#include "../../daemon/packet.c"
#include "build_pdu.h"
#include "unit.h"

#define PAYLOAD "EPM!"
#define PAYLOAD_LEN 4
#define IPV4_TOTAL_LEN_AT 2
#define IPV4_FRAGMENT_AT 6
#define IPV6_PAYLOAD_LEN_AT 4
#define IPV6_NEXT_AT 6
#define EXT_END 0xff	/* hop-by-hop is 0, so the lists end with this */

static const uint8_t client4[4] = { 192, 0, 2, 10 };
static const uint8_t server4[4] = { 198, 51, 100, 20 };

/*
 * A packet from client port 49700 to server port 135 carrying PAYLOAD:
 * IPv4 (with ip_opts words of options), or IPv6 with the extension
 * headers listed in ext (next-header values ending with EXT_END; each
 * gets 8 bytes).  Returns where the TCP header starts.
 */
static size_t put_packet(struct bld *b, int family, size_t ip_opts,
			 const uint8_t *ext)
{
	size_t tcp_at, n_ext = 0;

	bld_init(b, true, false);
	while (ext && ext[n_ext] != EXT_END)
		n_ext++;
	if (family == 4) {
		put_u8(b, (uint8_t)(0x45 + ip_opts));
		put_u8(b, 0);
		put_u16(b, 0);	/* total length, set below */
		put_u32(b, 0x12344000);	/* id, DF */
		put_bytes(b, (uint8_t[]){ 64, 6, 0, 0 }, 4);
		put_bytes(b, client4, 4);
		put_bytes(b, server4, 4);
		put_fill(b, 1, ip_opts * 4);	/* NOP options */
	} else {
		put_u32(b, 0x60000000);
		put_u16(b, 0);	/* payload length, set below */
		put_u8(b, n_ext ? ext[0] : 6);
		put_u8(b, 64);
		put_fill(b, 0x20, 16);
		put_fill(b, 0x21, 16);
		for (size_t i = 0; i < n_ext; i++) {
			put_u8(b, i + 1 < n_ext ? ext[i + 1] : 6);
			put_u8(b, 0);	/* 8 bytes */
			put_fill(b, 0, 6);
		}
	}
	tcp_at = b->len;
	put_u16(b, 49700);
	put_u16(b, 135);
	put_u32(b, 1000001);
	put_u32(b, 2000001);
	put_u8(b, 5 << 4);
	put_u8(b, TCP_ACK | 0x08);
	put_u16(b, 64240);
	put_u32(b, 0);	/* checksum, urgent pointer */
	put_bytes(b, PAYLOAD, PAYLOAD_LEN);
	if (family == 4)
		bld_patch(b, IPV4_TOTAL_LEN_AT, b->len, 2);
	else
		bld_patch(b, IPV6_PAYLOAD_LEN_AT, b->len - 40, 2);
	return tcp_at;
}

/* Parses the first len bytes from a buffer of exactly that size (ASan). */
static enum packet_result parse_exact(const struct bld *b, size_t len,
				      struct packet *pkt)
{
	uint8_t *copy = malloc(len + 1);
	enum packet_result r;

	memcpy(copy + 1, b->b, len);
	r = packet_parse_ip(copy + 1, len, pkt);
	free(copy);
	return r;
}

static void expect_payload(const struct bld *b, const struct packet *pkt)
{
	CHECK(pkt->sport == 49700 && pkt->dport == 135);
	CHECK(pkt->seq == 1000001 && pkt->ack == 2000001);
	CHECK(pkt->tcp_flags == (TCP_ACK | 0x08));
	CHECK(pkt->payload_len == PAYLOAD_LEN);
	CHECK(pkt->payload == b->b + b->len - PAYLOAD_LEN);
}

static void test_ipv4_tcp_parses(void)
{
	struct bld b;
	struct packet pkt;

	for (size_t opts = 0; opts <= 10; opts += 10) {
		put_packet(&b, 4, opts, NULL);
		CHECK(packet_parse_ip(b.b, b.len, &pkt) == PACKET_OK);
		CHECK(pkt.family == AF_INET);
		CHECK(memcmp(pkt.src, client4, 4) == 0);
		CHECK(memcmp(pkt.dst, server4, 4) == 0);
		expect_payload(&b, &pkt);
	}
	/* link-layer padding after total_length is not payload */
	put_fill(&b, 0, 6);
	CHECK(packet_parse_ip(b.b, b.len, &pkt) == PACKET_OK);
	CHECK(pkt.payload_len == PAYLOAD_LEN);
}

static void test_ipv6_tcp_with_extension_headers_parses(void)
{
	static const uint8_t chain[] = { IPV6_HOP_BY_HOP, IPV6_ROUTING,
					 IPV6_DEST_OPTIONS, EXT_END };
	struct bld b;
	struct packet pkt;

	for (size_t skip = 0; skip < 4; skip += 3) {
		put_packet(&b, 6, 0, chain + skip);
		CHECK(packet_parse_ip(b.b, b.len, &pkt) == PACKET_OK);
		CHECK(pkt.family == AF_INET6);
		CHECK(pkt.src[0] == 0x20 && pkt.dst[15] == 0x21);
		expect_payload(&b, &pkt);
	}
}

/* Every proper prefix of the packet is truncated, not parsed. */
static void expect_truncated_prefixes(const struct bld *b)
{
	for (size_t len = 0; len < b->len; len++) {
		struct packet pkt;
		enum packet_result r = parse_exact(b, len, &pkt);

		if (r != PACKET_TRUNCATED)
			printf("#   %zu of %zu bytes: %s\n", len, b->len,
			       packet_result_text(r));
		CHECK(r == PACKET_TRUNCATED);
	}
}

static void test_ipv4_truncated_every_length(void)
{
	struct bld b;

	put_packet(&b, 4, 3, NULL);
	expect_truncated_prefixes(&b);
}

static void test_ipv6_truncated_every_length(void)
{
	static const uint8_t chain[] = { IPV6_HOP_BY_HOP, IPV6_DEST_OPTIONS,
					 EXT_END };
	struct bld b;

	put_packet(&b, 6, 0, chain);
	expect_truncated_prefixes(&b);
}

/* IP says the packet ends inside the TCP header. */
static void test_tcp_header_truncated_every_length(void)
{
	for (int family = 4; family <= 6; family += 2) {
		for (size_t tcp_len = 0; tcp_len < TCP_MIN_HEADER; tcp_len++) {
			struct bld b;
			struct packet pkt;
			size_t at = put_packet(&b, family, 0, NULL);

			b.len = at + tcp_len;
			if (family == 4)
				bld_patch(&b, IPV4_TOTAL_LEN_AT, b.len, 2);
			else
				bld_patch(&b, IPV6_PAYLOAD_LEN_AT, tcp_len, 2);
			CHECK(parse_exact(&b, b.len, &pkt) == PACKET_TRUNCATED);
		}
	}
}

static void test_ipv4_ihl_below_5(void)
{
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		struct bld b;
		struct packet pkt;

		put_packet(&b, 4, 0, NULL);
		b.b[0] = (uint8_t)(0x40 | ihl);
		CHECK(parse_exact(&b, b.len, &pkt) == PACKET_MALFORMED);
	}
}

static void test_ipv4_total_length_below_header(void)
{
	struct bld b;
	struct packet pkt;

	put_packet(&b, 4, 2, NULL);	/* 28-byte header */
	bld_patch(&b, IPV4_TOTAL_LEN_AT, 24, 2);
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_MALFORMED);
}

static void test_tcp_data_offset_below_5(void)
{
	for (int family = 4; family <= 6; family += 2)
		for (uint8_t off = 0; off < 5; off++) {
			struct bld b;
			struct packet pkt;
			size_t at = put_packet(&b, family, 0, NULL);

			b.b[at + 12] = (uint8_t)(off << 4);
			CHECK(parse_exact(&b, b.len, &pkt) == PACKET_MALFORMED);
		}
}

static void test_tcp_data_offset_past_packet(void)
{
	for (int family = 4; family <= 6; family += 2) {
		struct bld b;
		struct packet pkt;
		size_t at = put_packet(&b, family, 0, NULL);

		/* 24 bytes of TCP: 6 words fit, 7 do not */
		b.b[at + 12] = 6 << 4;
		CHECK(parse_exact(&b, b.len, &pkt) == PACKET_OK);
		CHECK(pkt.payload_len == 0);
		for (uint8_t off = 7; off < 16; off++) {
			b.b[at + 12] = (uint8_t)(off << 4);
			CHECK(parse_exact(&b, b.len, &pkt) == PACKET_TRUNCATED);
		}
	}
}

static void test_ipv6_extension_chain_past_end(void)
{
	static const uint8_t chain[] = { IPV6_HOP_BY_HOP, IPV6_ROUTING,
					 EXT_END };
	struct bld b;
	struct packet pkt;

	/* a header claiming more 8-byte units than remain */
	put_packet(&b, 6, 0, chain);
	b.b[40 + 8 + 1] = 4;	/* routing: 40 bytes, 32 remain */
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_TRUNCATED);
	b.b[40 + 8 + 1] = 255;
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_TRUNCATED);
	/* a chain that still promises a header where the packet ends */
	put_packet(&b, 6, 0, chain);
	b.len = 40 + 16;
	b.b[40 + 8] = IPV6_DEST_OPTIONS;
	bld_patch(&b, IPV6_PAYLOAD_LEN_AT, 16, 2);
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_TRUNCATED);
	/* and with fewer than 8 bytes of it */
	b.len += 7;
	bld_patch(&b, IPV6_PAYLOAD_LEN_AT, 23, 2);
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_TRUNCATED);
}

static void test_fragments_not_parsed(void)
{
	static const uint16_t frag[] = { 0x2000 /* MF, first */, 0x0001,
					 0x00b9, 0x1fff, 0x4001 /* DF + offset */ };
	static const uint8_t chain[] = { IPV6_HOP_BY_HOP, IPV6_FRAGMENT,
					 EXT_END };
	struct bld b;
	struct packet pkt;

	for (size_t i = 0; i < sizeof(frag) / sizeof(frag[0]); i++) {
		put_packet(&b, 4, 0, NULL);
		bld_patch(&b, IPV4_FRAGMENT_AT, frag[i], 2);
		CHECK(parse_exact(&b, b.len, &pkt) == PACKET_FRAGMENT);
	}
	put_packet(&b, 6, 0, chain);
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_FRAGMENT);
	put_packet(&b, 6, 0, chain + 1);
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_FRAGMENT);
}

static void test_neither_tcp_nor_udp_and_bad_version(void)
{
	struct bld b;
	struct packet pkt;

	put_packet(&b, 4, 0, NULL);
	b.b[9] = 1;	/* ICMP */
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_OTHER);
	put_packet(&b, 6, 0, NULL);
	b.b[IPV6_NEXT_AT] = 58;	/* ICMPv6 */
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_OTHER);
	b.b[0] = 0x50;
	CHECK(parse_exact(&b, b.len, &pkt) == PACKET_MALFORMED);
}

static void test_host_key_prefixes(void)
{
	uint8_t a[16], b[16];
	struct host_key ka, kb;

	inet_pton(AF_INET6, "2001:db8:1::10", a);
	inet_pton(AF_INET6, "2001:db8:1:0:ffff::99", b);
	host_key_of(AF_INET6, a, 64, &ka);
	host_key_of(AF_INET6, b, 64, &kb);
	CHECK(host_key_equal(&ka, &kb));
	host_key_of(AF_INET6, b, 65, &kb);
	CHECK(!host_key_equal(&ka, &kb));	/* bit 65 differs: 0xffff */
	host_key_of(AF_INET6, a, 128, &ka);
	host_key_of(AF_INET6, b, 128, &kb);
	CHECK(!host_key_equal(&ka, &kb));
	/* an odd prefix keeps only its own bits of the last byte */
	host_key_of(AF_INET6, a, 60, &ka);
	host_key_of(AF_INET6, b, 60, &kb);
	CHECK(host_key_equal(&ka, &kb));
	/* IPv4: always the whole address, whatever the IPv6 prefix */
	inet_pton(AF_INET, "192.0.2.10", a);
	inet_pton(AF_INET, "192.0.2.11", b);
	host_key_of(AF_INET, a, 64, &ka);
	host_key_of(AF_INET, b, 64, &kb);
	CHECK(!host_key_equal(&ka, &kb));
	CHECK(ka.family == AF_INET && ka.addr[3] == 10 && ka.addr[4] == 0);
}

int main(void)
{
	RUN(test_ipv4_tcp_parses);
	RUN(test_ipv6_tcp_with_extension_headers_parses);
	RUN(test_ipv4_truncated_every_length);
	RUN(test_ipv6_truncated_every_length);
	RUN(test_tcp_header_truncated_every_length);
	RUN(test_ipv4_ihl_below_5);
	RUN(test_ipv4_total_length_below_header);
	RUN(test_tcp_data_offset_below_5);
	RUN(test_tcp_data_offset_past_packet);
	RUN(test_ipv6_extension_chain_past_end);
	RUN(test_fragments_not_parsed);
	RUN(test_neither_tcp_nor_udp_and_bad_version);
	RUN(test_host_key_prefixes);
	UNIT_EXIT();
}
