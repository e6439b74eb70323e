/*
 * rpcgatectl: asks the running rpcgated over its control socket, one
 * request per connection, and prints the answer (text, or the JSON as it
 * came with --json).  The exit status says what went wrong, one code per
 * kind of problem (sysexits.h values), so that scripts can tell a missing
 * daemon from a refused request.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "json.h"
#include "version.h"

enum {
	EXIT_FAILED = 1,	/* the daemon could not do it */
	EXIT_USAGE = 64,	/* the command line */
	EXIT_REFUSED = 65,	/* the daemon refused the request */
	EXIT_NO_DAEMON = 69,	/* no daemon on the socket */
	EXIT_BUSY = 75,		/* too many control clients, or no answer in time */
	EXIT_PROTOCOL = 76,	/* an answer that is not one */
	EXIT_PERMISSION = 77,	/* not allowed on the socket */
	EXIT_CONFIG = 78,	/* reload: the new file is bad */
};

/* The longest answer read, and how long to wait for it (a reload waits
 * for the kernel). */
#define ANSWER_MAX_BYTES (256u << 20)
#define ANSWER_TIMEOUT_MS 30000

static _Noreturn void usage(FILE *out, int status)
{
	fprintf(out,
		"usage: rpcgatectl [-j] [-s SOCKET] COMMAND\n"
		"commands:\n"
		"  status                           version, uptime, mode, counts\n"
		"  pinholes [--client A] [--server S]  open pinholes\n"
		"  flows                            endpoint-mapper conversations\n"
		"  stats                            decisions by reason and server, drift\n"
		"  revoke [--established] TARGET    close pinholes: an address or\n"
		"                                   prefix (client or server), or a\n"
		"                                   pinhole PROTO/CLIENT/SERVER/PORT\n"
		"  reload                           re-read the configuration\n"
		"  metrics                          Prometheus text format\n"
		"  report                           ports per server and interface,\n"
		"                                   and how to pin them\n"
		"options:\n"
		"  -j, --json       print the daemon's JSON answer\n"
		"  -s, --socket S   control socket (default " CONTROL_DEFAULT_PATH ")\n"
		"  -h, --help       print this and exit\n"
		"  -V, --version    print the version and exit\n");
	exit(status);
}

static _Noreturn void die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static _Noreturn void die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("rpcgatectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static int connect_daemon(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		die(EXIT_USAGE, "%s: socket path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(EXIT_FAILED, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR)
		die(EXIT_NO_DAEMON, "rpcgated is not running (nothing listens on %s)",
		    path);
	if (errno == EACCES || errno == EPERM)
		die(EXIT_PERMISSION, "%s: permission denied (root or group "
		    "rpcgate may use it)", path);
	die(EXIT_NO_DAEMON, "%s: %s", path, strerror(errno));
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends the request and reads the answer to the end. */
static void exchange(int fd, const struct json_buf *req, struct json_buf *ans)
{
	uint64_t deadline = monotonic_ms() + ANSWER_TIMEOUT_MS;
	char chunk[65536];

	for (size_t sent = 0; sent < req->len;) {
		ssize_t n = send(fd, req->data + sent, req->len - sent, MSG_NOSIGNAL);

		/* a daemon that is busy answers before reading: read that */
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break;
		if (n < 0 && errno != EINTR)
			die(EXIT_PROTOCOL, "sending the request: %s", strerror(errno));
		if (n > 0)
			sent += (size_t)n;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = monotonic_ms();
		ssize_t n;

		if (now >= deadline ||
		    poll(&p, 1, (int)(deadline - now)) == 0)
			die(EXIT_BUSY, "no answer from rpcgated within %d s",
			    ANSWER_TIMEOUT_MS / 1000);
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		/* a busy daemon closes without reading our request, which the
		 * kernel reports as a reset once its answer has been read */
		if (n < 0 && errno == ECONNRESET && ans->len > 0 &&
		    ans->data[ans->len - 1] == '\n')
			return;
		if (n < 0)
			die(EXIT_PROTOCOL, "reading the answer: %s", strerror(errno));
		if (n == 0)
			return;
		if (ans->len + (size_t)n > ANSWER_MAX_BYTES)
			die(EXIT_PROTOCOL, "answer larger than %u MiB",
			    ANSWER_MAX_BYTES >> 20);
		json_buf_append(ans, chunk, (size_t)n);
		if (ans->failed)
			die(EXIT_FAILED, "out of memory");
	}
}

static int exit_status_of(const char *status)
{
	static const struct {
		const char *status;
		int exit;
	} map[] = {
		{ CONTROL_STATUS_BAD_REQUEST, EXIT_REFUSED },
		{ CONTROL_STATUS_BUSY, EXIT_BUSY },
		{ CONTROL_STATUS_CONFIG, EXIT_CONFIG },
		{ CONTROL_STATUS_FAILED, EXIT_FAILED },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].status, status) == 0)
			return map[i].exit;
	return EXIT_FAILED;
}

