#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"

/* ---- requests ------------------------------------------------------------ */

static const char *const command_names[] = {
	[CONTROL_STATUS] = "status",	[CONTROL_PINHOLES] = "pinholes",
	[CONTROL_FLOWS] = "flows",	[CONTROL_STATS] = "stats",
	[CONTROL_REVOKE] = "revoke",	[CONTROL_RELOAD] = "reload",
	[CONTROL_METRICS] = "metrics",	[CONTROL_REPORT] = "report",
};
#define N_COMMANDS (sizeof(command_names) / sizeof(command_names[0]))

static bool parse_address(const char *text, uint8_t *family, uint8_t *addr)
{
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

bool control_parse_pinhole_id(const char *text, struct control_request *req)
{
	char copy[CONTROL_PINHOLE_ID_MAX], *parts[4], *save = NULL, *end;
	uint8_t client_family, server_family;
	unsigned long port;
	size_t n = 0;

	if (strlen(text) >= sizeof(copy))
		return false;
	memcpy(copy, text, strlen(text) + 1);
	for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (n == 4)
			return false;
		parts[n++] = p;
	}
	if (n != 4)
		return false;
	if (strcmp(parts[0], "tcp") == 0)
		req->target_proto = IPPROTO_TCP;
	else if (strcmp(parts[0], "udp") == 0)
		req->target_proto = IPPROTO_UDP;
	else
		return false;
	errno = 0;
	port = strtoul(parts[3], &end, 10);
	if (*end != '\0' || parts[3][0] < '0' || parts[3][0] > '9' ||
	    port == 0 || port > 65535 || errno)
		return false;
	memset(req->target_client, 0, sizeof(req->target_client));
	memset(req->target_server, 0, sizeof(req->target_server));
	if (!parse_address(parts[1], &client_family, req->target_client) ||
	    !parse_address(parts[2], &server_family, req->target_server) ||
	    client_family != server_family)
		return false;
	req->target_family = client_family;
	req->target_port = (uint16_t)port;
	req->target_kind = CONTROL_TARGET_PINHOLE;
	return true;
}

/* Which members each command takes, besides "command" and "format". */
static bool member_allowed(enum control_command c, const char *name)
{
	if (strcmp(name, "client") == 0 || strcmp(name, "server") == 0)
		return c == CONTROL_PINHOLES;
	if (strcmp(name, "target") == 0 || strcmp(name, "established") == 0)
		return c == CONTROL_REVOKE;
	return false;
}

