/* The control protocol: json.c's reader and writer, requests, answers and
 * the socket server in control.c; stats.c's bounded tables. */
#include "../../daemon/control.c"
#include "stats.h"
#include "unit.h"

#include <fcntl.h>
#include <sys/time.h>

static int parse(const char *text, struct json_member *m, size_t max,
		 char *store, const char **why)
{
	return json_parse_object(text, strlen(text), m, max, store,
				 strlen(text) + 1, why);
}

static bool rejected(const char *text)
{
	struct json_member m[8];
	char store[256];
	const char *why;

	return parse(text, m, 8, store, &why) < 0 && why != NULL;
}

static void test_json_members(void)
{
	struct json_member m[8];
	char store[256];
	const char *why;
	int n = parse(" {\"s\": \"a\\\"b\\u00e9\\ud83d\\ude00\", \"t\": true, "
		      "\"n\": -42, \"f\": 1.5e3, \"z\": null, \"o\": {\"x\": [1, "
		      "{\"y\": \"\"}]}, \"a\": []}\n", m, 8, store, &why);
	const struct json_member *s = json_find(m, (size_t)n, "s");

	CHECK(n == 7);
	CHECK(s && s->type == JSON_STRING && s->string_len == 9 &&
	      memcmp(s->string, "a\"b\xc3\xa9\xf0\x9f\x98\x80", 9) == 0);
	CHECK(json_find(m, (size_t)n, "t")->boolean);
	CHECK(json_find(m, (size_t)n, "n")->is_integer &&
	      json_find(m, (size_t)n, "n")->integer == -42);
	CHECK(!json_find(m, (size_t)n, "f")->is_integer);
	CHECK(json_find(m, (size_t)n, "z")->type == JSON_NULL);
	CHECK(json_find(m, (size_t)n, "o")->type == JSON_OBJECT);
	CHECK(json_find(m, (size_t)n, "a")->type == JSON_ARRAY);
	CHECK(parse("{}", m, 8, store, &why) == 0);
}

static void test_json_strict(void)
{
	char deep[64] = "{\"a\":";

	CHECK(rejected(""));
	CHECK(rejected("[]"));
	CHECK(rejected("{\"a\":1,}"));
	CHECK(rejected("{\"a\":1 \"b\":2}"));
	CHECK(rejected("{\"a\":1,\"a\":2}"));
	CHECK(rejected("{\"a\":01}"));
	CHECK(rejected("{\"a\":1.}"));
	CHECK(rejected("{\"a\":-}"));
	CHECK(rejected("{\"a\":tru}"));
	CHECK(rejected("{\"a\":\"\\ud800\"}"));
	CHECK(rejected("{\"a\":\"\\udc00\"}"));
	CHECK(rejected("{\"a\":\"\\u0000\"}"));
	CHECK(rejected("{\"a\":\"\\x\"}"));
	CHECK(rejected("{\"a\":\"\t\"}"));
	CHECK(rejected("{\"a\":\"\xc0\xaf\"}"));		/* overlong */
	CHECK(rejected("{\"a\":\"\xed\xa0\x80\"}"));		/* surrogate */
	CHECK(rejected("{\"a\":\"\xf4\x90\x80\x80\"}"));	/* > U+10FFFF */
	CHECK(rejected("{\"a\":\"\xe2\x82\"}"));		/* truncated */
	CHECK(rejected("{\"a\":1} x"));
	CHECK(rejected("{\"a\":1}{}"));
	CHECK(rejected("{\"a\":\"unterminated}"));
	CHECK(rejected("{\"a\":[1,2}"));
	CHECK(rejected("{\"a_name_longer_than_thirty_two_bytes\":1}"));
	CHECK(rejected("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}"));
	/* JSON_MAX_DEPTH levels below the object are fine, one more is not */
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		strcat(deep, "[");
	CHECK(rejected(deep));
	deep[strlen(deep) - 1] = '\0';
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	CHECK(!rejected(deep));
}

