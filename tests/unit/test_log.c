/* Structured journal fields and the rate limit of repeating lines. */
#include "../../daemon/log.c"
#include "unit.h"

static void test_event_fields_only_when_set(void)
{
	struct log_event ev = { .id = LOG_ID_OPENED, .decision = "open",
				.client = "192.0.2.10", .server = "198.51.100.20",
				.iface = "EMSMDB", .port = 49160 };
	char fields[N_FIELDS][LOG_FIELD_MAX];
	size_t n = log_event_fields(&ev, fields, N_FIELDS);

	CHECK(n == 6);
	CHECK(strcmp(fields[0], "MESSAGE_ID=" LOG_ID_OPENED) == 0);
	CHECK(strcmp(fields[1], "RPCGATE_DECISION=open") == 0);
	/* no reason set: no RPCGATE_REASON field */
	CHECK(strcmp(fields[2], "RPCGATE_CLIENT=192.0.2.10") == 0);
	CHECK(strcmp(fields[3], "RPCGATE_SERVER=198.51.100.20") == 0);
	CHECK(strcmp(fields[4], "RPCGATE_IFACE=EMSMDB") == 0);
	CHECK(strcmp(fields[5], "RPCGATE_PORT=49160") == 0);
	/* a short array is not overrun */
	CHECK(log_event_fields(&ev, fields, 2) == 2);
	ev = (struct log_event){ .reason = "drift" };
	CHECK(log_event_fields(&ev, fields, N_FIELDS) == 1);
	CHECK(strcmp(fields[0], "RPCGATE_REASON=drift") == 0);
}

static void test_limit_burst_then_count(void)
{
	struct log_limit l = { 0 };
	uint64_t suppressed = 99;
	unsigned passed = 0;

	for (int i = 0; i < 100; i++)
		if (log_limit_pass(&l, 5000 + (uint64_t)i, 10, 1000, &suppressed))
			passed++;
	CHECK(passed == 10);
	CHECK(l.suppressed == 90);
	/* the first line of the next window carries the count */
	CHECK(log_limit_pass(&l, 6000, 10, 1000, &suppressed));
	CHECK(suppressed == 90);
	CHECK(l.suppressed == 0);
	CHECK(log_limit_pass(&l, 6001, 10, 1000, &suppressed));
	CHECK(suppressed == 0);
}

static void test_limit_flush_after_window(void)
{
	struct log_limit l = { 0 };
	uint64_t suppressed;

	for (int i = 0; i < 5; i++)
		log_limit_pass(&l, 1000, 1, 1000, &suppressed);
	CHECK(l.suppressed == 4);
	log_limit_flush(&l, 1500, 1000, "test lines");	/* window still open */
	CHECK(l.suppressed == 4);
	log_limit_flush(&l, 2000, 1000, "test lines");
	CHECK(l.suppressed == 0);
}

int main(void)
{
	log_init(true, 0);
	RUN(test_event_fields_only_when_set);
	RUN(test_limit_burst_then_count);
	RUN(test_limit_flush_after_window);
	UNIT_EXIT();
}