bool control_parse_request(const char *text, size_t len,
			   struct control_request *req, char *err,
			   size_t errlen)
{
	struct json_member m[CONTROL_MAX_MEMBERS];
	char store[CONTROL_MAX_REQUEST + 1];
	const struct json_member *command;
	const char *why;
	bool has_target = false;
	int n;

	memset(req, 0, sizeof(*req));
	if (len > CONTROL_MAX_REQUEST) {
		snprintf(err, errlen, "request larger than %d bytes",
			 CONTROL_MAX_REQUEST);
		return false;
	}
	n = json_parse_object(text, len, m, CONTROL_MAX_MEMBERS, store,
			      sizeof(store), &why);
	if (n < 0) {
		snprintf(err, errlen, "malformed request: %s", why);
		return false;
	}
	command = json_find(m, (size_t)n, "command");
	if (!command || command->type != JSON_STRING) {
		snprintf(err, errlen, "no \"command\" string in the request");
		return false;
	}
	for (req->command = 0; req->command < N_COMMANDS; req->command++)
		if (strcmp(command->string, command_names[req->command]) == 0)
			break;
	if (req->command == N_COMMANDS) {
		snprintf(err, errlen, "unknown command \"%.32s\"", command->string);
		return false;
	}
	for (int i = 0; i < n; i++) {
		const struct json_member *v = &m[i];

		if (v == command)
			continue;
		if (strcmp(v->name, "format") == 0) {
			if (v->type != JSON_STRING ||
			    (strcmp(v->string, "json") != 0 &&
			     strcmp(v->string, "text") != 0)) {
				snprintf(err, errlen, "\"format\" is \"text\" or \"json\"");
				return false;
			}
			req->json = strcmp(v->string, "json") == 0;
			continue;
		}
		if (!member_allowed(req->command, v->name)) {
			snprintf(err, errlen, "%s takes no \"%s\"",
				 command_names[req->command], v->name);
			return false;
		}
		if (strcmp(v->name, "established") == 0) {
			if (v->type != JSON_BOOL) {
				snprintf(err, errlen, "\"established\" is true or false");
				return false;
			}
			req->established = v->boolean;
			continue;
		}
		if (v->type != JSON_STRING) {
			snprintf(err, errlen, "\"%s\" is a string", v->name);
			return false;
		}
		if (strcmp(v->name, "target") == 0) {
			has_target = true;
			if (prefix_parse(v->string, &req->target)) {
				req->target_kind = CONTROL_TARGET_HOST;
				continue;
			}
			if (control_parse_pinhole_id(v->string, req))
				continue;
			snprintf(err, errlen, "revoke: \"%.60s\" is not an address, "
				 "a prefix or a pinhole (PROTO/CLIENT/SERVER/PORT)",
				 v->string);
			return false;
		}
		if (!prefix_parse(v->string, strcmp(v->name, "client") == 0 ?
						     &req->client : &req->server)) {
			snprintf(err, errlen, "%s: \"%.60s\" is not an address or "
				 "prefix", v->name, v->string);
			return false;
		}
		if (strcmp(v->name, "client") == 0)
			req->has_client = true;
		else
			req->has_server = true;
	}
	if (req->command == CONTROL_REVOKE && !has_target) {
		snprintf(err, errlen, "revoke needs a \"target\"");
		return false;
	}
	return true;
}

/* ---- answers ------------------------------------------------------------- */

static void answer_begin(struct control_answer *a, bool json)
{
	memset(a, 0, sizeof(*a));
	a->json = json;
	if (json) {
		json_open(&a->w, NULL, '{');
		json_bool(&a->w, "ok", true);
	}
}

static void answer_release(struct control_answer *a)
{
	for (size_t i = 0; i < a->n_cells; i++)
		free(a->cells[i].text);
	free(a->cells);
	json_buf_free(&a->w.buf);
	json_buf_free(&a->text);
	json_buf_free(&a->error);
	json_buf_free(&a->detail);
}

void control_section(struct control_answer *a, const char *name,
		     const char *title, enum control_layout layout)
{
	a->title = title;
	a->layout = layout;
	a->n_columns = 0;
	a->n_rows = 0;
	a->row_open = false;
	if (a->json)
		json_open(&a->w, name, layout == CONTROL_TABLE ? '[' : '{');
}

void control_row(struct control_answer *a)
{
	if (a->json && a->layout == CONTROL_TABLE) {
		if (a->row_open)
			json_close(&a->w, '}');
		json_open(&a->w, NULL, '{');
	}
	a->row_open = true;
	a->n_rows++;
}

static void add_cell(struct control_answer *a, const char *name,
		     const char *value, bool number)
{
	const size_t max_columns = sizeof(a->columns) / sizeof(a->columns[0]);
	char *copy;

	/* the first row names the columns; every row has the same fields */
	if (a->layout == CONTROL_PAIRS || a->n_rows <= 1) {
		if (a->n_columns == max_columns) {
			a->failed = true;
			return;
		}
		a->columns[a->n_columns++] = name;
	}
	if (a->n_cells == a->cap_cells) {
		size_t cap = a->cap_cells ? 2 * a->cap_cells : 64;
		struct control_cell *grown = realloc(a->cells, cap * sizeof(*grown));

		if (!grown) {
			a->failed = true;
			return;
		}
		a->cells = grown;
		a->cap_cells = cap;
	}
	copy = strdup(value);
	if (!copy) {
		a->failed = true;
		return;
	}
	a->cells[a->n_cells++] = (struct control_cell){ copy, number };
}