static void test_json_writer_round_trip(void)
{
	struct json_writer w = { 0 };
	struct json_member m[4];
	char store[256];
	const char *why;
	int n;

	json_open(&w, NULL, '{');
	json_str(&w, "q", "say \"hi\"\\\n\x01");
	json_open(&w, "list", '[');
	json_u64(&w, NULL, 18446744073709551615ull);
	json_bool(&w, NULL, false);
	json_close(&w, ']');
	json_close(&w, '}');
	CHECK(!w.buf.failed);
	CHECK(strcmp(w.buf.data, "{\"q\":\"say \\\"hi\\\"\\\\\\n\\u0001\","
				 "\"list\":[18446744073709551615,false]}") == 0);
	n = json_parse_object(w.buf.data, w.buf.len, m, 4, store, sizeof(store), &why);
	CHECK(n == 2 && strcmp(m[0].string, "say \"hi\"\\\n\x01") == 0);
	json_buf_free(&w.buf);
}

static bool request(const char *text, struct control_request *req, char *err)
{
	return control_parse_request(text, strlen(text), req, err, 160);
}

static void test_requests(void)
{
	struct control_request req;
	char err[160], big[CONTROL_MAX_REQUEST + 64];

	CHECK(request("{\"command\":\"pinholes\",\"format\":\"json\","
		      "\"client\":\"192.0.2.0/24\",\"server\":\"2001:db8::1\"}", &req, err));
	CHECK(req.command == CONTROL_PINHOLES && req.json && req.has_client &&
	      req.has_server && req.client.len == 24 && req.server.len == 128);
	CHECK(request("{\"command\":\"revoke\",\"target\":\"tcp/192.0.2.10/198.51.100.20/49160\","
		      "\"established\":true}", &req, err));
	CHECK(req.target_kind == CONTROL_TARGET_PINHOLE && req.established &&
	      req.target_proto == IPPROTO_TCP && req.target_port == 49160 &&
	      req.target_family == AF_INET && req.target_server[0] == 198);
	CHECK(request("{\"command\":\"revoke\",\"target\":\"2001:db8:1::10\"}", &req, err));
	CHECK(req.target_kind == CONTROL_TARGET_HOST && !req.established);
	CHECK(!request("{\"command\":\"revoke\"}", &req, err) &&
	      strstr(err, "needs a \"target\""));
	CHECK(!request("{\"command\":\"revoke\",\"target\":\"tcp/192.0.2.10/2001:db8::1/80\"}", &req, err));
	CHECK(!request("{\"command\":\"revoke\",\"target\":\"tcp/192.0.2.10/192.0.2.1/0\"}", &req, err));
	CHECK(!request("{\"command\":\"revoke\",\"target\":\"sctp/192.0.2.10/192.0.2.1/80\"}", &req, err));
	CHECK(!request("{\"command\":\"frobnicate\"}", &req, err) &&
	      strstr(err, "unknown command \"frobnicate\""));
	CHECK(!request("{\"command\":\"status\",\"client\":\"192.0.2.1\"}", &req, err) &&
	      strstr(err, "status takes no \"client\""));
	CHECK(!request("{\"command\":\"status\",\"format\":\"xml\"}", &req, err));
	CHECK(!request("{\"command\":7}", &req, err));
	CHECK(!request("{\"format\":\"text\"}", &req, err));
	CHECK(!request("{\"command\":\"pinholes\",\"client\":\"192.0.2.300\"}", &req, err));
	CHECK(!request("{\"command\":\"status\"", &req, err) && strstr(err, "malformed"));
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "{\"command\":\"status\"}", 20);
	CHECK(!request(big, &req, err) && strstr(err, "larger than 4096"));
}

static char *finish(struct control_answer *a)
{
	struct json_buf out;

	answer_finish(a, &out);
	answer_release(a);
	return out.data;
}

