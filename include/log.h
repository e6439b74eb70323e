/*
 * Logging in the OpenBSD daemons' manner: log_warn appends strerror(errno),
 * log_warnx does not; fatal/fatalx log and exit.  To stderr in the
 * foreground; otherwise to the journal when it is there (with structured
 * fields for decisions, log_event), to syslog when it is not.
 */
#ifndef RPCGATE_LOG_H
#define RPCGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void log_init(bool to_stderr, int verbose);
void log_set_verbose(int verbose);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * One decision, for `journalctl RPCGATE_DECISION=open` and friends: each
 * field is sent only when set.  id is the MESSAGE_ID of this kind of line
 * (LOG_ID_*), so a catalogue or a query can find them all.
 */
struct log_event {
	const char *id;		/* MESSAGE_ID */
	const char *decision;	/* RPCGATE_DECISION: open, refuse, drift, ... */
	const char *reason;	/* RPCGATE_REASON: a gate reason code */
	const char *client;	/* RPCGATE_CLIENT */
	const char *server;	/* RPCGATE_SERVER */
	const char *iface;	/* RPCGATE_IFACE: a name or UUID */
	unsigned port;		/* RPCGATE_PORT; 0 for none */
	bool warning;		/* PRIORITY warning instead of info */
};

#define LOG_ID_OPENED "5f0e5b6a3c8d4e0f9a1b2c3d4e5f6a70"
#define LOG_ID_REFUSED "5f0e5b6a3c8d4e0f9a1b2c3d4e5f6a71"
#define LOG_ID_DRIFT "5f0e5b6a3c8d4e0f9a1b2c3d4e5f6a72"
#define LOG_ID_EXPIRED "5f0e5b6a3c8d4e0f9a1b2c3d4e5f6a73"
#define LOG_ID_REVOKED "5f0e5b6a3c8d4e0f9a1b2c3d4e5f6a74"
#define LOG_ID_FORGED "5f0e5b6a3c8d4e0f9a1b2c3d4e5f6a75"
#define LOG_ID_EVICTED "5f0e5b6a3c8d4e0f9a1b2c3d4e5f6a76"
#define LOG_ID_OVERLOAD "5f0e5b6a3c8d4e0f9a1b2c3d4e5f6a77"

void log_event(const struct log_event *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "KEY=value" journal fields of ev, at most max; returns how many. */
#define LOG_FIELD_MAX 160
size_t log_event_fields(const struct log_event *ev,
			char fields[][LOG_FIELD_MAX], size_t max);

/*
 * A kind of line that can repeat (one per decision, under a login storm
 * thousands a second): at most `burst` lines per window of `interval_ms`;
 * the rest are counted, and the next line that goes out -- or
 * log_limit_flush at the end of the window -- says how many were left
 * out.
 */
struct log_limit {
	uint64_t window_ms;	/* start of the current window */
	unsigned lines;		/* sent in it */
	uint64_t suppressed;	/* not sent since the last one that was */
};

/* Whether a line may go out now; *suppressed: how many it follows. */
bool log_limit_pass(struct log_limit *l, uint64_t now_ms, unsigned burst,
		    uint64_t interval_ms, uint64_t *suppressed);
/* Once the window is over, one line for what it left out ("what": a
 * plural noun such as "opened lines"). */
void log_limit_flush(struct log_limit *l, uint64_t now_ms,
		     uint64_t interval_ms, const char *what);

_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
