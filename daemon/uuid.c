#include <stdio.h>
#include <string.h>

#include "uuid.h"

void uuid_read(struct wire *w, struct uuid *u)
{
	uint32_t time_low = wire_u32(w);
	uint16_t time_mid = wire_u16(w);
	uint16_t time_hi = wire_u16(w);
	const uint8_t *tail = wire_bytes(w, 8);

	if (!tail) {
		memset(u, 0, sizeof(*u));
		return;
	}
	u->b[0] = (uint8_t)(time_low >> 24);
	u->b[1] = (uint8_t)(time_low >> 16);
	u->b[2] = (uint8_t)(time_low >> 8);
	u->b[3] = (uint8_t)time_low;
	u->b[4] = (uint8_t)(time_mid >> 8);
	u->b[5] = (uint8_t)time_mid;
	u->b[6] = (uint8_t)(time_hi >> 8);
	u->b[7] = (uint8_t)time_hi;
	memcpy(&u->b[8], tail, 8);
}

void uuid_read_le(struct wire *w, struct uuid *u)
{
	bool big_endian = w->big_endian;

	w->big_endian = false;
	uuid_read(w, u);
	w->big_endian = big_endian;
}

bool uuid_equal(const struct uuid *a, const struct uuid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

void uuid_format(const struct uuid *u, char out[UUID_TEXT_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u->b[i] >> 4];
		out[o++] = hex[u->b[i] & 0x0f];
	}
	out[o] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool uuid_parse(const char *text, struct uuid *u)
{
	size_t t = 0;

	if (strlen(text) != UUID_TEXT_LEN)
		return false;
	for (size_t i = 0; i < 16; i++) {
		int hi, lo;

		if (t == 8 || t == 13 || t == 18 || t == 23) {
			if (text[t] != '-')
				return false;
			t++;
		}
		hi = hex_value(text[t]);
		lo = hex_value(text[t + 1]);
		if (hi < 0 || lo < 0)
			return false;
		u->b[i] = (uint8_t)(hi << 4 | lo);
		t += 2;
	}
	return true;
}

const char *uuid_map_find(const struct uuid_text_map *map, size_t n,
			  const struct uuid *iface)
{
	char text[UUID_TEXT_LEN + 1];

	uuid_format(iface, text);
	for (size_t i = 0; i < n; i++)
		if (strcmp(map[i].uuid, text) == 0)
			return map[i].value;
	return NULL;
}
