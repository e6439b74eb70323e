/*
 * libFuzzer target for the state file a restarted rpcgated reads
 * (state.c).  Arbitrary bytes never crash the parser; a file it refuses
 * hands on no record; and the encoding is canonical: every file it
 * accepts is, byte for byte, what writing its header and records again
 * gives.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reread {
	const uint8_t *next;	/* where the record handed on was read */
	size_t n;
};

static void write_back(void *arg, const struct state_record *r)
{
	struct reread *rr = arg;
	uint8_t again[STATE_RECORD_SIZE];

	state_write_record(again, r);
	if (memcmp(again, rr->next, sizeof(again)) != 0)
		abort();
	rr->next += STATE_RECORD_SIZE;
	rr->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reread rr = { data + STATE_HEADER_SIZE, 0 };
	uint8_t header[STATE_HEADER_SIZE];
	uint64_t written = 0;
	char err[128];
	long n = state_parse(data, size, &written, write_back, &rr, err,
			     sizeof(err));

	if (n < 0) {
		if (rr.n != 0 || err[0] == '\0')
			abort();
		return 0;
	}
	state_write_header(header, (uint32_t)n, written);
	if ((size_t)n != rr.n || memcmp(header, data, sizeof(header)) != 0)
		abort();
	return 0;
}