void control_field(struct control_answer *a, const char *name,
		   const char *value)
{
	if (a->json)
		json_str(&a->w, name, value);
	else
		add_cell(a, name, value, false);
}

void control_field_u64(struct control_answer *a, const char *name,
		       uint64_t value)
{
	char text[24];

	if (a->json) {
		json_u64(&a->w, name, value);
		return;
	}
	snprintf(text, sizeof(text), "%llu", (unsigned long long)value);
	add_cell(a, name, text, true);
}

static void pad(struct json_buf *b, size_t n)
{
	static const char spaces[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		json_buf_append(b, spaces, k);
		n -= k;
	}
}

/* Columns two spaces apart; numbers to the right, the last column unpadded. */
static void render_table(struct control_answer *a)
{
	size_t widths[sizeof(a->columns) / sizeof(a->columns[0])] = { 0 };
	size_t cols = a->n_columns;

	if (cols == 0) {
		json_buf_printf(&a->text, "(none)\n");
		return;
	}
	for (size_t c = 0; c < cols; c++)
		widths[c] = strlen(a->columns[c]);
	for (size_t i = 0; i < a->n_cells; i++) {
		size_t len = strlen(a->cells[i].text);

		if (len > widths[i % cols])
			widths[i % cols] = len;
	}
	/* a column of numbers has its heading on the right too */
	for (size_t c = 0; c < cols; c++) {
		bool right = c < a->n_cells && a->cells[c].number;
		size_t gap = widths[c] - strlen(a->columns[c]);

		if (right)
			pad(&a->text, gap);
		json_buf_printf(&a->text, "%s", a->columns[c]);
		if (c + 1 < cols)
			pad(&a->text, (right ? 0 : gap) + 2);
	}
	json_buf_printf(&a->text, "\n");
	for (size_t i = 0; i < a->n_cells; i++) {
		const struct control_cell *cell = &a->cells[i];
		size_t c = i % cols, gap = widths[c] - strlen(cell->text);

		if (cell->number)
			pad(&a->text, gap);
		json_buf_append(&a->text, cell->text, strlen(cell->text));
		if (c + 1 < cols)
			pad(&a->text, (cell->number ? 0 : gap) + 2);
		else
			json_buf_append(&a->text, "\n", 1);
	}
}

static void render_pairs(struct control_answer *a)
{
	size_t width = 0;

	for (size_t c = 0; c < a->n_columns; c++)
		if (strlen(a->columns[c]) > width)
			width = strlen(a->columns[c]);
	for (size_t i = 0; i < a->n_cells && i < a->n_columns; i++) {
		json_buf_printf(&a->text, "%s:", a->columns[i]);
		pad(&a->text, width - strlen(a->columns[i]) + 1);
		json_buf_printf(&a->text, "%s\n", a->cells[i].text);
	}
}

void control_end_section(struct control_answer *a)
{
	if (a->json) {
		if (a->layout == CONTROL_TABLE) {
			if (a->row_open)
				json_close(&a->w, '}');
			json_close(&a->w, ']');
		} else {
			json_close(&a->w, '}');
		}
		return;
	}
	if (a->title)
		json_buf_printf(&a->text, "%s%s:\n", a->text.len ? "\n" : "",
				a->title);
	if (a->layout == CONTROL_TABLE)
		render_table(a);
	else
		render_pairs(a);
	for (size_t i = 0; i < a->n_cells; i++)
		free(a->cells[i].text);
	a->n_cells = 0;
}

void control_text(struct control_answer *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_buf_vprintf(&a->text, fmt, ap);
	va_end(ap);
}

void control_json(struct control_answer *a, const char *name,
		  const char *json)
{
	json_raw(&a->w, name, json);
}

void control_error(struct control_answer *a, const char *status,
		   const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(a->status, sizeof(a->status), "%s", status);
	json_buf_free(&a->error);
	json_buf_append(&a->error, line, strlen(line));
}

