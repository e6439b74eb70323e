/*
 * libFuzzer target for the capture reader behind `rpcgated -r`:
 * replay_file() on the input as a file (a memfd, named by its /proc path),
 * so gzip detection (zlib), libpcap's pcap and pcapng readers, replay.c's
 * link layers (Ethernet with VLAN tags, Linux cooked v1 and v2, raw IP,
 * BSD loopback) and then the whole decoder, with the decisions of a fixed
 * policy printed for every endpoint.
 *
 * The first input byte chooses: bit 0 set, a policy (the one below) and
 * its decisions; bit 1 set, the port-pinning report (--report; bit 2:
 * as JSON) instead of the lines; neither, endpoints only.  The rest is
 * the file.  What must
 * hold: replay_file() returns one of its documented statuses and never
 * exits the process (the log functions are the harness's: a fatal one
 * aborts, so "out of memory" would be a finding; the others format their
 * message and drop it, so that the fuzzer's output is not flooded).
 * Seeds: tests/fuzz/corpus-replay/ (tests/fuzz/make_seeds.py: the vectors
 * as pcap, pcapng, gzip and every link layer replay.c reads).
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "flow.h"
#include "log.h"
#include "replay.h"
#include "report.h"

/* small enough that a fuzzed capture fills it */
#define REPORT_ENTRIES 16

static const char policy_text[] =
	"servers = [ \"198.51.100.0/24\", \"2001:db8:2::/48\" ];\n"
	"interfaces = [ \"exchange\" ];\n"
	"allow_lookup = true;\n"
	"max_pinholes_per_client = 4;\n";

static volatile uint64_t fuzz_sink;
static int fd = -1;
static char path[64];
static FILE *out;
static struct rpcgate_config policy;

/* ---- log.h, as the harness wants it */
static void drop(const char *fmt, va_list ap)
{
	char line[1024];

	fuzz_sink += (uint64_t)vsnprintf(line, sizeof(line), fmt, ap);
}

#define DROP()                       \
	do {                         \
		va_list ap;          \
		va_start(ap, fmt);   \
		drop(fmt, ap);       \
		va_end(ap);          \
	} while (0)

void log_init(bool to_stderr, int verbose)
{
	(void)to_stderr;
	(void)verbose;
}

void log_set_verbose(int verbose)
{
	(void)verbose;
}

void log_warn(const char *fmt, ...) { DROP(); }
void log_warnx(const char *fmt, ...) { DROP(); }
void log_info(const char *fmt, ...) { DROP(); }
void log_debug(const char *fmt, ...) { DROP(); }

_Noreturn void fatal(const char *fmt, ...)
{
	DROP();
	abort();
}

_Noreturn void fatalx(const char *fmt, ...)
{
	DROP();
	abort();
}

/* ---- the target */
static void write_file(const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0) != 0 ||
	    (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("capture", 0);
	out = fopen("/dev/null", "w");
	if (fd < 0 || !out)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	write_file((const uint8_t *)policy_text, strlen(policy_text));
	config_defaults(&policy);
	if (config_load(path, &policy, stderr) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow_config cfg;
	struct report report;
	bool with_report;
	int rc;

	if (size < 1)
		return 0;
	with_report = data[0] & 2;
	write_file(data + 1, size - 1);
	flow_config_defaults(&cfg);
	cfg.max_flows = 8;
	cfg.max_stream_bytes = 3000;
	cfg.max_call_bytes = 1000;
	if (with_report && !report_init(&report, REPORT_ENTRIES))
		abort();
	rc = replay_file(path, &cfg, data[0] & 1 ? &policy : NULL,
			 with_report ? &report : NULL, out);
	if (rc != REPLAY_OK && rc != REPLAY_DATA_ERRORS && rc != REPLAY_CANNOT_OPEN)
		abort();
	if (with_report) {
		if (data[0] & 4)
			report_print_json(&report, out);
		else
			report_print(&report, out);
		report_release(&report);
	}
	return 0;
}
