/*
 * The pinhole state file: what the policy decided each open pinhole on
 * (struct policy_facts), whether it is published (DNAT) and how long it
 * has left, so that a restarted rpcgated can decide again on the same
 * facts and keep what the current policy still allows.  Bytes in,
 * records out, and back; no I/O (service.c writes the file atomically
 * and reads it at start).
 *
 * Format, version 1, every integer big-endian:
 *   header  "RPCGSTAT" (8) | version u16 | 0 u16 | count u32 |
 *           written_ms u64 (CLOCK_BOOTTIME milliseconds)
 *   count records of STATE_RECORD_SIZE bytes:
 *           family u8 (4 or 6) | client 16 | epm_server 16 |
 *           op u8 (2 ept_lookup, 3 ept_map) |
 *           has_asked_iface u8 | asked_iface 16 | iface 16 | proto u8 (0 TCP, 1 UDP) |
 *           port u16 | has_addr u8 | addr 4 | remaining_ms u32 |
 *           published u8 | public_addr 16
 * IPv4 addresses take the first 4 bytes of 16, the rest zero; a field
 * that is absent (no asked interface, no tower address, not published)
 * is all zero.
 */
#ifndef RPCGATE_STATE_H
#define RPCGATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define STATE_VERSION 1
#define STATE_HEADER_SIZE 24
#define STATE_RECORD_SIZE 96
/* no pinhole lives longer than pinhole_timeout's maximum, a day */
#define STATE_MAX_REMAINING_MS 86400000u
/* as many records as max_pinholes allows at most */
#define STATE_MAX_RECORDS 1048576u

struct state_record {
	struct policy_facts facts;
	uint32_t remaining_ms;
	bool published;
	uint8_t public_addr[16];
};

void state_write_header(uint8_t out[STATE_HEADER_SIZE], uint32_t count,
			uint64_t written_ms);
void state_write_record(uint8_t out[STATE_RECORD_SIZE],
			const struct state_record *r);

/*
 * Checks the whole file (magic, version, count against the length, every
 * field of every record) before handing any record to fn: a file that
 * fails anywhere yields nothing; fn NULL checks only.  Returns the number
 * of records, or -1 with the first problem in err.
 */
typedef void (*state_record_fn)(void *arg, const struct state_record *r);
long state_parse(const uint8_t *data, size_t len, uint64_t *written_ms,
		 state_record_fn fn, void *arg, char *err, size_t errlen);

#endif