static void test_answer_text_and_json(void)
{
	struct control_answer a;
	char *line;

	answer_begin(&a, false);
	control_section(&a, "rows", NULL, CONTROL_TABLE);
	control_row(&a);
	control_field(&a, "name", "x");
	control_field_u64(&a, "count", 7);
	control_field(&a, "what", "a");
	control_row(&a);
	control_field(&a, "name", "longer");
	control_field_u64(&a, "count", 12345678);
	control_field(&a, "what", "b");
	control_end_section(&a);
	control_section(&a, "pairs", "totals", CONTROL_PAIRS);
	control_row(&a);
	control_field_u64(&a, "a", 1);
	control_field(&a, "bb", "two");
	control_end_section(&a);
	line = finish(&a);
	CHECK(strcmp(line, "{\"ok\":true,\"text\":\""
			   "name       count  what\\n"
			   "x              7  a\\n"
			   "longer  12345678  b\\n"
			   "\\ntotals:\\n"
			   "a:  1\\n"
			   "bb: two\\n\"}\n") == 0);
	free(line);

	answer_begin(&a, true);
	control_section(&a, "rows", NULL, CONTROL_TABLE);
	control_row(&a);
	control_field(&a, "name", "x");
	control_field_u64(&a, "count", 7);
	control_row(&a);
	control_field(&a, "name", "y");
	control_field_u64(&a, "count", 8);
	control_end_section(&a);
	control_section(&a, "empty", NULL, CONTROL_TABLE);
	control_end_section(&a);
	line = finish(&a);
	CHECK(strcmp(line, "{\"ok\":true,\"rows\":[{\"name\":\"x\",\"count\":7},"
			   "{\"name\":\"y\",\"count\":8}],\"empty\":[]}\n") == 0);
	free(line);

	answer_begin(&a, true);
	control_section(&a, "rows", NULL, CONTROL_TABLE);
	control_error(&a, CONTROL_STATUS_CONFIG, "%s has problems", "f.conf");
	control_detail(&a, "f.conf:3: unknown key \"x\"\n");
	line = finish(&a);
	CHECK(strcmp(line, "{\"ok\":false,\"status\":\"config-invalid\",\"error\":"
			   "\"f.conf has problems\",\"detail\":\"f.conf:3: unknown "
			   "key \\\"x\\\"\\n\"}\n") == 0);
	free(line);
}

/* ---- the server, over a real socket ------------------------------------- */

static size_t answered;
static size_t big_answer;	/* bytes of text the stub answers with */

static void stub_answer(void *arg, const struct control_request *req,
			struct control_answer *a)
{
	(void)arg;
	answered++;
	if (big_answer) {
		char chunk[257];

		memset(chunk, 'x', 256);
		chunk[256] = '\0';
		for (size_t i = 0; i < big_answer / 256; i++)
			control_text(a, "%s", chunk);
		return;
	}
	control_text(a, "answer to %d\n", (int)req->command);
}

static char sock_path[108];

static struct control *server(size_t max_clients)
{
	char dir[] = "/tmp/rpcgate-unit-XXXXXX";

	CHECK(mkdtemp(dir) != NULL);
	snprintf(sock_path, sizeof(sock_path), "%s/control", dir);
	return control_open(sock_path, max_clients, 2, stub_answer, NULL);
}

static void server_done(struct control *c)
{
	char dir[sizeof(sock_path)];

	control_close(c);
	snprintf(dir, sizeof(dir), "%s", sock_path);
	*strrchr(dir, '/') = '\0';
	CHECK(access(sock_path, F_OK) != 0);	/* removed */
	rmdir(dir);
}

static int client(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Serves until the client has its whole answer (the server closed). */
static void read_answer(struct control *c, int fd, char *out, size_t size)
{
	size_t len = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int round = 0; round < 1000; round++) {
		ssize_t n;

		control_serve(c, 1000);
		n = read(fd, out + len, size - 1 - len);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
		else
			usleep(1000);
	}
	out[len] = '\0';
}

static void test_server_answers_and_survives_bad_requests(void)
{
	struct control *c = server(4);
	struct stat st;
	char answer[4096], big[CONTROL_MAX_REQUEST + 100];
	int fd;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(stat(sock_path, &st) == 0 && (st.st_mode & 0777) == 0660);
	fd = client();
	CHECK(write(fd, "{\"command\":\"stats\"}\n", 20) == 20);
	read_answer(c, fd, answer, sizeof(answer));
	CHECK(strcmp(answer, "{\"ok\":true,\"text\":\"answer to 3\\n\"}\n") == 0);
	close(fd);

	fd = client();
	CHECK(write(fd, "{\"command\":", 11) == 11);
	shutdown(fd, SHUT_WR);	/* the request ends at EOF */
	read_answer(c, fd, answer, sizeof(answer));
	CHECK(strstr(answer, "\"status\":\"bad-request\"") &&
	      strstr(answer, "malformed"));
	close(fd);

	memset(big, 'a', sizeof(big));
	fd = client();
	CHECK(write(fd, big, sizeof(big)) == (ssize_t)sizeof(big));
	read_answer(c, fd, answer, sizeof(answer));
	CHECK(strstr(answer, "larger than 4096 bytes") != NULL);
	close(fd);
	CHECK(answered == 1);
	CHECK(c->n_conns == 0);
	server_done(c);
}