void control_detail(struct control_answer *a, const char *text)
{
	json_buf_append(&a->detail, text, strlen(text));
}

/* The answer as one line, into out. */
static void answer_finish(struct control_answer *a, struct json_buf *out)
{
	struct json_writer w = { 0 };

	if (a->failed || a->w.buf.failed || a->text.failed)
		control_error(a, CONTROL_STATUS_FAILED, "out of memory");
	if (a->status[0]) {
		json_open(&w, NULL, '{');
		json_bool(&w, "ok", false);
		json_str(&w, "status", a->status);
		json_str(&w, "error", a->error.data ? a->error.data : "");
		if (a->detail.len)
			json_str(&w, "detail", a->detail.data);
		json_close(&w, '}');
	} else if (a->json) {
		w = a->w;
		a->w = (struct json_writer){ 0 };
		if (a->text.len)
			json_str(&w, "text", a->text.data);
		json_close(&w, '}');
	} else {
		json_open(&w, NULL, '{');
		json_bool(&w, "ok", true);
		json_str(&w, "text", a->text.data ? a->text.data : "");
		json_close(&w, '}');
	}
	json_buf_append(&w.buf, "\n", 1);
	*out = w.buf;
}

/* ---- the server ---------------------------------------------------------- */

struct control_conn {
	struct control_conn *next;
	int fd;
	uint64_t started_ms;
	bool answered;
	size_t in_len;
	struct json_buf out;
	size_t out_sent;
	char in[CONTROL_MAX_REQUEST];
};

struct control {
	int listen_fd, epoll;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t max_clients, n_conns;
	uint64_t timeout_ms;
	struct control_conn *conns;
	control_answer_fn fn;
	void *arg;
};

/* The answer to a client over control_max_clients, sent if it fits now. */
static const char busy_answer[] =
	"{\"ok\":false,\"status\":\"" CONTROL_STATUS_BUSY "\",\"error\":"
	"\"too many control connections (control_max_clients); try again\"}\n";

struct control *control_open(const char *path, size_t max_clients,
			     uint32_t timeout_s, control_answer_fn fn,
			     void *arg)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct stat st;
	mode_t old_umask;
	int saved;

	if (!c)
		return NULL;
	c->listen_fd = c->epoll = -1;
	c->fn = fn;
	c->arg = arg;
	control_set_limits(c, max_clients, timeout_s);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		goto fail;
	/* a socket left by a daemon that died is replaced; a live one is not,
	 * and nothing but a socket is ever removed */
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			goto fail;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 &&
		    connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			errno = EADDRINUSE;
			goto fail;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	old_umask = umask(0117);
	if (bind(c->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old_umask);
		goto fail;
	}
	umask(old_umask);
	memcpy(c->path, path, strlen(path) + 1);
	if (chmod(path, 0660) < 0 || listen(c->listen_fd, 16) < 0)
		goto fail;
	c->epoll = epoll_create1(EPOLL_CLOEXEC);
	if (c->epoll < 0 || epoll_ctl(c->epoll, EPOLL_CTL_ADD, c->listen_fd, &ev) < 0)
		goto fail;
	return c;
fail:
	saved = errno;
	control_close(c);
	errno = saved;
	return NULL;
}

void control_set_limits(struct control *c, size_t max_clients,
			uint32_t timeout_s)
{
	if (!c)
		return;
	c->max_clients = max_clients;
	c->timeout_ms = (uint64_t)timeout_s * 1000;
}

static void drop_conn(struct control *c, struct control_conn *conn)
{
	struct control_conn **link = &c->conns;

	while (*link != conn)
		link = &(*link)->next;
	*link = conn->next;
	close(conn->fd);	/* leaves the epoll set with it */
	json_buf_free(&conn->out);
	free(conn);
	c->n_conns--;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	while (c->conns)
		drop_conn(c, c->conns);
	if (c->path[0])
		unlink(c->path);	/* fails once privileges are dropped; the
					 * runtime directory goes with the unit */
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->epoll >= 0)
		close(c->epoll);
	free(c);
}