static const char *string_member(const struct json_member *m, int n,
				 const char *name)
{
	const struct json_member *v = json_find(m, (size_t)n, name);

	return v && v->type == JSON_STRING ? v->string : NULL;
}

/* Prints the answer; returns the exit status. */
static int report(const struct json_buf *ans, bool json)
{
	struct json_member m[16];
	const struct json_member *ok;
	const char *why, *error, *detail, *text, *status;
	char *store;
	size_t len = ans->len;
	int n;

	while (len > 0 && ans->data[len - 1] == '\n')
		len--;
	if (len == 0)
		die(EXIT_PROTOCOL, "rpcgated closed the connection without an answer");
	store = malloc(len + 1);
	if (!store)
		die(EXIT_FAILED, "out of memory");
	n = json_parse_object(ans->data, len, m, sizeof(m) / sizeof(m[0]), store,
			      len + 1, &why);
	if (n < 0 || !(ok = json_find(m, (size_t)n, "ok")) || ok->type != JSON_BOOL)
		die(EXIT_PROTOCOL, "not an answer from rpcgated: %s",
		    n < 0 ? why : "no \"ok\"");
	if (json)
		printf("%.*s\n", (int)len, ans->data);
	if (ok->boolean) {
		text = string_member(m, n, "text");
		if (!json && text)
			fputs(text, stdout);
		free(store);
		return 0;
	}
	status = string_member(m, n, "status");
	error = string_member(m, n, "error");
	detail = string_member(m, n, "detail");
	if (!json) {
		fprintf(stderr, "rpcgatectl: %s\n", error ? error : "failed");
		if (detail)
			fputs(detail, stderr);
	}
	n = exit_status_of(status ? status : "");
	free(store);
	return n;
}

int main(int argc, char **argv)
{
	enum { OPT_CLIENT = 256, OPT_SERVER, OPT_ESTABLISHED };
	static const struct option long_options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "client", required_argument, NULL, OPT_CLIENT },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "established", no_argument, NULL, OPT_ESTABLISHED },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const commands[] = {
		"status", "pinholes", "flows", "stats", "revoke", "reload", "metrics",
		"report",
	};
	const char *path = CONTROL_DEFAULT_PATH, *client = NULL, *server = NULL,
		   *command;
	struct json_writer req = { 0 };
	struct json_buf ans = { 0 };
	bool json = false, established = false, known = false;
	int ch, fd, status;

	while ((ch = getopt_long(argc, argv, "hjs:V", long_options, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, 0);
		case 'j':
			json = true;
			break;
		case 's':
			path = optarg;
			break;
		case 'V':
			printf("rpcgatectl %s\n", RPCGATE_VERSION);
			return 0;
		case OPT_CLIENT:
			client = optarg;
			break;
		case OPT_SERVER:
			server = optarg;
			break;
		case OPT_ESTABLISHED:
			established = true;
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	if (optind == argc)
		usage(stderr, EXIT_USAGE);
	command = argv[optind++];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		known |= strcmp(command, commands[i]) == 0;
	if (!known)
		die(EXIT_USAGE, "unknown command \"%s\" (rpcgatectl -h lists them)",
		    command);
	if ((client || server) && strcmp(command, "pinholes") != 0)
		die(EXIT_USAGE, "--client and --server go with pinholes");
	if (established && strcmp(command, "revoke") != 0)
		die(EXIT_USAGE, "--established goes with revoke");
	if (strcmp(command, "revoke") == 0 ? optind + 1 != argc : optind != argc)
		die(EXIT_USAGE, strcmp(command, "revoke") == 0 ?
					"revoke takes one target" :
					"%s takes no argument", command);

	json_open(&req, NULL, '{');
	json_str(&req, "command", command);
	json_str(&req, "format", json ? "json" : "text");
	if (client)
		json_str(&req, "client", client);
	if (server)
		json_str(&req, "server", server);
	if (strcmp(command, "revoke") == 0) {
		json_str(&req, "target", argv[optind]);
		json_bool(&req, "established", established);
	}
	json_close(&req, '}');
	json_buf_append(&req.buf, "\n", 1);
	if (req.buf.failed)
		die(EXIT_FAILED, "out of memory");
	if (req.buf.len > CONTROL_MAX_REQUEST)
		die(EXIT_USAGE, "request longer than %d bytes", CONTROL_MAX_REQUEST);

	fd = connect_daemon(path);
	exchange(fd, &req.buf, &ans);
	close(fd);
	status = report(&ans, json);
	json_buf_free(&req.buf);
	json_buf_free(&ans);
	return status;
}
