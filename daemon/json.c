#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ---- the reader ---------------------------------------------------------- */

struct reader {
	const char *p, *end;
	char *store;		/* where decoded strings go */
	int depth;
	const char *error;
};

static bool fail(struct reader *r, const char *why)
{
	if (!r->error)
		r->error = why;
	return false;
}

static void skip_space(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return fail(r, "not a JSON value");
	r->p += n;
	return true;
}

static bool hex4(struct reader *r, uint32_t *out)
{
	char digits[5];

	if (r->end - r->p < 4)
		return fail(r, "truncated \\u escape");
	memcpy(digits, r->p, 4);
	digits[4] = '\0';
	for (int i = 0; i < 4; i++)
		if (!isxdigit((unsigned char)digits[i]))
			return fail(r, "bad \\u escape");
	*out = (uint32_t)strtoul(digits, NULL, 16);
	r->p += 4;
	return true;
}

/* Writes code point c as UTF-8 at *w (when decoding); c is valid. */
static void put_utf8(char **w, uint32_t c)
{
	char *o = *w;

	if (!o)
		return;
	if (c < 0x80) {
		*o++ = (char)c;
	} else if (c < 0x800) {
		*o++ = (char)(0xc0 | c >> 6);
		*o++ = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*o++ = (char)(0xe0 | c >> 12);
		*o++ = (char)(0x80 | (c >> 6 & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	} else {
		*o++ = (char)(0xf0 | c >> 18);
		*o++ = (char)(0x80 | (c >> 12 & 0x3f));
		*o++ = (char)(0x80 | (c >> 6 & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	}
	*w = o;
}

/* One raw UTF-8 sequence starting at r->p (a byte >= 0x80), validated. */
static bool utf8_sequence(struct reader *r, uint32_t *out)
{
	const unsigned char *s = (const unsigned char *)r->p;
	size_t avail = (size_t)(r->end - r->p), n;
	uint32_t c, min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return fail(r, "invalid UTF-8");
	if (avail < n)
		return fail(r, "invalid UTF-8");
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return fail(r, "invalid UTF-8");
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return fail(r, "invalid UTF-8");
	r->p += n;
	*out = c;
	return true;
}

static bool escape(struct reader *r, uint32_t *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;

	if (r->p >= r->end)
		return fail(r, "unterminated string");
	if (*r->p != 'u') {
		hit = memchr(from, *r->p, sizeof(from) - 1);
		if (!hit)
			return fail(r, "bad escape in string");
		r->p++;
		*out = (unsigned char)to[hit - from];
		return true;
	}
	r->p++;
	if (!hex4(r, out))
		return false;
	if (*out >= 0xdc00 && *out <= 0xdfff)
		return fail(r, "lone surrogate in \\u escape");
	if (*out >= 0xd800 && *out <= 0xdbff) {
		uint32_t low;

		if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
			return fail(r, "lone surrogate in \\u escape");
		r->p += 2;
		if (!hex4(r, &low))
			return false;
		if (low < 0xdc00 || low > 0xdfff)
			return fail(r, "lone surrogate in \\u escape");
		*out = 0x10000 + ((*out - 0xd800) << 10) + (low - 0xdc00);
	}
	if (*out == 0)
		return fail(r, "NUL in string");
	return true;
}

/*
 * A string at r->p (the opening quote).  With out, it is decoded into the
 * store: never longer than its text, which also has two quotes, so the
 * store the caller sized by the input always has room for it and its NUL.
 */
static bool string(struct reader *r, const char **out, size_t *out_len)
{
	char *w = out ? r->store : NULL, *start = w;

	r->p++;
	for (;;) {
		uint32_t c;

		if (r->p >= r->end)
			return fail(r, "unterminated string");
		c = (unsigned char)*r->p;
		if (c == '"') {
			r->p++;
			break;
		}
		if (c < 0x20)
			return fail(r, "control character in string");
		if (c == '\\') {
			r->p++;
			if (!escape(r, &c))
				return false;
		} else if (c >= 0x80) {
			if (!utf8_sequence(r, &c))
				return false;
		} else {
			r->p++;
		}
		put_utf8(&w, c);
	}
	if (out) {
		*w++ = '\0';
		*out = start;
		*out_len = (size_t)(w - start) - 1;
		r->store = w;
	}
	return true;
}

static bool digits(struct reader *r)
{
	const char *start = r->p;

	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return r->p > start || fail(r, "bad number");
}

static bool number(struct reader *r, struct json_member *m)
{
	const char *start = r->p;
	bool negative = false, integer = true;
	uint64_t magnitude = 0, limit;

	if (r->p < r->end && *r->p == '-') {
		negative = true;
		r->p++;
	}
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (!digits(r))
		return false;
	for (const char *d = start + negative; d < r->p; d++) {
		limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		if (magnitude > (limit - (uint64_t)(*d - '0')) / 10)
			integer = false;
		else
			magnitude = magnitude * 10 + (uint64_t)(*d - '0');
	}
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		integer = false;
		if (!digits(r))
			return false;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		integer = false;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!digits(r))
			return false;
	}
	if (m) {
		m->is_integer = integer;
		m->integer = !integer ? 0 :
			     negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
	}
	return true;
}

static bool value(struct reader *r, struct json_member *m);

/* An object or array at r->p, validated and not kept. */
static bool container(struct reader *r)
{
	char close = *r->p == '{' ? '}' : ']';

	if (++r->depth > JSON_MAX_DEPTH)
		return fail(r, "nested too deeply");
	r->p++;
	skip_space(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		r->depth--;
		return true;
	}
	for (;;) {
		if (close == '}') {
			if (r->p >= r->end || *r->p != '"')
				return fail(r, "expected a member name");
			if (!string(r, NULL, NULL))
				return false;
			skip_space(r);
			if (r->p >= r->end || *r->p != ':')
				return fail(r, "expected ':'");
			r->p++;
			skip_space(r);
		}
		if (!value(r, NULL))
			return false;
		skip_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			skip_space(r);
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			r->depth--;
			return true;
		}
		return fail(r, close == '}' ? "expected ',' or '}'" :
					      "expected ',' or ']'");
	}
}

/* A value at r->p; described in m when m is given. */
static bool value(struct reader *r, struct json_member *m)
{
	struct json_member ignored;

	if (!m)
		m = &ignored;
	if (r->p >= r->end)
		return fail(r, "expected a value");
	switch (*r->p) {
	case '{':
		m->type = JSON_OBJECT;
		return container(r);
	case '[':
		m->type = JSON_ARRAY;
		return container(r);
	case '"':
		m->type = JSON_STRING;
		return string(r, m == &ignored ? NULL : &m->string, &m->string_len);
	case 't':
		m->type = JSON_BOOL;
		m->boolean = true;
		return literal(r, "true");
	case 'f':
		m->type = JSON_BOOL;
		m->boolean = false;
		return literal(r, "false");
	case 'n':
		m->type = JSON_NULL;
		return literal(r, "null");
	default:
		m->type = JSON_NUMBER;
		if (*r->p != '-' && (*r->p < '0' || *r->p > '9'))
			return fail(r, "not a JSON value");
		return number(r, m);
	}
}

int json_parse_object(const char *text, size_t len, struct json_member *m,
		      size_t max, char *store, size_t store_size,
		      const char **error)
{
	struct reader r = { text, text + len, store, 0, NULL };
	size_t n = 0;

	*error = NULL;
	if (store_size < len + 1) {
		*error = "string store too small";
		return -1;
	}
	skip_space(&r);
	if (r.p >= r.end || *r.p != '{') {
		*error = "not a JSON object";
		return -1;
	}
	r.p++;
	skip_space(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
		goto end;
	}
	for (;;) {
		const char *name;
		size_t name_len;

		if (r.p >= r.end || *r.p != '"') {
			fail(&r, "expected a member name");
			break;
		}
		if (!string(&r, &name, &name_len))
			break;
		if (name_len >= JSON_NAME_MAX || strlen(name) != name_len) {
			fail(&r, "member name too long");
			break;
		}
		if (json_find(m, n, name)) {
			fail(&r, "duplicate member name");
			break;
		}
		if (n == max) {
			fail(&r, "too many members");
			break;
		}
		memset(&m[n], 0, sizeof(m[n]));
		memcpy(m[n].name, name, name_len + 1);
		skip_space(&r);
		if (r.p >= r.end || *r.p != ':') {
			fail(&r, "expected ':'");
			break;
		}
		r.p++;
		skip_space(&r);
		if (!value(&r, &m[n]))
			break;
		n++;
		skip_space(&r);
		if (r.p < r.end && *r.p == ',') {
			r.p++;
			skip_space(&r);
			continue;
		}
		if (r.p < r.end && *r.p == '}') {
			r.p++;
			goto end;
		}
		fail(&r, "expected ',' or '}'");
		break;
	}
	*error = r.error;
	return -1;
end:
	skip_space(&r);
	if (r.p != r.end) {
		*error = "text after the object";
		return -1;
	}
	return (int)n;
}

const struct json_member *json_find(const struct json_member *m, size_t n,
				    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}

/* ---- the writer ---------------------------------------------------------- */

void json_buf_free(struct json_buf *b)
{
	free(b->data);
	*b = (struct json_buf){ 0 };
}

void json_buf_append(struct json_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 1024;
		char *grown;

		while (cap - b->len <= n)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (!grown) {
			json_buf_free(b);
			b->failed = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void json_buf_vprintf(struct json_buf *b, const char *fmt, va_list ap)
{
	char small[256], *big;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(small)) {
		json_buf_append(b, small, (size_t)n);
	} else if (n >= 0 && (big = malloc((size_t)n + 1)) != NULL) {
		vsnprintf(big, (size_t)n + 1, fmt, again);
		json_buf_append(b, big, (size_t)n);
		free(big);
	} else if (n >= 0) {
		json_buf_free(b);
		b->failed = true;
	}
	va_end(again);
}

void json_buf_printf(struct json_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void json_buf_string(struct json_buf *b, const char *s, size_t n)
{
	size_t plain = 0;

	json_buf_append(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		json_buf_append(b, s + plain, i - plain);
		plain = i + 1;
		if (c == '"' || c == '\\')
			json_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			json_buf_append(b, "\\n", 2);
		else if (c == '\t')
			json_buf_append(b, "\\t", 2);
		else
			json_buf_printf(b, "\\u%04x", c);
	}
	json_buf_append(b, s + plain, n - plain);
	json_buf_append(b, "\"", 1);
}

static void before_value(struct json_writer *w, const char *name)
{
	if (w->depth > 0) {
		if (!w->first[w->depth])
			json_buf_append(&w->buf, ",", 1);
		w->first[w->depth] = false;
	}
	if (name) {
		json_buf_string(&w->buf, name, strlen(name));
		json_buf_append(&w->buf, ":", 1);
	}
}

void json_open(struct json_writer *w, const char *name, char bracket)
{
	before_value(w, name);
	json_buf_append(&w->buf, &bracket, 1);
	if (w->depth == JSON_MAX_DEPTH) {
		json_buf_free(&w->buf);
		w->buf.failed = true;
		return;
	}
	w->first[++w->depth] = true;
}

void json_close(struct json_writer *w, char bracket)
{
	json_buf_append(&w->buf, &bracket, 1);
	if (w->depth > 0)
		w->depth--;
}

void json_str(struct json_writer *w, const char *name, const char *value)
{
	before_value(w, name);
	json_buf_string(&w->buf, value, strlen(value));
}

void json_u64(struct json_writer *w, const char *name, uint64_t value)
{
	before_value(w, name);
	json_buf_printf(&w->buf, "%llu", (unsigned long long)value);
}

void json_bool(struct json_writer *w, const char *name, bool value)
{
	before_value(w, name);
	json_buf_printf(&w->buf, "%s", value ? "true" : "false");
}

void json_raw(struct json_writer *w, const char *name, const char *json)
{
	before_value(w, name);
	json_buf_append(&w->buf, json, strlen(json));
}
