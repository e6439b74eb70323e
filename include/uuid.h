/*
 * DCE UUIDs, kept in the byte order of their text form so that
 * comparison is memcmp and formatting needs no drep.
 */
#ifndef RPCGATE_UUID_H
#define RPCGATE_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define UUID_TEXT_LEN 36

struct uuid {
	uint8_t b[16];
};

/* time_low, time_mid and time_hi follow the reader's byte order. */
void uuid_read(struct wire *w, struct uuid *u);
/* Tower floors carry UUIDs little-endian whatever the drep. */
void uuid_read_le(struct wire *w, struct uuid *u);

bool uuid_equal(const struct uuid *a, const struct uuid *b);
void uuid_format(const struct uuid *u, char out[UUID_TEXT_LEN + 1]);
/* Accepts the 8-4-4-4-12 form, either case; returns false otherwise. */
bool uuid_parse(const char *text, struct uuid *u);

/* A table of UUIDs in text form with a value each, for names and hints. */
struct uuid_text_map {
	const char *uuid;
	const char *value;
};

/* The value of iface in map, or NULL. */
const char *uuid_map_find(const struct uuid_text_map *map, size_t n,
			  const struct uuid *iface);

#endif
