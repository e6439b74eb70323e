#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static bool log_to_stderr = true;
static int log_verbose;

void log_init(bool to_stderr, int verbose)
{
	log_to_stderr = to_stderr;
	log_verbose = verbose;
	if (!to_stderr)
		openlog("rpcgated", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

static void vlog(int priority, const char *fmt, va_list ap, const char *err)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_to_stderr) {
		if (err)
			fprintf(stderr, "rpcgated: %s: %s\n", line, err);
		else
			fprintf(stderr, "rpcgated: %s\n", line);
		return;
	}
	if (err)
		syslog(priority, "%s: %s", line, err);
	else
		syslog(priority, "%s", line);
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
