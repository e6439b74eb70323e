/*
 * The control socket: a Unix stream socket on which rpcgatectl sends one
 * request, a JSON object on one line, and reads one answer, a JSON object
 * on one line, after which the daemon closes the connection.
 *
 * The server never blocks the daemon: every socket is non-blocking, a
 * request is read into a fixed buffer of CONTROL_MAX_REQUEST bytes, at
 * most control_max_clients connections are served at once (the next one
 * gets a "busy" answer), and a connection that has not sent its request
 * and read its answer within control_timeout seconds is closed.  All of
 * it runs from one epoll descriptor that the daemon's loop watches.
 *
 * Requests: {"command": C, "format": "text"|"json", ...} with C one of
 *   status, pinholes (client, server: address or prefix filters), flows,
 *   stats, revoke (target: an address or prefix, matching client or server,
 *   or a pinhole id PROTO/CLIENT/SERVER/PORT; established: bool), reload,
 *   metrics, report.
 * Answers: {"ok": true, "text": T} in text format, {"ok": true, SECTION:
 *   ...} in json; {"ok": false, "status": S, "error": E[, "detail": D]}
 *   with S one of the CONTROL_STATUS_* codes below.
 */
#ifndef RPCGATE_CONTROL_H
#define RPCGATE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "json.h"

#define CONTROL_DEFAULT_PATH "/run/rpcgate/control"
/* One request, its newline included: the protocol's size limit. */
#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_MEMBERS 8

/* The "status" of an error answer; rpcgatectl maps each to an exit code. */
#define CONTROL_STATUS_BAD_REQUEST "bad-request"	/* malformed, oversized, unknown */
#define CONTROL_STATUS_BUSY "busy"			/* control_max_clients reached */
#define CONTROL_STATUS_CONFIG "config-invalid"		/* reload: the file is bad */
#define CONTROL_STATUS_FAILED "failed"			/* the daemon could not do it */

enum control_command {
	CONTROL_STATUS,
	CONTROL_PINHOLES,
	CONTROL_FLOWS,
	CONTROL_STATS,
	CONTROL_REVOKE,
	CONTROL_RELOAD,
	CONTROL_METRICS,
	CONTROL_REPORT,
};

/* What a revoke names. */
enum control_target {
	CONTROL_TARGET_HOST,		/* an address or prefix: client or server */
	CONTROL_TARGET_PINHOLE,		/* one pinhole */
};

struct control_request {
	enum control_command command;
	bool json;			/* answer with data rather than text */
	bool has_client, has_server;	/* pinholes filters */
	struct addr_prefix client, server;
	enum control_target target_kind;
	struct addr_prefix target;	/* CONTROL_TARGET_HOST */
	uint8_t target_proto;		/* CONTROL_TARGET_PINHOLE: IPPROTO_* */
	uint8_t target_family;
	uint8_t target_client[16], target_server[16];
	uint16_t target_port;
	bool established;		/* revoke: cut connections too */
};

/* Parses one request; false with a reason in err. */
bool control_parse_request(const char *text, size_t len,
			   struct control_request *req, char *err,
			   size_t errlen);

/* "tcp/192.0.2.10/198.51.100.20/49160": a pinhole's id, for revoke. */
#define CONTROL_PINHOLE_ID_MAX 112
bool control_parse_pinhole_id(const char *text, struct control_request *req);

/*
 * An answer under construction.  The daemon describes its state once, as
 * sections of rows of named fields; in json format a section is an array
 * of objects (or, for CONTROL_PAIRS, one object), in text format a table
 * with aligned columns (or "name: value" lines).
 */
enum control_layout {
	CONTROL_TABLE,
	CONTROL_PAIRS,
};

struct control_cell {
	char *text;
	bool number;		/* json: written bare */
};

struct control_answer {
	bool json;
	struct json_writer w;		/* json: the answer */
	struct json_buf text;		/* text: what "text" will hold */
	bool failed;
	char status[24];		/* error answers */
	struct json_buf error, detail;
	/* the open section */
	enum control_layout layout;
	const char *title;
	size_t n_columns;
	const char *columns[32];
	struct control_cell *cells;
	size_t n_cells, cap_cells;
	size_t n_rows;
	bool row_open;
};

/* title: a heading over the section in text format, or NULL */
void control_section(struct control_answer *a, const char *name,
		     const char *title, enum control_layout layout);
void control_row(struct control_answer *a);
void control_field(struct control_answer *a, const char *name,
		   const char *value);
void control_field_u64(struct control_answer *a, const char *name,
		       uint64_t value);
void control_end_section(struct control_answer *a);
/* Text for the "text" member as it is (text format only; metrics). */
void control_text(struct control_answer *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* json format: a member whose value is JSON already (our own writers'). */
void control_json(struct control_answer *a, const char *name,
		  const char *json);
/* Makes this an error answer; detail lines may follow with control_detail. */
void control_error(struct control_answer *a, const char *status,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void control_detail(struct control_answer *a, const char *text);

/* The daemon's side: fills the answer to one well-formed request. */
typedef void (*control_answer_fn)(void *arg, const struct control_request *req,
				  struct control_answer *a);

struct control;

/*
 * Binds path (a stale socket there is replaced), mode 0660: owned by the
 * caller's fsuid and fsgid.  NULL with errno set on failure.
 */
struct control *control_open(const char *path, size_t max_clients,
			     uint32_t timeout_s, control_answer_fn fn,
			     void *arg);
/* Removes the socket (when it can) and closes every connection. */
void control_close(struct control *c);
/* The descriptor to watch for reading in the daemon's loop. */
int control_fd(const struct control *c);
/* Accepts, reads, answers and writes what is ready, without waiting. */
void control_serve(struct control *c, uint64_t now_ms);
/* Closes connections older than the timeout (called from the tick).
 * This and control_set_limits do nothing when c is NULL (no socket). */
void control_expire(struct control *c, uint64_t now_ms);
/* Limits that take effect for new connections (after a reload). */
void control_set_limits(struct control *c, size_t max_clients,
			uint32_t timeout_s);

#endif