static void test_server_busy_and_timeout(void)
{
	struct control *c = server(2);
	char answer[4096];
	int idle1, idle2, fd;

	if (!c)
		return;
	answered = 0;
	idle1 = client();
	idle2 = client();
	control_serve(c, 1000);
	CHECK(c->n_conns == 2);
	fd = client();
	read_answer(c, fd, answer, sizeof(answer));
	CHECK(strstr(answer, "\"status\":\"busy\"") != NULL);
	close(fd);
	/* control_timeout is 2 s: at 2.999 s they stay, at 3 s they go */
	control_expire(c, 2999);
	CHECK(c->n_conns == 2);
	control_expire(c, 3000);
	CHECK(c->n_conns == 0);
	CHECK(read(idle1, answer, 1) == 0 && read(idle2, answer, 1) == 0);
	close(idle1);
	close(idle2);
	fd = client();
	CHECK(write(fd, "{\"command\":\"status\"}\n", 21) == 21);
	read_answer(c, fd, answer, sizeof(answer));
	CHECK(answered == 1 && strstr(answer, "answer to 0"));
	close(fd);
	server_done(c);
}

/* A client that never reads a large answer: the server writes what the
 * socket takes and returns to the loop. */
static void test_server_never_blocks_on_a_stuck_reader(void)
{
	struct control *c = server(2);
	struct control_conn *conn;
	int fd;

	if (!c)
		return;
	big_answer = 8u << 20;
	fd = client();
	CHECK(write(fd, "{\"command\":\"flows\"}\n", 20) == 20);
	for (int i = 0; i < 5; i++)
		control_serve(c, 1000);
	conn = c->conns;
	CHECK(conn && conn->answered && conn->out_sent > 0 &&
	      conn->out_sent < conn->out.len);
	control_expire(c, 3000);
	CHECK(c->n_conns == 0);
	big_answer = 0;
	close(fd);
	server_done(c);
}

static void test_open_refuses_a_live_socket_and_other_files(void)
{
	struct control *c = server(2), *again;
	char file[160];
	int fd;

	if (!c)
		return;
	again = control_open(sock_path, 2, 2, stub_answer, NULL);
	CHECK(!again && errno == EADDRINUSE);
	server_done(c);
	c = server(2);
	if (!c)
		return;
	snprintf(file, sizeof(file), "%s.file", sock_path);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	close(fd);
	again = control_open(file, 2, 2, stub_answer, NULL);
	CHECK(!again && errno == EEXIST && access(file, F_OK) == 0);
	unlink(file);
	server_done(c);
}

/* ---- stats -------------------------------------------------------------- */

static void test_stats_bounded(void)
{
	static struct decision_stats st;
	struct flow_key flow = { .family = AF_INET, .proto = IPPROTO_TCP,
				 .server = { 198, 51, 100, 20 } };
	struct epm_endpoint ep = { .port = 6001 };

	stats_count(&st, &flow, &ep, GATE_OPEN);
	stats_count(&st, &flow, &ep, GATE_IFACE);
	stats_count(&st, &flow, &ep, GATE_DRIFT);
	ep.port = 6002;
	stats_count(&st, &flow, &ep, GATE_DRIFT);
	CHECK(st.n_servers == 1 && st.servers[0].by_reason[GATE_OPEN] == 1 &&
	      stats_refused(&st.servers[0]) == 1);
	CHECK(st.n_drift == 1 && st.drift[0].count == 2 &&
	      st.drift[0].last_port == 6002);
	for (unsigned i = 0; i < STATS_MAX_SERVERS + 10; i++) {
		flow.server[2] = (uint8_t)(i >> 8);
		flow.server[3] = (uint8_t)i;
		flow.server[1] = 52;
		stats_count(&st, &flow, &ep, GATE_NOT_SERVER);
	}
	CHECK(st.n_servers == STATS_MAX_SERVERS);
	CHECK(st.other_servers.by_reason[GATE_NOT_SERVER] == 11);
	CHECK(st.by_reason[GATE_NOT_SERVER] == STATS_MAX_SERVERS + 10);
}

int main(void)
{
	RUN(test_json_members);
	RUN(test_json_strict);
	RUN(test_json_writer_round_trip);
	RUN(test_requests);
	RUN(test_answer_text_and_json);
	RUN(test_server_answers_and_survives_bad_requests);
	RUN(test_server_busy_and_timeout);
	RUN(test_server_never_blocks_on_a_stuck_reader);
	RUN(test_open_refuses_a_live_socket_and_other_files);
	RUN(test_stats_bounded);
	UNIT_EXIT();
}
