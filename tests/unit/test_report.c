/* The port-pinning report: counting, stability, bounds and both formats. */
#include "../../daemon/report.c"
#include "unit.h"

static const uint8_t server4[4] = { 198, 51, 100, 20 };

static struct epm_endpoint endpoint(const char *uuid, enum epm_proto proto,
				    uint16_t port)
{
	struct epm_endpoint ep = { .proto = proto, .port = port,
				   .iface_major = 0, .iface_minor = 81 };

	uuid_parse(uuid, &ep.iface);
	return ep;
}

#define EMSMDB "a4f1db00-ca47-1067-b31f-00dd010662da"
#define NSPI "f5cc5a18-4264-101a-8c59-08002b2f8426"
#define SAMR "12345778-1234-abcd-ef00-0123456789ac"

/* The report as text, NUL-terminated, read back from a temporary file. */
static char *print(const struct report *r, bool json)
{
	FILE *out = tmpfile();
	char *text = calloc(1, 65536);

	if (json)
		report_print_json(r, out);
	else
		report_print(r, out);
	rewind(out);
	if (fread(text, 1, 65535, out) == 0)
		text[0] = '\0';
	fclose(out);
	return text;
}

static void test_stable_port_gives_config_and_rule(void)
{
	struct report r;
	struct epm_endpoint ems = endpoint(EMSMDB, EPM_PROTO_TCP, 6001);
	struct epm_endpoint nspi = endpoint(NSPI, EPM_PROTO_TCP, 6004);
	char *text;

	CHECK(report_init(&r, 16));
	for (int i = 0; i < 3; i++)
		report_add(&r, AF_INET, server4, &ems);
	report_add(&r, AF_INET, server4, &nspi);
	CHECK(r.n_entries == 2);
	text = print(&r, false);
	CHECK(strstr(text, "EMSMDB " EMSMDB " v0.81, tcp: 6001 (3 answers)") != NULL);
	CHECK(strstr(text, "NSPI " NSPI " v0.81, tcp: 6004 (1 answer)") != NULL);
	CHECK(strstr(text, "MSExchangeAB\\Parameters\\RpcTcpPort") != NULL);
	CHECK(strstr(text, "{ interface = \"EMSMDB\"; ports = [ 6001 ]; },\n"
			   "        { interface = \"NSPI\"; ports = [ 6004 ]; }\n") != NULL);
	CHECK(strstr(text, "ip daddr 198.51.100.20 tcp dport { 6001, 6004 } ct state new accept") != NULL);
	free(text);
	report_release(&r);
}

static void test_varying_port_is_left_out(void)
{
	struct report r;
	char *text;

	CHECK(report_init(&r, 16));
	for (uint16_t port = 50000; port < 50020; port++) {
		struct epm_endpoint ep = endpoint(EMSMDB, EPM_PROTO_TCP, port);

		report_add(&r, AF_INET, server4, &ep);
	}
	/* past PORTS_KEPT distinct ports only the count grows */
	CHECK(r.entries[0].n_ports == PORTS_KEPT);
	CHECK(r.entries[0].other_answers == 20 - PORTS_KEPT);
	text = print(&r, false);
	CHECK(strstr(text, "varies: not pinned") != NULL);
	CHECK(strstr(text, "other ports (12 answers)") != NULL);
	CHECK(strstr(text, "no interface of this server has a stable TCP port") != NULL);
	CHECK(strstr(text, "fixed_ports") == NULL);
	free(text);
	text = print(&r, true);
	CHECK(strstr(text, "\"stable\":false") != NULL);
	CHECK(strstr(text, "\"other_answers\":12") != NULL);
	free(text);
	report_release(&r);
}

static void test_entries_are_bounded(void)
{
	struct report r;
	struct epm_endpoint ep = endpoint(SAMR, EPM_PROTO_TCP, 49152);
	uint8_t server[4] = { 198, 51, 100, 0 };
	char *text;

	CHECK(report_init(&r, 4));
	for (int i = 1; i <= 10; i++) {
		server[3] = (uint8_t)i;
		report_add(&r, AF_INET, server, &ep);
	}
	CHECK(r.n_entries == 4);
	CHECK(r.dropped == 6);
	text = print(&r, false);
	CHECK(strstr(text, "(6 answers not counted") != NULL);
	/* no registry value is known for SAMR */
	CHECK(strstr(text, "no registry value known") != NULL);
	free(text);
	report_release(&r);
}

static void test_servers_grouped_and_ipv6_rule(void)
{
	struct report r;
	uint8_t server6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2 };
	struct epm_endpoint ems = endpoint(EMSMDB, EPM_PROTO_TCP, 6001);
	struct epm_endpoint http = endpoint(NSPI, EPM_PROTO_HTTP, 6004);
	char *text;

	server6[15] = 0x20;
	CHECK(report_init(&r, 16));
	report_add(&r, AF_INET6, server6, &ems);
	report_add(&r, AF_INET, server4, &ems);
	report_add(&r, AF_INET6, server6, &http);
	text = print(&r, false);
	/* IPv4 servers first, each server's interfaces together */
	CHECK(strstr(text, "server 198.51.100.20\n") < strstr(text, "server 2001:db8:2::20\n"));
	CHECK(strstr(text, "RPC over HTTP") != NULL);
	CHECK(strstr(text, "ip6 daddr 2001:db8:2::20 tcp dport { 6001 }") != NULL);
	free(text);
	text = print(&r, true);
	CHECK(strstr(text, "\"proto\":\"http\"") != NULL);
	CHECK(strstr(text, "RpcTcpPort") != NULL);
	free(text);
	report_release(&r);
}

int main(void)
{
	RUN(test_stable_port_gives_config_and_rule);
	RUN(test_varying_port_is_left_out);
	RUN(test_entries_are_bounded);
	RUN(test_servers_grouped_and_ipv6_rule);
	UNIT_EXIT();
}
