/*
 * Bounded reader over untrusted bytes.
 *
 * Every read checks the remaining length first; a short read sets
 * `failed`, returns zero and leaves the cursor at the end, so a parser
 * can read a whole structure and test `failed` once instead of after
 * each field.  Integers honour the DCE data representation (drep) given
 * at init; the _le and _be variants are for fields with a fixed byte order
 * (tower floors).
 */
#ifndef RPCGATE_WIRE_H
#define RPCGATE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	bool big_endian;
	bool failed;
};

static inline void wire_init(struct wire *w, const uint8_t *buf, size_t len,
			     bool big_endian)
{
	/* an empty buffer may come as NULL; pointer arithmetic on NULL is UB */
	static const uint8_t nothing;

	w->buf = buf ? buf : &nothing;
	w->len = buf ? len : 0;
	w->pos = 0;
	w->big_endian = big_endian;
	w->failed = false;
}

static inline size_t wire_left(const struct wire *w)
{
	return w->len - w->pos;
}

static inline void wire_fail(struct wire *w)
{
	w->failed = true;
	w->pos = w->len;
}

/* Returns a pointer to the next n bytes and steps over them, or NULL. */
static inline const uint8_t *wire_bytes(struct wire *w, size_t n)
{
	const uint8_t *p;

	if (n > wire_left(w)) {
		wire_fail(w);
		return NULL;
	}
	p = w->buf + w->pos;
	w->pos += n;
	return p;
}

static inline void wire_skip(struct wire *w, size_t n)
{
	(void)wire_bytes(w, n);
}

/* NDR aligns relative to the start of the stub, which is where buf starts. */
static inline void wire_align(struct wire *w, size_t alignment)
{
	size_t pad = (alignment - (w->pos & (alignment - 1))) & (alignment - 1);

	wire_skip(w, pad);
}

static inline uint8_t wire_u8(struct wire *w)
{
	const uint8_t *p = wire_bytes(w, 1);

	return p ? p[0] : 0;
}

static inline uint16_t wire_u16le(struct wire *w)
{
	const uint8_t *p = wire_bytes(w, 2);

	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

static inline uint16_t wire_u16be(struct wire *w)
{
	const uint8_t *p = wire_bytes(w, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static inline uint16_t wire_u16(struct wire *w)
{
	return w->big_endian ? wire_u16be(w) : wire_u16le(w);
}

static inline uint32_t wire_u32(struct wire *w)
{
	const uint8_t *p = wire_bytes(w, 4);

	if (!p)
		return 0;
	if (w->big_endian)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t wire_u64(struct wire *w)
{
	uint64_t first = wire_u32(w), second = wire_u32(w);

	return w->big_endian ? first << 32 | second : second << 32 | first;
}

#endif