int control_fd(const struct control *c)
{
	return c->epoll;
}

static void accept_all(struct control *c, uint64_t now_ms)
{
	for (;;) {
		int fd = accept4(c->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct control_conn *conn;
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0)
			return;	/* EAGAIN, or out of descriptors: later */
		if (c->n_conns >= c->max_clients ||
		    !(conn = calloc(1, sizeof(*conn)))) {
			ssize_t ignored = send(fd, busy_answer,
					       sizeof(busy_answer) - 1,
					       MSG_DONTWAIT | MSG_NOSIGNAL);

			(void)ignored;
			close(fd);
			continue;
		}
		conn->fd = fd;
		conn->started_ms = now_ms;
		ev.data.ptr = conn;
		if (epoll_ctl(c->epoll, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(conn);
			continue;
		}
		conn->next = c->conns;
		c->conns = conn;
		c->n_conns++;
	}
}

static void answer_request(struct control *c, struct control_conn *conn,
			   size_t len)
{
	struct control_request req;
	struct control_answer a;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = conn };
	char err[160];
	bool parsed = control_parse_request(conn->in, len, &req, err, sizeof(err));

	answer_begin(&a, parsed && req.json);
	if (parsed)
		c->fn(c->arg, &req, &a);
	else
		control_error(&a, CONTROL_STATUS_BAD_REQUEST, "%s", err);
	answer_finish(&a, &conn->out);
	answer_release(&a);
	conn->answered = true;
	shutdown(conn->fd, SHUT_RD);
	epoll_ctl(c->epoll, EPOLL_CTL_MOD, conn->fd, &ev);
}

/* Returns false when the connection is finished with. */
static bool on_readable(struct control *c, struct control_conn *conn)
{
	for (;;) {
		size_t room = sizeof(conn->in) - conn->in_len;
		ssize_t n = room ? read(conn->fd, conn->in + conn->in_len, room) : 0;
		char *newline;

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0 && room) {
			/* the request ends where the client stopped writing */
			if (conn->in_len == 0)
				return false;
			answer_request(c, conn, conn->in_len);
			return true;
		}
		newline = memchr(conn->in + conn->in_len, '\n', (size_t)n);
		conn->in_len += (size_t)n;
		if (newline) {
			answer_request(c, conn, (size_t)(newline - conn->in));
			return true;
		}
		if (conn->in_len == sizeof(conn->in)) {
			/* a length over the limit is all the parser needs to
			 * refuse it */
			answer_request(c, conn, sizeof(conn->in) + 1);
			return true;
		}
	}
}

static bool on_writable(struct control_conn *conn)
{
	while (conn->out_sent < conn->out.len) {
		ssize_t n = send(conn->fd, conn->out.data + conn->out_sent,
				 conn->out.len - conn->out_sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		conn->out_sent += (size_t)n;
	}
	return false;
}

void control_serve(struct control *c, uint64_t now_ms)
{
	struct epoll_event events[16];
	int n = epoll_wait(c->epoll, events, 16, 0);

	for (int i = 0; i < n; i++) {
		struct control_conn *conn = events[i].data.ptr;
		bool keep;

		if (!conn) {
			accept_all(c, now_ms);
			continue;
		}
		if (events[i].events & EPOLLERR)
			keep = false;
		else if (!conn->answered)
			keep = on_readable(c, conn);
		else
			keep = on_writable(conn);
		if (keep && conn->answered && conn->out_sent == 0)
			keep = on_writable(conn);
		if (!keep)
			drop_conn(c, conn);
	}
}

void control_expire(struct control *c, uint64_t now_ms)
{
	struct control_conn *conn = c ? c->conns : NULL, *next;

	for (; conn; conn = next) {
		next = conn->next;
		if (now_ms - conn->started_ms >= c->timeout_ms)
			drop_conn(c, conn);
	}
}
