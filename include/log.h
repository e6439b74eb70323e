/*
 * Logging in the OpenBSD daemons' manner: log_warn appends strerror(errno),
 * log_warnx does not; fatal/fatalx log and exit.  To stderr in the
 * foreground, to syslog (and so the journal) otherwise.
 */
#ifndef RPCGATE_LOG_H
#define RPCGATE_LOG_H

#include <stdbool.h>

void log_init(bool to_stderr, int verbose);
void log_set_verbose(int verbose);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
