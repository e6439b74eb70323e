/*
 * JSON for the control protocol: a strict, bounded reader of one object
 * whose top-level members are returned (scalars decoded, nested values
 * validated and skipped), and a writer into a growable buffer.  RFC 8259
 * syntax only: no comments, no trailing commas, no duplicate top-level member names,
 * strings valid UTF-8 without NUL.
 */
#ifndef RPCGATE_JSON_H
#define RPCGATE_JSON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting below the top-level object a document may have. */
#define JSON_MAX_DEPTH 16
#define JSON_NAME_MAX 32	/* bytes of a member name, NUL included */

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member {
	char name[JSON_NAME_MAX];
	enum json_type type;
	bool boolean;
	bool is_integer;	/* a number that fits int64_t without loss */
	int64_t integer;
	const char *string;	/* decoded, NUL-terminated, in the caller's store */
	size_t string_len;
};

/*
 * Parses text[0..len) as one JSON object, surrounding whitespace allowed.
 * Decoded strings go to store (store_size bytes: len + 1 always suffices).
 * Returns the number of members (at most max), or -1 with a reason in
 * *error.
 */
int json_parse_object(const char *text, size_t len, struct json_member *m,
		      size_t max, char *store, size_t store_size,
		      const char **error);

/* The member called name, or NULL. */
const struct json_member *json_find(const struct json_member *m, size_t n,
				    const char *name);

/* A growing text; once an allocation fails it stays failed and empty. */
struct json_buf {
	char *data;
	size_t len, cap;
	bool failed;
};

void json_buf_free(struct json_buf *b);
void json_buf_append(struct json_buf *b, const char *s, size_t n);
void json_buf_printf(struct json_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void json_buf_vprintf(struct json_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* s as a JSON string, quoted; bytes below 0x20 escaped. */
void json_buf_string(struct json_buf *b, const char *s, size_t n);

/*
 * A writer that places the commas: values inside an object take a name,
 * values inside an array take NULL.
 */
struct json_writer {
	struct json_buf buf;
	int depth;
	bool first[JSON_MAX_DEPTH + 1];
};

void json_open(struct json_writer *w, const char *name, char bracket);
void json_close(struct json_writer *w, char bracket);
void json_str(struct json_writer *w, const char *name, const char *value);
void json_u64(struct json_writer *w, const char *name, uint64_t value);
void json_bool(struct json_writer *w, const char *name, bool value);
/* A value that is JSON already (the writer's caller made it). */
void json_raw(struct json_writer *w, const char *name, const char *json);

#endif
