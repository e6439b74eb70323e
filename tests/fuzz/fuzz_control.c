/*
 * libFuzzer target for what the control socket reads: json.c's reader and
 * control.c's request parser, on arbitrary bytes.  A string the reader
 * accepts must come back the same after the writer quotes it and the
 * reader reads it again.
 */
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	struct json_member m[CONTROL_MAX_MEMBERS];
	char err[160], *store;
	const char *why;
	int n;

	control_parse_request((const char *)data, size, &req, err, sizeof(err));
	store = malloc(size + 1);
	if (!store)
		return 0;
	n = json_parse_object((const char *)data, size, m, CONTROL_MAX_MEMBERS,
			      store, size + 1, &why);
	for (int i = 0; i < n; i++) {
		struct json_buf b = { 0 };
		struct json_member again[1];
		char again_store[64 + 1];
		char *obj_store;

		if (m[i].type != JSON_STRING)
			continue;
		json_buf_append(&b, "{\"s\":", 5);
		json_buf_string(&b, m[i].string, m[i].string_len);
		json_buf_append(&b, "}", 1);
		if (b.failed)
			continue;
		obj_store = b.len < sizeof(again_store) ? again_store : malloc(b.len + 1);
		if (obj_store &&
		    (json_parse_object(b.data, b.len, again, 1, obj_store,
				       b.len + 1, &why) != 1 ||
		     again[0].string_len != m[i].string_len ||
		     memcmp(again[0].string, m[i].string, m[i].string_len) != 0))
			abort();
		if (obj_store != again_store)
			free(obj_store);
		json_buf_free(&b);
	}
	free(store);
	return 0;
}
