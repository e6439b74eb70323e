#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define N_FIELDS 12

static enum { TO_STDERR, TO_SYSLOG, TO_JOURNAL } sink = TO_STDERR;
static int log_verbose;

void log_init(bool to_stderr, int verbose)
{
	log_verbose = verbose;
	if (to_stderr)
		sink = TO_STDERR;
	else if (access(JOURNAL_SOCKET, W_OK) == 0)
		sink = TO_JOURNAL;
	else
		sink = TO_SYSLOG;
	if (sink == TO_SYSLOG)
		openlog("rpcgated", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

size_t log_event_fields(const struct log_event *ev,
			char fields[][LOG_FIELD_MAX], size_t max)
{
	const struct {
		const char *key, *value;
	} text[] = {
		{ "MESSAGE_ID", ev->id },
		{ "RPCGATE_DECISION", ev->decision },
		{ "RPCGATE_REASON", ev->reason },
		{ "RPCGATE_CLIENT", ev->client },
		{ "RPCGATE_SERVER", ev->server },
		{ "RPCGATE_IFACE", ev->iface },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]) && n < max; i++)
		if (text[i].value)
			snprintf(fields[n++], LOG_FIELD_MAX, "%s=%s", text[i].key,
				 text[i].value);
	if (ev->port && n < max)
		snprintf(fields[n++], LOG_FIELD_MAX, "RPCGATE_PORT=%u", ev->port);
	return n;
}

/* One line, with the fields of ev (NULL for none) where the sink has them. */
static void emit(int priority, const struct log_event *ev, const char *line)
{
	char fields[N_FIELDS][LOG_FIELD_MAX], message[1100], prio[16];
	struct iovec iov[N_FIELDS + 3];
	size_t n = 0;

	switch (sink) {
	case TO_STDERR:
		fprintf(stderr, "rpcgated: %s\n", line);
		return;
	case TO_SYSLOG:
		syslog(priority, "%s", line);
		return;
	case TO_JOURNAL:
		break;
	}
	snprintf(message, sizeof(message), "MESSAGE=%s", line);
	snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
	iov[n++] = (struct iovec){ message, strlen(message) };
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] = (struct iovec){ "SYSLOG_IDENTIFIER=rpcgated",
				   strlen("SYSLOG_IDENTIFIER=rpcgated") };
	for (size_t i = 0, k = ev ? log_event_fields(ev, fields, N_FIELDS) : 0;
	     i < k; i++)
		iov[n++] = (struct iovec){ fields[i], strlen(fields[i]) };
	/* the journal gone (stopped, restarted): the line goes to syslog */
	if (sd_journal_sendv(iov, (int)n) < 0)
		syslog(priority, "%s", line);
}

static void vlog(int priority, const char *fmt, va_list ap, const char *err)
{
	char line[1024], full[1100];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (err)
		snprintf(full, sizeof(full), "%s: %s", line, err);
	else
		snprintf(full, sizeof(full), "%s", line);
	emit(priority, NULL, full);
}

void log_event(const struct log_event *ev, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(ev->warning ? LOG_WARNING : LOG_INFO, ev, line);
}

bool log_limit_pass(struct log_limit *l, uint64_t now_ms, unsigned burst,
		    uint64_t interval_ms, uint64_t *suppressed)
{
	if (now_ms - l->window_ms >= interval_ms) {
		l->window_ms = now_ms;
		l->lines = 0;
	}
	if (l->lines >= burst) {
		l->suppressed++;
		return false;
	}
	l->lines++;
	*suppressed = l->suppressed;
	l->suppressed = 0;
	return true;
}

void log_limit_flush(struct log_limit *l, uint64_t now_ms,
		     uint64_t interval_ms, const char *what)
{
	if (l->suppressed == 0 || now_ms - l->window_ms < interval_ms)
		return;
	log_info("%llu %s suppressed in %llu s (at most one burst per window)",
		 (unsigned long long)l->suppressed, what,
		 (unsigned long long)(interval_ms / 1000));
	l->suppressed = 0;
	l->window_ms = now_ms;
	l->lines = 0;
}

#define LOG_WITH(priority, err)                 \
	do {                                    \
		va_list ap;                     \
		va_start(ap, fmt);              \
		vlog(priority, fmt, ap, err);   \
		va_end(ap);                     \
	} while (0)

void log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_WITH(LOG_WARNING, err);
}

void log_warnx(const char *fmt, ...)
{
	LOG_WITH(LOG_WARNING, NULL);
}

void log_info(const char *fmt, ...)
{
	LOG_WITH(LOG_INFO, NULL);
}

void log_debug(const char *fmt, ...)
{
	if (log_verbose < 1)
		return;
	LOG_WITH(LOG_DEBUG, NULL);
}

_Noreturn void fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_WITH(LOG_CRIT, err);
	exit(1);
}

_Noreturn void fatalx(const char *fmt, ...)
{
	LOG_WITH(LOG_CRIT, NULL);
	exit(1);
}
