/*
 * Configuration: prefixes, presets, defaults, and loading good and bad
 * files written to a temporary directory.  Run from the repository root
 * (tests/run.sh does), where conf/rpcgate.conf is.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../daemon/config.c"
#include "unit.h"

#define SHIPPED "conf/rpcgate.conf"

static char tmpdir[] = "/tmp/rpcgate-test-config.XXXXXX";
static char conf_path[sizeof(tmpdir) + 32];
static char errs[16384];	/* what the last load() reported */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

/* Loads text as a file; the problems reported land in errs. */
static int load(const char *text, struct rpcgate_config *cfg)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	int n;

	snprintf(conf_path, sizeof(conf_path), "%s/t.conf", tmpdir);
	write_file(conf_path, text);
	n = config_load(conf_path, cfg, out);
	fclose(out);
	snprintf(errs, sizeof(errs), "%s", buf ? buf : "");
	free(buf);
	return n;
}

#define SERVERS "servers = [\"198.51.100.0/24\"];\n"

/* errs holds a line "t.conf:LINE: want" (want may be a leading part) */
static bool reported(int line, const char *want)
{
	char prefix[sizeof(conf_path) + 16];

	snprintf(prefix, sizeof(prefix), "%s:%d: %s", conf_path, line, want);
	for (const char *l = errs; *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, prefix, strlen(prefix)) == 0)
			return true;
		if (!strchr(l, '\n'))
			break;
	}
	printf("#   no \"%s\" in:\n%s", prefix, errs);
	return false;
}

static size_t lines_in(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* Each parses to its family and length, and prints back as canonical. */
static void test_prefix_parse(void)
{
	static const struct {
		const char *text;
		int family, len;
		const char *canonical;
	} good[] = {
		{ "198.51.100.0/24", AF_INET, 24, "198.51.100.0/24" },
		{ "198.51.100.7", AF_INET, 32, "198.51.100.7/32" },
		{ "198.51.100.7/32", AF_INET, 32, "198.51.100.7/32" },
		{ "0.0.0.0/0", AF_INET, 0, "0.0.0.0/0" },
		{ "198.51.100.128/25", AF_INET, 25, "198.51.100.128/25" },
		{ "2001:db8::/32", AF_INET6, 32, "2001:db8::/32" },
		{ "2001:DB8:1:0::/64", AF_INET6, 64, "2001:db8:1::/64" },
		{ "2001:db8::1", AF_INET6, 128, "2001:db8::1/128" },
		{ "2001:db8::1/128", AF_INET6, 128, "2001:db8::1/128" },
		{ "::/0", AF_INET6, 0, "::/0" },
		{ "::ffff:198.51.100.7", AF_INET6, 128, "::ffff:198.51.100.7/128" },
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct addr_prefix p;
		char text[PREFIX_TEXT_MAX] = "";
		bool ok = prefix_parse(good[i].text, &p);

		if (ok)
			prefix_format(&p, text);
		if (!ok || p.family != good[i].family || p.len != good[i].len ||
		    strcmp(text, good[i].canonical) != 0) {
			printf("#   \"%s\": got \"%s\"\n", good[i].text, text);
			CHECK(!"prefix parsed wrong");
		}
	}
}

static void test_prefix_host_bits(void)
{
	struct addr_prefix p;
	char text[PREFIX_TEXT_MAX];

	CHECK(!prefix_parse("198.51.100.1/24", &p));
	CHECK(!prefix_parse("0.0.0.1/0", &p));
	CHECK(!prefix_parse("198.51.100.129/24", &p));
	CHECK(!prefix_parse("2001:db8::1/64", &p));
	CHECK(!prefix_parse("::1/0", &p));
	CHECK(!prefix_parse("2001:db8::1/127", &p));
	/* the detail says which network was meant */
	CHECK(prefix_parse_detail("198.51.100.77/26", &p) == PREFIX_HOST_BITS);
	prefix_format(&p, text);
	CHECK(strcmp(text, "198.51.100.64/26") == 0);
	CHECK(prefix_parse_detail("2001:db8:1::ff/120", &p) == PREFIX_HOST_BITS);
	prefix_format(&p, text);
	CHECK(strcmp(text, "2001:db8:1::/120") == 0);
}

static void test_prefix_garbage(void)
{
	static const char *const bad[] = {
		"", "/24", "/", "198.51.100.0/", "198.51.100.0/33",
		"2001:db8::/129", "198.51.100.300", "1.2.3", "198.51.100",
		"198.51.100.0/24 ", " 198.51.100.0/24", "198.51.100.0/-1",
		"198.51.100.0/+8", "198.51.100.0/1x", "198.51.100.0/0024",
		"198.51.100.0/24/24", "fe80::1%eth0", "2001:db8:::1",
		"2001:db8::g", "exchange", "localhost", "0x7f000001",
		"198.51.100.0/999999999999",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999/64",
	};
	struct addr_prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (prefix_parse(bad[i], &p)) {
			printf("#   \"%s\" parsed\n", bad[i]);
			CHECK(!"garbage parsed as a prefix");
		}
	CHECK(prefix_parse_detail("198.51.100.0/33", &p) == PREFIX_BAD_LEN);
	CHECK(prefix_parse_detail("198.51.100.0/", &p) == PREFIX_BAD_LEN);
	CHECK(prefix_parse_detail("198.51.100.300", &p) == PREFIX_BAD_ADDR);
}

static void test_prefix_contains(void)
{
	static const struct {
		const char *prefix, *addr;
		bool in;
	} cases[] = {
		{ "198.51.100.0/24", "198.51.100.7", true },
		{ "198.51.100.0/24", "198.51.100.255", true },
		{ "198.51.100.0/24", "198.51.101.7", false },
		{ "198.51.100.0/25", "198.51.100.127", true },
		{ "198.51.100.0/25", "198.51.100.128", false },
		{ "198.51.100.7", "198.51.100.7", true },
		{ "198.51.100.7/32", "198.51.100.6", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "0.0.0.0/0", "2001:db8::1", false },
		{ "::/0", "2001:db8::1", true },
		{ "::/0", "198.51.100.7", false },
		{ "2001:db8:1::/64", "2001:db8:1::abcd", true },
		{ "2001:db8:1::/64", "2001:db8:2::abcd", false },
		{ "2001:db8::/127", "2001:db8::1", true },
		{ "2001:db8::/127", "2001:db8::2", false },
		{ "2001:db8::1/128", "2001:db8::1", true },
		{ "2001:db8::1/128", "2001:db8::3", false },
		/* an IPv4-mapped IPv6 address is IPv6 */
		{ "198.51.100.0/24", "::ffff:198.51.100.7", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct addr_prefix p, a;

		CHECK(prefix_parse(cases[i].prefix, &p));
		CHECK(prefix_parse(cases[i].addr, &a));
		if (prefix_contains(&p, a.family, a.addr) != cases[i].in) {
			printf("#   %s in %s: want %d\n", cases[i].addr,
			       cases[i].prefix, cases[i].in);
			CHECK(!"prefix_contains");
		}
	}
}

static struct uuid iface(const char *text)
{
	struct uuid u;

	memset(&u, 0, sizeof(u));
	CHECK(uuid_parse(text, &u));
	return u;
}

#define EMSMDB "a4f1db00-ca47-1067-b31f-00dd010662da"
#define ASYNC "5261574a-4572-206e-b268-6b199213b4e4"
#define NSPI "f5cc5a18-4264-101a-8c59-08002b2f8426"
#define RFR "1544f5e0-613c-11d1-93df-00c04fd7bd09"
#define DRSUAPI "e3514235-4b06-11d1-ab04-00c04fc2dcd2"

/* Whether the top level's policy allows the interface. */
static bool allows(const struct rpcgate_config *cfg, const char *text)
{
	struct uuid u = iface(text);

	return policy_allows_iface(&cfg->groups[0], &u);
}

static void test_defaults(void)
{
	struct rpcgate_config cfg;
	static const uint16_t deny[] = { 135, 139, 445, 593, 3389 };
	static const uint16_t epm[] = { 135, 593 };
	struct addr_prefix a;

	memset(&cfg, 0xa5, sizeof(cfg));
	config_defaults(&cfg);
	CHECK(cfg.n_servers == 0);
	CHECK(prefix_parse("198.51.100.7", &a));
	CHECK(!policy_has_server(&cfg, a.family, a.addr));
	CHECK(policy_of_server(&cfg, a.family, a.addr) == NULL);
	CHECK(cfg.n_groups == 1);
	CHECK(!cfg.groups[0].any_iface);
	CHECK(cfg.groups[0].n_ifaces == 4);
	CHECK(allows(&cfg, EMSMDB) && allows(&cfg, ASYNC) &&
	      allows(&cfg, NSPI) && allows(&cfg, RFR));
	CHECK(!allows(&cfg, DRSUAPI));
	CHECK(cfg.groups[0].mode == MODE_DYNAMIC);
	CHECK(cfg.groups[0].n_fixed == 0);
	CHECK(!cfg.groups[0].fixed_require_lookup);
	CHECK(!cfg.groups[0].allow_lookup);
	CHECK(cfg.groups[0].line == 0);
	CHECK(policy_denies_port(&cfg, 445) && policy_denies_port(&cfg, 3389));
	CHECK(!policy_denies_port(&cfg, 6001) && !policy_denies_port(&cfg, 0));
	CHECK(cfg.pinhole_timeout == 120);
	CHECK(cfg.port_min == 1024 && cfg.port_max == 65535);
	CHECK(cfg.n_deny_ports == 5 &&
	      memcmp(cfg.deny_ports, deny, sizeof(deny)) == 0);
	CHECK(cfg.n_epm_ports == 2 &&
	      memcmp(cfg.epm_ports, epm, sizeof(epm)) == 0);
	CHECK(cfg.max_pinholes_per_client == 64);
	CHECK(cfg.max_pinholes == 65536);
	CHECK(cfg.max_flows == 4096);
	CHECK(cfg.max_buffer_bytes == 65536);
	CHECK(cfg.max_held_segments == 256);
	CHECK(cfg.max_call_bytes == 262144);
	CHECK(cfg.flow_idle_timeout == 300);
	CHECK(cfg.control_max_clients == 16);
	CHECK(cfg.control_timeout == 10);
	CHECK(cfg.log_burst == 20);
	CHECK(cfg.log_interval == 10);
	CHECK(cfg.on_failure == ON_FAILURE_OPEN);
	CHECK(!cfg.revoke_established);
	CHECK(cfg.queue_num == 135);
	CHECK(cfg.queue_max_len == 4096);
	CHECK(cfg.nft_mode == NFT_MODE_TABLE);
	CHECK(strcmp(cfg.nft_table, "rpcgate") == 0);
	CHECK(cfg.pinhole_mark == 0x00100000);
	CHECK(cfg.reverse_path_mark == 0x00200000);
	CHECK(cfg.published_mark == 0x00800000);
	CHECK(cfg.log_verbose == 0);
}

/* The shipped file documents the defaults: loaded, it is the defaults
 * but for its servers. */
static void test_shipped_file_is_the_defaults(void)
{
	struct rpcgate_config cfg, def;
	struct addr_prefix a;

	CHECK(config_load(SHIPPED, &cfg, stdout) == 0);
	CHECK(cfg.n_servers == 2);
	CHECK(prefix_parse("198.51.100.20", &a));
	CHECK(policy_has_server(&cfg, a.family, a.addr));
	CHECK(prefix_parse("2001:db8:1::20", &a));
	CHECK(policy_has_server(&cfg, a.family, a.addr));
	config_defaults(&def);
	memcpy(def.servers, cfg.servers, sizeof(def.servers));
	def.n_servers = cfg.n_servers;
	CHECK(memcmp(&cfg, &def, sizeof(cfg)) == 0);
}

static void test_load_minimal(void)
{
	struct rpcgate_config cfg, def;
	struct addr_prefix a;

	CHECK(load(SERVERS, &cfg) == 0);
	CHECK(errs[0] == '\0');
	CHECK(cfg.n_servers == 1);
	CHECK(prefix_parse("198.51.100.200", &a));
	CHECK(policy_has_server(&cfg, a.family, a.addr));
	CHECK(prefix_parse("198.51.101.200", &a));
	CHECK(!policy_has_server(&cfg, a.family, a.addr));
	config_defaults(&def);
	def.servers[0] = cfg.servers[0];
	def.n_servers = 1;
	CHECK(memcmp(&cfg, &def, sizeof(cfg)) == 0);
}

static void test_load_every_key(void)
{
	struct rpcgate_config cfg, want;

	CHECK(load("servers = ( \"198.51.100.7\", \"2001:db8:1::/64\",\n"
		   "  \"198.51.100.7\" );\n"
		   "interfaces = [ \"" DRSUAPI "\", \"" NSPI "\" ];\n"
		   "mode = \"fixed\";\n"
		   "fixed_ports = ( 6001, { interface = \"NSPI\"; "
		   "ports = [ 6004, 6001 ]; }, 6001 );\n"
		   "fixed_require_lookup = true;\n"
		   "allow_lookup = true;\n"
		   "groups = (\n"
		   "  { servers = [ \"203.0.113.0/28\" ];\n"
		   "    mode = \"dynamic\"; allow_lookup = false; }\n"
		   ");\n"
		   "pinhole_timeout = 30;\n"
		   "port_range = [ 6000, 65535 ];\n"
		   "deny_ports = [ 3389, 3389 ];\n"
		   "epm_ports = [ 135, 1135 ];\n"
		   "max_pinholes_per_client = 8;\n"
		   "max_pinholes = 1000;\n"
		   "max_flows = 100L;\n"
		   "max_flows_per_client = 10;\n"
		   "max_udp_flows_per_client = 3;\n"
		   "max_buffer_bytes = 4096;\n"
		   "max_held_segments = 65536;\n"
		   "max_call_bytes = 16777216;\n"
		   "flow_idle_timeout = 86400;\n"
		   "flow_handshake_timeout = 2;\n"
		   "ipv6_host_prefix = 56;\n"
		   "on_failure = \"closed\";\n"
		   "revoke_established = true;\n"
		   "queue_num = 0;\n"
		   "queue_max_len = 16;\n"
		   "nft_mode = \"sets\";\n"
		   "nft_table = \"filter_2\";\n"
		   "state_file = \"/run/rpcgate/state/filter_2\";\n"
		   "pinhole_mark = 0x80000000;\n"
		   "reverse_path_mark = 0x40000000;\n"
		   "sync_pinholes = true;\n"
		   "sync_mark = 0x00010000;\n"
		   "published_mark = 0x20000000;\n"
		   "log_level = \"debug\";\n"
		   "control_max_clients = 4;\n"
		   "control_timeout = 60;\n"
		   "log_burst = 5;\n"
		   "log_interval = 2;\n", &cfg) == 0);
	/* what that must be, field by field: memcmp catches any other */
	memset(&want, 0, sizeof(want));
	CHECK(prefix_parse("198.51.100.7", &want.servers[0]));
	CHECK(prefix_parse("2001:db8:1::/64", &want.servers[1]));
	CHECK(prefix_parse("203.0.113.0/28", &want.servers[2]));
	want.server_group[2] = 1;
	want.n_servers = 3;	/* the repeated address is one */
	want.n_groups = 2;
	want.groups[0].ifaces[0] = iface(DRSUAPI);
	want.groups[0].ifaces[1] = iface(NSPI);
	want.groups[0].n_ifaces = 2;	/* the list replaces the default */
	want.groups[0].mode = MODE_FIXED;
	want.groups[0].fixed[0].any_iface = true;
	want.groups[0].fixed[0].port = 6001;
	want.groups[0].fixed[1].iface = iface(NSPI);
	want.groups[0].fixed[1].port = 6004;
	want.groups[0].fixed[2].iface = iface(NSPI);
	want.groups[0].fixed[2].port = 6001;
	want.groups[0].n_fixed = 3;	/* the repeated plain 6001 is one */
	want.groups[0].fixed_require_lookup = true;
	want.groups[0].allow_lookup = true;
	/* the group: the top level but for what it sets, and its line */
	memcpy(&want.groups[1], &want.groups[0], sizeof(want.groups[1]));
	want.groups[1].mode = MODE_DYNAMIC;
	want.groups[1].allow_lookup = false;
	want.groups[1].line = 9;
	want.pinhole_timeout = 30;
	want.port_min = 6000;
	want.port_max = 65535;
	want.deny_ports[0] = 3389;
	want.n_deny_ports = 1;
	want.epm_ports[0] = 135;
	want.epm_ports[1] = 1135;
	want.n_epm_ports = 2;
	want.max_pinholes_per_client = 8;
	want.max_pinholes = 1000;
	want.max_flows = 100;
	want.max_flows_per_client = 10;
	want.max_udp_flows_per_client = 3;
	want.max_buffer_bytes = 4096;
	want.max_held_segments = 65536;
	want.max_call_bytes = 16777216;
	want.flow_idle_timeout = 86400;
	want.flow_handshake_timeout = 2;
	want.ipv6_host_prefix = 56;
	want.on_failure = ON_FAILURE_CLOSED;
	want.revoke_established = true;
	want.queue_num = 0;
	want.queue_max_len = 16;
	want.nft_mode = NFT_MODE_SETS;
	strcpy(want.nft_table, "filter_2");
	strcpy(want.state_file, "/run/rpcgate/state/filter_2");
	want.pinhole_mark = 0x80000000u;
	want.reverse_path_mark = 0x40000000u;
	want.sync_pinholes = true;
	want.sync_mark = 0x00010000u;
	want.published_mark = 0x20000000u;
	want.log_verbose = 1;
	want.control_max_clients = 4;
	want.control_timeout = 60;
	want.log_burst = 5;
	want.log_interval = 2;
	CHECK(memcmp(&cfg, &want, sizeof(cfg)) == 0);
	CHECK(!allows(&cfg, EMSMDB));
}

static void test_presets(void)
{
	struct rpcgate_config cfg;

	CHECK(load(SERVERS "interfaces = [\"any\"];\n", &cfg) == 0);
	CHECK(cfg.groups[0].any_iface);
	CHECK(allows(&cfg, DRSUAPI));
	/* duplicates are harmless */
	CHECK(load(SERVERS "interfaces = [\"exchange\", \"" NSPI "\", "
		   "\"exchange\", \"" EMSMDB "\"];\n", &cfg) == 0);
	CHECK(!cfg.groups[0].any_iface && cfg.groups[0].n_ifaces == 4);
	CHECK(allows(&cfg, RFR) && !allows(&cfg, DRSUAPI));
	/* upper-case UUIDs are the same interface */
	CHECK(load(SERVERS "interfaces = [\"A4F1DB00-CA47-1067-B31F-00DD010662DA\"];\n",
		   &cfg) == 0);
	CHECK(cfg.groups[0].n_ifaces == 1 && allows(&cfg, EMSMDB));
	/* presets are lower case, and a near miss says so */
	CHECK(load(SERVERS "interfaces = [\"Exchange\", \"exchang\"];\n",
		   &cfg) == 2);
	CHECK(reported(2, "interfaces[0]: \"Exchange\" is not a preset"));
	CHECK(strstr(errs, "interfaces[1]: \"exchang\" is not a preset "
			   "(\"exchange\" or \"any\"), an interface name "
			   "(EMSMDB, AsyncEMSMDB, NSPI or RFR) or an interface "
			   "UUID (did you mean \"exchange\"?)"));
	CHECK(load(SERVERS "interfaces = [\"a4f1db00-ca47-1067-b31f-00dd010662d\"];\n",
		   &cfg) == 1);
	CHECK(reported(2, "interfaces[0]: \"a4f1db00-ca47-1067-b31f-00dd010662d\" "
			  "is not an interface UUID"));
	CHECK(load(SERVERS "interfaces = [];\n", &cfg) == 1);
	CHECK(reported(2, "interfaces: no interfaces configured"));
}

static void test_servers_required(void)
{
	struct rpcgate_config cfg;
	char want[sizeof(conf_path) + 64];

	CHECK(load("pinhole_timeout = 60;\n", &cfg) == 1);
	snprintf(want, sizeof(want),
		 "%s: servers: no endpoint-mapper servers configured\n",
		 conf_path);
	CHECK(strcmp(errs, want) == 0);
	CHECK(load("\n\nservers = [];\n", &cfg) == 1);
	CHECK(reported(3, "servers: no endpoint-mapper servers configured"));
	CHECK(load("", &cfg) == 1);
}

static void test_bad_values_each_reported(void)
{
	struct rpcgate_config cfg;
	const char *text =
		"servers = [\"198.51.100.300\", \"198.51.100.1/24\", "
		"\"2001:db8::/129\"];\n"
		"pinhole_timeout = \"120\";\n"
		"pinhole_timout = 120;\n"
		"port_range = [65535, 1024];\n"
		"deny_ports = [0, 70000];\n"
		"on_failure = \"clsoed\";\n"
		"revoke_established = 1;\n"
		"nft_table = \"rpc-gate\";\n"
		"pinhole_mark = 0x3;\n"
		"max_buffer_bytes = 4095;\n"
		"queue_num = 65536;\n"
		"log_level = \"verbose\";\n"
		"epm_ports = [];\n"
		"max_flows = 1.5;\n"
		"nft_mode = [\"table\"];\n"
		"state_file = \"/run/rpcgate/\";\n";

	CHECK(load(text, &cfg) == 19);
	CHECK(lines_in(errs) == 19);
	CHECK(reported(1, "servers[0]: \"198.51.100.300\" is not an IPv4 or "
			  "IPv6 address or prefix"));
	CHECK(reported(1, "servers[1]: \"198.51.100.1/24\" has host bits set "
			  "(the network is 198.51.100.0/24)"));
	CHECK(reported(1, "servers[2]: \"2001:db8::/129\" has a bad prefix length"));
	CHECK(reported(2, "pinhole_timeout: expected an integer number of "
			  "seconds (1-86400), got a string"));
	CHECK(reported(3, "unknown key \"pinhole_timout\" (did you mean "
			  "\"pinhole_timeout\"?)"));
	CHECK(reported(4, "port_range: the low port 65535 is above the high "
			  "port 1024"));
	CHECK(reported(5, "deny_ports[0]: expected a port number (1-65535), got 0"));
	CHECK(reported(5, "deny_ports[1]: expected a port number (1-65535), "
			  "got 70000"));
	CHECK(reported(6, "on_failure: expected \"open\" or \"closed\", got "
			  "\"clsoed\" (did you mean \"closed\"?)"));
	CHECK(reported(7, "revoke_established: expected true or false, got an "
			  "integer"));
	CHECK(reported(8, "nft_table: expected an nftables table name"));
	CHECK(reported(9, "pinhole_mark: expected an integer with exactly one "
			  "bit set (e.g. 0x00100000), got 0x3"));
	CHECK(reported(10, "max_buffer_bytes: expected an integer number of "
			   "bytes (4096-16777216), got 4095"));
	CHECK(reported(11, "queue_num: expected an NFQUEUE number (0-65535), "
			   "got 65536"));
	CHECK(reported(12, "log_level: expected \"info\" or \"debug\", got "
			   "\"verbose\""));
	CHECK(reported(13, "epm_ports: no endpoint-mapper ports configured"));
	CHECK(reported(14, "max_flows: expected an integer number of flows "
			   "(1-1048576), got a floating-point number"));
	CHECK(reported(15, "nft_mode: expected \"table\" or \"sets\", got an "
			   "array"));
	CHECK(reported(16, "state_file: expected an absolute file path"));
}

/* The queue's length: its receive buffer must fit the kernel's int. */
static void test_queue_max_len_range(void)
{
	struct rpcgate_config cfg;

	CHECK(load(SERVERS "queue_max_len = 16000;\n", &cfg) == 0);
	CHECK(cfg.queue_max_len == 16000);
	CHECK(load(SERVERS "queue_max_len = 15;\n", &cfg) == 1);
	CHECK(reported(2, "queue_max_len: expected an integer number of "
			  "packets (16-16000), got 15"));
	CHECK(load(SERVERS "queue_max_len = 16001;\n", &cfg) == 1);
}

/* A file with problems leaves cfg as it was. */
static void test_bad_file_leaves_cfg_alone(void)
{
	struct rpcgate_config cfg, before;

	memset(&cfg, 0x5a, sizeof(cfg));
	before = cfg;
	CHECK(load(SERVERS "pinhole_timeout = 0;\n", &cfg) == 1);
	CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
	CHECK(load("servers = [\n", &cfg) == 1);
	CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}

static void test_syntax_error_line(void)
{
	struct rpcgate_config cfg;

	CHECK(load(SERVERS "\npinhole_timeout = ;\n", &cfg) == 1);
	CHECK(reported(3, "syntax error"));
	CHECK(load(SERVERS "max_flows = 1;\nmax_flows = 2;\n", &cfg) == 1);
	CHECK(reported(3, "duplicate setting name"));
	CHECK(load(SERVERS "deny_ports = [1, \"2\"];\n", &cfg) == 1);
	CHECK(reported(2, "mismatched element type in array"));
}

/*
 * An element is reported on its own line.  libconfig 1.5 gives a string
 * element the line of the token after it, and "adjacent" "strings" are
 * one string.
 */
static void test_element_lines(void)
{
	struct rpcgate_config cfg;

	CHECK(load("servers = [\n"
		   "  \"198.51.100.0/24\",\n"
		   "  \"198.51.\" \"100.1/24\"\n"
		   "\n"
		   "  , \"2001:db8::/\"\n"
		   "    \"200\" # 3000000000\n"
		   "];\n"
		   "deny_ports = (1,\n"
		   " \"x\", 0,\n"
		   " 5000000000);\n", &cfg) == 5);
	CHECK(reported(3, "servers[1]: \"198.51.100.1/24\" has host bits set"));
	CHECK(reported(5, "servers[2]: \"2001:db8::/200\" has a bad prefix "
			  "length"));
	CHECK(reported(9, "deny_ports[1]: expected a port number (1-65535), "
			  "got a string"));
	CHECK(reported(9, "deny_ports[2]: expected a port number (1-65535), "
			  "got 0"));
	CHECK(reported(10, "deny_ports[3]: expected a port number (1-65535), "
			   "got 5000000000"));
}

/* libconfig 1.5 wraps integers past 32 bits; the loader does not. */
static void test_wrapped_integers(void)
{
	static const struct {
		const char *text, *error;
	} published_refused[] = {
		{ SERVERS "published_mark = 0x00600000;\n",
		  "published_mark: expected an integer with exactly one bit set "
		  "(e.g. 0x00800000), got 0x600000" },
		{ SERVERS "published_mark = 0x00100000;\n",
		  "published_mark and pinhole_mark are both 0x00100000: they must "
		  "be different bits" },
		{ SERVERS "published_mark = 0x00200000;\n",
		  "published_mark and reverse_path_mark are both 0x00200000: they "
		  "must be different bits" },
	};
	struct rpcgate_config cfg;

	/* 4294967416 is 120 to libconfig */
	CHECK(load(SERVERS "pinhole_timeout = 120;\nflow_idle_timeout = "
		   "4294967416;\n", &cfg) == 1);
	CHECK(reported(3, "flow_idle_timeout: expected an integer number of "
			  "seconds (1-86400), got 4294967416"));
	CHECK(load(SERVERS "max_flows =\n\n 4294971392;\n", &cfg) == 1);
	CHECK(reported(2, "max_flows: expected an integer number of flows "
			  "(1-1048576), got 4294971392"));
	CHECK(load(SERVERS "deny_ports = [135, 0x10000000087];\n", &cfg) == 1);
	CHECK(reported(2, "deny_ports[1]: expected a port number (1-65535), "
			  "got 0x10000000087"));
	CHECK(load(SERVERS "max_pinholes = 99999999999999999999L;\n", &cfg) == 1);
	CHECK(reported(2, "max_pinholes: expected an integer number of "
			  "pinholes (1-1048576), got 99999999999999999999"));
	/* numbers in comments and strings are not literals */
	CHECK(load(SERVERS "# 5000000000\n/* 6000000000 \" */ x = \"7000000000\";\n"
		   "// 8000000000\nmax_flows = 4294967297;\n", &cfg) == 2);
	CHECK(reported(3, "unknown key \"x\""));
	CHECK(reported(5, "max_flows: expected an integer number of flows "
			  "(1-1048576), got 4294967297"));
	/* a decimal past INT_MAX is still a good mark */
	CHECK(load(SERVERS "pinhole_mark = 2147483648;\n", &cfg) == 0);
	CHECK(cfg.pinhole_mark == 0x80000000u);
	CHECK(load(SERVERS "pinhole_mark = 0x100000000;\n", &cfg) == 1);
	/* the forged-answer mark is one bit too, and not the pinhole's */
	CHECK(load(SERVERS "reverse_path_mark = 0x00300000;\n", &cfg) == 1);
	CHECK(reported(2, "reverse_path_mark: expected an integer with exactly "
			  "one bit set (e.g. 0x00200000), got 0x300000"));
	CHECK(load(SERVERS "reverse_path_mark = 0x00100000;\n", &cfg) == 1);
	CHECK(reported(2, "reverse_path_mark and pinhole_mark are both "
			  "0x00100000: they must be different bits"));
	CHECK(load(SERVERS "pinhole_mark = 0x00200000;\n", &cfg) == 1);
	CHECK(load(SERVERS "pinhole_mark = 0x00200000;\n"
		   "reverse_path_mark = 0x1;\n", &cfg) == 0);
	/* the DNAT conversation's mark is one bit too, apart from both */
	for (size_t i = 0; i < sizeof(published_refused) / sizeof(published_refused[0]); i++) {
		CHECK(load(published_refused[i].text, &cfg) == 1);
		CHECK(reported(2, published_refused[i].error));
	}
	CHECK(load(SERVERS "published_mark = 0x00200000;\n"
		   "reverse_path_mark = 0x01000000;\n", &cfg) == 0);
}

/*
 * text = head, then n elements made by format from 0..n-1 (i % modulo),
 * one a line, then "];\n".  libconfig 1.5 takes no comma after the last.
 */
static void make_list(char *text, size_t size, const char *head,
		      const char *format, int n, int modulo)
{
	size_t o = (size_t)snprintf(text, size, "%s", head);

	for (int i = 0; i < n; i++) {
		o += (size_t)snprintf(text + o, size - o, format, i % modulo);
		o += (size_t)snprintf(text + o, size - o, "%s",
				      i + 1 < n ? ",\n" : "\n");
	}
	snprintf(text + o, size - o, "];\n");
}

static void test_limits(void)
{
	static char text[40000];
	struct rpcgate_config cfg;
	int n = CONFIG_MAX_SERVERS;

	/* CONFIG_MAX_SERVERS distinct servers fit, one more does not */
	make_list(text, sizeof(text), "servers = [\n", "\"2001:db8::%x\"",
		  n, n);
	CHECK(load(text, &cfg) == 0);
	CHECK(cfg.n_servers == CONFIG_MAX_SERVERS);
	make_list(text, sizeof(text), "servers = [\n", "\"2001:db8::%x\"",
		  n + 1, n + 1);
	CHECK(load(text, &cfg) == 1);
	CHECK(reported(n + 2, "servers[256]: more than 256 servers"));
	/* repeats are not counted */
	make_list(text, sizeof(text), "servers = [\n", "\"198.51.100.%d\"",
		  2 * n, 200);
	CHECK(load(text, &cfg) == 0);
	CHECK(cfg.n_servers == 200);

	n = CONFIG_MAX_IFACES;
	make_list(text, sizeof(text), SERVERS "interfaces = [\n",
		  "\"%08x-0000-0000-0000-000000000000\"", n + 1, n + 1);
	CHECK(load(text, &cfg) == 1);
	CHECK(reported(n + 3, "interfaces[64]: more than 64 interfaces"));
	/* the preset's four count too */
	make_list(text, sizeof(text), SERVERS "interfaces = [\"exchange\",\n",
		  "\"%08x-0000-0000-0000-000000000000\"", n - 4, n);
	CHECK(load(text, &cfg) == 0);
	CHECK(cfg.groups[0].n_ifaces == CONFIG_MAX_IFACES);

	n = CONFIG_MAX_PORTS;
	make_list(text, sizeof(text), SERVERS "deny_ports = [\n", "1%03d",
		  n + 1, n + 1);
	CHECK(load(text, &cfg) == 1);
	CHECK(reported(n + 3, "deny_ports[64]: more than 64 ports"));
	make_list(text, sizeof(text), SERVERS "epm_ports = [\n", "1%03d",
		  n, n);
	CHECK(load(text, &cfg) == 0);
	CHECK(cfg.n_epm_ports == CONFIG_MAX_PORTS && cfg.epm_ports[63] == 1063);
}

/* The four Exchange interfaces by name, case-sensitive. */
static void test_interface_names(void)
{
	struct rpcgate_config cfg;

	CHECK(load(SERVERS "interfaces = [ \"EMSMDB\", \"RFR\", \"EMSMDB\", \""
		   EMSMDB "\" ];\n", &cfg) == 0);
	CHECK(cfg.groups[0].n_ifaces == 2);
	CHECK(allows(&cfg, EMSMDB) && allows(&cfg, RFR));
	CHECK(!allows(&cfg, NSPI) && !allows(&cfg, ASYNC));
	CHECK(load(SERVERS "interfaces = [ \"AsyncEMSMDB\", \"NSPI\" ];\n",
		   &cfg) == 0);
	CHECK(allows(&cfg, ASYNC) && allows(&cfg, NSPI) && !allows(&cfg, RFR));
	CHECK(load(SERVERS "interfaces = [ \"emsmdb\", \"NSP1\", \"Nspi\" ];\n",
		   &cfg) == 3);
	CHECK(reported(2, "interfaces[0]: \"emsmdb\" is not a preset "
			  "(\"exchange\" or \"any\"), an interface name (EMSMDB, "
			  "AsyncEMSMDB, NSPI or RFR) or an interface UUID (did "
			  "you mean \"EMSMDB\"?)"));
	CHECK(strstr(errs, "interfaces[1]: \"NSP1\" is not a preset") &&
	      strstr(errs, "(did you mean \"NSPI\"?)"));
	CHECK(strstr(errs, "interfaces[2]: \"Nspi\" is not a preset"));
}

/*
 * A group entry starts as a copy of the top level, whether the top-level
 * keys stand before or after the groups key, and overrides what it sets.
 */
static void test_groups_inherit(void)
{
	struct rpcgate_config cfg;
	const struct server_policy *top, *g1, *g2;

	CHECK(load("groups = (\n"
		   "  { servers = [ \"203.0.113.10\", \"2001:db8:2::/48\" ]; },\n"
		   "  {\n"
		   "    servers = [ \"203.0.113.11\" ];\n"
		   "    interfaces = [ \"any\" ];\n"
		   "    allow_lookup = false;\n"
		   "    fixed_ports = [ 6001 ];\n"
		   "  }\n"
		   ");\n"
		   "servers = [ \"198.51.100.0/24\" ];\n"
		   "interfaces = [ \"NSPI\" ];\n"
		   "allow_lookup = true;\n"
		   "fixed_require_lookup = true;\n"
		   "mode = \"fixed\";\n"
		   "fixed_ports = [ 6004 ];\n", &cfg) == 0);
	CHECK(errs[0] == '\0');
	CHECK(cfg.n_groups == 3);
	top = &cfg.groups[0];
	g1 = &cfg.groups[1];
	g2 = &cfg.groups[2];
	CHECK(top->line == 0 && g1->line == 2 && g2->line == 3);
	/* the first sets only servers: the rest is the top level's */
	CHECK(!g1->any_iface && g1->n_ifaces == 1);
	CHECK(memcmp(g1->ifaces, top->ifaces, sizeof(g1->ifaces)) == 0);
	CHECK(g1->allow_lookup && g1->fixed_require_lookup);
	CHECK(g1->mode == MODE_FIXED && g1->n_fixed == 1 &&
	      g1->fixed[0].any_iface && g1->fixed[0].port == 6004);
	/* the second overrides three keys and inherits the others */
	CHECK(g2->any_iface && !g2->allow_lookup && g2->fixed_require_lookup);
	CHECK(g2->mode == MODE_FIXED && g2->n_fixed == 1 &&
	      g2->fixed[0].port == 6001);
	/* the top level keeps its own */
	CHECK(!top->any_iface && top->allow_lookup &&
	      top->fixed[0].port == 6004);
	/* servers in the order read, each with its group */
	CHECK(cfg.n_servers == 4);
	CHECK(cfg.server_group[0] == 1 && cfg.server_group[1] == 1 &&
	      cfg.server_group[2] == 2 && cfg.server_group[3] == 0);
}

static const struct server_policy *policy_at(const struct rpcgate_config *cfg,
					     const char *addr)
{
	struct addr_prefix a;

	CHECK(prefix_parse(addr, &a));
	CHECK(policy_has_server(cfg, a.family, a.addr) ==
	      (policy_of_server(cfg, a.family, a.addr) != NULL));
	return policy_of_server(cfg, a.family, a.addr);
}

static void test_policy_of(void)
{
	struct rpcgate_config cfg;

	CHECK(load("servers = [ \"198.51.100.0/24\", \"2001:db8:1::/64\" ];\n"
		   "groups = ( { servers = [ \"203.0.113.0/28\", "
		   "\"2001:db8:2::20\" ]; },\n"
		   "  { servers = [ \"203.0.113.16/28\" ]; mode = \"fixed\"; "
		   "fixed_ports = [ 6001 ]; } );\n", &cfg) == 0);
	CHECK(policy_at(&cfg, "198.51.100.7") == &cfg.groups[0]);
	CHECK(policy_at(&cfg, "2001:db8:1::abcd") == &cfg.groups[0]);
	CHECK(policy_at(&cfg, "203.0.113.15") == &cfg.groups[1]);
	CHECK(policy_at(&cfg, "2001:db8:2::20") == &cfg.groups[1]);
	CHECK(policy_at(&cfg, "203.0.113.16") == &cfg.groups[2]);
	CHECK(policy_at(&cfg, "203.0.113.31") == &cfg.groups[2]);
	CHECK(policy_at(&cfg, "203.0.113.32") == NULL);
	CHECK(policy_at(&cfg, "2001:db8:2::21") == NULL);
	CHECK(policy_at(&cfg, "::ffff:198.51.100.7") == NULL);
	CHECK(cfg.groups[2].mode == MODE_FIXED);
	/* servers only in groups, the top level's empty or absent */
	CHECK(load("servers = [];\ngroups = ( { servers = [ \"203.0.113.10\" ]; "
		   "} );\n", &cfg) == 0);
	CHECK(policy_at(&cfg, "203.0.113.10") == &cfg.groups[1]);
	CHECK(load("groups = ( { servers = [ \"203.0.113.10\" ]; } );\n",
		   &cfg) == 0);
	CHECK(cfg.n_servers == 1 && cfg.server_group[0] == 1);
	/* no servers anywhere */
	CHECK(load("servers = [];\ngroups = ();\n", &cfg) == 1);
	CHECK(reported(1, "servers: no endpoint-mapper servers configured"));
}

static bool fixed(const struct server_policy *p, const char *iface_text,
		  uint16_t port)
{
	struct uuid u = iface(iface_text);

	return policy_fixed_port(p, &u, port);
}

static void test_policy_fixed_port(void)
{
	struct rpcgate_config cfg;
	const struct server_policy *p;

	/* plain ports: any interface */
	CHECK(load(SERVERS "mode = \"fixed\";\n"
		   "fixed_ports = [ 6001, 6002, 6004 ];\n", &cfg) == 0);
	p = &cfg.groups[0];
	CHECK(p->n_fixed == 3);
	CHECK(fixed(p, EMSMDB, 6001) && fixed(p, NSPI, 6001) &&
	      fixed(p, RFR, 6002) && fixed(p, DRSUAPI, 6004));
	CHECK(!fixed(p, EMSMDB, 6003) && !fixed(p, EMSMDB, 135));
	/* per interface, by name or UUID */
	CHECK(load(SERVERS "mode = \"fixed\";\n"
		   "fixed_ports = (\n"
		   "  { interface = \"EMSMDB\"; ports = [ 6001 ]; },\n"
		   "  { interface = \"" NSPI "\"; ports = [ 6004, 6005 ]; }\n"
		   ");\n", &cfg) == 0);
	p = &cfg.groups[0];
	CHECK(p->n_fixed == 3 && !p->fixed[0].any_iface);
	CHECK(fixed(p, EMSMDB, 6001) && !fixed(p, EMSMDB, 6004));
	CHECK(fixed(p, NSPI, 6004) && fixed(p, NSPI, 6005));
	CHECK(!fixed(p, NSPI, 6001) && !fixed(p, RFR, 6001));
	/* both in one list */
	CHECK(load(SERVERS "mode = \"fixed\";\n"
		   "fixed_ports = ( 6002, { interface = \"RFR\"; "
		   "ports = [ 6003 ]; } );\n", &cfg) == 0);
	p = &cfg.groups[0];
	CHECK(fixed(p, EMSMDB, 6002) && fixed(p, RFR, 6003));
	CHECK(!fixed(p, EMSMDB, 6003));
	/* a dynamic group does not use the fixed ports it inherits */
	CHECK(load(SERVERS "mode = \"fixed\";\nfixed_ports = [ 6001 ];\n"
		   "groups = ( { servers = [ \"203.0.113.10\" ]; "
		   "mode = \"dynamic\"; } );\n", &cfg) == 0);
	CHECK(cfg.groups[1].n_fixed == 1 &&
	      !fixed(&cfg.groups[1], EMSMDB, 6001));
	CHECK(fixed(&cfg.groups[0], EMSMDB, 6001));
	CHECK(!fixed(&cfg.groups[0], EMSMDB, 6002));
}

static void test_fixed_errors(void)
{
	struct rpcgate_config cfg;

	/* fixed without ports: at the mode, or at the group's line */
	CHECK(load(SERVERS "mode = \"fixed\";\n", &cfg) == 1);
	CHECK(reported(2, "mode: \"fixed\" needs fixed_ports"));
	CHECK(load(SERVERS "groups = (\n\n  { servers = [ \"203.0.113.10\" ];\n"
		   "    mode = \"fixed\"; } );\n", &cfg) == 1);
	CHECK(reported(4, "groups[0]: mode \"fixed\" needs fixed_ports"));
	/* a group emptying the top level's ports */
	CHECK(load(SERVERS "mode = \"fixed\";\nfixed_ports = [ 6001 ];\n"
		   "groups = ( { servers = [ \"203.0.113.10\" ]; "
		   "fixed_ports = []; } );\n", &cfg) == 1);
	CHECK(reported(4, "groups[0]: mode \"fixed\" needs fixed_ports"));
	/* a problem only inherited is reported once, at the top level */
	CHECK(load("mode = \"fixed\";\n"
		   "groups = ( { servers = [ \"203.0.113.10\" ]; },\n"
		   "  { servers = [ \"203.0.113.11\" ]; } );\n", &cfg) == 1);
	CHECK(reported(1, "mode: \"fixed\" needs fixed_ports"));
	/* denied fixed ports, against deny_ports set later or the default */
	CHECK(load(SERVERS "mode = \"fixed\";\n"
		   "fixed_ports = ( 3389, { interface = \"NSPI\"; "
		   "ports = [ 6004, 445 ]; } );\n"
		   "deny_ports = [ 445, 3389 ];\n", &cfg) == 2);
	CHECK(reported(3, "fixed_ports[0]: port 3389 is in deny_ports (line 4), "
			  "which are never opened"));
	CHECK(reported(3, "fixed_ports[1].ports[1]: port 445 is in deny_ports "
			  "(line 4)"));
	CHECK(load(SERVERS "groups = ( { servers = [ \"203.0.113.10\" ]; "
		   "mode = \"fixed\"; fixed_ports = [ 135 ]; } );\n", &cfg) == 1);
	CHECK(reported(2, "groups[0].fixed_ports[0]: port 135 is in deny_ports "
			  "(the default)"));
	/* out of range, wrong types */
	CHECK(load(SERVERS "mode = \"fixed\";\n"
		   "fixed_ports = ( 0, 65536, \"6001\", { interface = \"EMSMDB\"; "
		   "ports = [ 70000 ]; } );\n", &cfg) == 4);
	CHECK(reported(3, "fixed_ports[0]: expected a port number (1-65535), "
			  "got 0"));
	CHECK(reported(3, "fixed_ports[1]: expected a port number (1-65535), "
			  "got 65536"));
	CHECK(reported(3, "fixed_ports[2]: expected a port number or a group { "
			  "interface = \"EMSMDB\"; ports = [ 6001 ]; }, got a "
			  "string"));
	CHECK(reported(3, "fixed_ports[3].ports[0]: expected a port number "
			  "(1-65535), got 70000"));
	CHECK(load(SERVERS "fixed_ports = 6001;\n", &cfg) == 1);
	CHECK(reported(2, "fixed_ports: expected an array of port numbers, or "
			  "a list of groups"));
	/* per-interface entries: what is missing, unknown or misspelt */
	CHECK(load(SERVERS "mode = \"fixed\";\nfixed_ports = (\n"
		   "  { ports = [ 6001 ]; },\n"
		   "  { interface = \"NSPI\"; },\n"
		   "  { interface = \"NSPl\"; ports = [ 6004 ]; port = 1; },\n"
		   "  { interface = \"exchange\"; ports = [ ]; },\n"
		   "  { interface = 7; ports = 6004; }\n"
		   ");\n", &cfg) == 8);
	CHECK(reported(4, "fixed_ports[0]: no interface (expected e.g. { "
			  "interface = \"EMSMDB\"; ports = [ 6001 ]; })"));
	CHECK(reported(5, "fixed_ports[1]: no ports"));
	CHECK(reported(6, "fixed_ports[2]: unknown key \"port\" (did you mean "
			  "\"ports\"?)"));
	CHECK(reported(6, "fixed_ports[2].interface: \"NSPl\" is not an "
			  "interface name (EMSMDB, AsyncEMSMDB, NSPI or RFR) or "
			  "an interface UUID (did you mean \"NSPI\"?)"));
	CHECK(reported(7, "fixed_ports[3].interface: \"exchange\" is a preset"));
	CHECK(reported(7, "fixed_ports[3].ports: no ports"));
	CHECK(reported(8, "fixed_ports[4].interface: expected a string"));
	CHECK(reported(8, "fixed_ports[4].ports: expected an array of port "
			  "numbers"));
	/* ports set but never used */
	CHECK(load(SERVERS "fixed_ports = [ 6001 ];\n", &cfg) == 1);
	CHECK(reported(2, "fixed_ports: fixed ports are set, but mode is "
			  "\"dynamic\""));
	CHECK(load(SERVERS "groups = ( { servers = [ \"203.0.113.10\" ];\n"
		   "  fixed_ports = [ 6001 ]; } );\n", &cfg) == 1);
	CHECK(reported(3, "groups[0].fixed_ports: fixed ports are set, but mode "
			  "is \"dynamic\""));
	/* ... unless a fixed group inherits them */
	CHECK(load(SERVERS "fixed_ports = [ 6001 ];\ngroups = ( { servers = "
		   "[ \"203.0.113.10\" ]; mode = \"fixed\"; } );\n", &cfg) == 0);
	/* an interface the policy does not allow would never open */
	CHECK(load(SERVERS "interfaces = [ \"EMSMDB\" ];\nmode = \"fixed\";\n"
		   "fixed_ports = ( { interface = \"NSPI\"; ports = [ 6004 ]; },\n"
		   "  { interface = \"NSPI\"; ports = [ 6005 ]; } );\n",
		   &cfg) == 1);
	CHECK(reported(4, "fixed_ports[0].interface: \"NSPI\" is not in "
			  "interfaces (line 2), so its fixed ports would never "
			  "open"));
	CHECK(load(SERVERS "mode = \"fixed\";\n"
		   "fixed_ports = ( { interface = \"NSPI\"; ports = [ 6004 ]; } );\n"
		   "groups = ( { servers = [ \"203.0.113.10\" ];\n"
		   "  interfaces = [ \"RFR\" ]; } );\n", &cfg) == 1);
	CHECK(reported(4, "groups[0]: interfaces (line 5) leave out \"NSPI\", "
			  "which fixed_ports (line 3) name"));
	/* a bad mode is reported once, not again as unused fixed ports */
	CHECK(load(SERVERS "mode = \"fixd\";\nfixed_ports = [ 6001 ];\n",
		   &cfg) == 1);
	CHECK(reported(2, "mode: expected \"dynamic\" or \"fixed\", got "
			  "\"fixd\" (did you mean \"fixed\"?)"));
	CHECK(load(SERVERS "allow_lookup = 1;\nfixed_require_lookup = \"yes\";\n",
		   &cfg) == 2);
	CHECK(reported(2, "allow_lookup: expected true or false, got an integer"));
	CHECK(reported(3, "fixed_require_lookup: expected true or false, got a "
			  "string"));
}

static void test_group_errors(void)
{
	struct rpcgate_config cfg;

	CHECK(load(SERVERS "groups = (\n"
		   "  { servers = [ \"203.0.113.10\" ]; serverz = 1; "
		   "Mode = \"fixed\";\n"
		   "    pinhole_timeout = 5; groups = (); },\n"
		   "  { mode = \"dynamic\"; },\n"
		   "  { servers = [ ]; },\n"
		   "  7\n"
		   ");\n", &cfg) == 7);
	CHECK(reported(3, "groups[0]: unknown key \"serverz\" (did you mean "
			  "\"servers\"?)"));
	CHECK(reported(3, "groups[0]: unknown key \"Mode\" (did you mean "
			  "\"mode\"?)"));
	CHECK(reported(4, "groups[0]: unknown key \"pinhole_timeout\" (a group "
			  "may set only servers, interfaces, mode, fixed_ports, "
			  "fixed_require_lookup and allow_lookup)"));
	CHECK(reported(4, "groups[0]: unknown key \"groups\" (a group may set "
			  "only"));
	CHECK(reported(5, "groups[1]: no servers (a group applies to the "
			  "endpoint mappers it lists)"));
	CHECK(reported(6, "groups[2].servers: no endpoint-mapper servers "
			  "configured"));
	CHECK(reported(7, "groups[3]: expected a group { servers = [ ... ]; "
			  "... }, got an integer"));
	CHECK(load(SERVERS "groups = { servers = [ \"203.0.113.10\" ]; };\n",
		   &cfg) == 1);
	CHECK(reported(2, "groups: expected a list of groups"));
	/* errors inside a group carry its path */
	CHECK(load(SERVERS "groups = ( { servers = [ \"203.0.113.300\" ];\n"
		   "  interfaces = [ \"nspi\" ]; mode = \"static\"; } );\n",
		   &cfg) == 3);
	CHECK(reported(2, "groups[0].servers[0]: \"203.0.113.300\" is not an "
			  "IPv4 or IPv6 address or prefix"));
	CHECK(reported(3, "groups[0].interfaces[0]: \"nspi\" is not a preset"));
	CHECK(reported(3, "groups[0].mode: expected \"dynamic\" or \"fixed\", "
			  "got \"static\""));
}

/* A server belongs to one group: no address or prefix in two. */
static void test_overlap(void)
{
	struct rpcgate_config cfg;

	CHECK(load("servers = [ \"198.51.100.0/24\", \"2001:db8:1::/64\" ];\n"
		   "groups = (\n"
		   "  { servers = [ \"198.51.100.20\" ]; },\n"
		   "  { servers = [ \"203.0.113.10\", \"2001:db8::/32\" ]; },\n"
		   "  { servers = [ \"203.0.113.10\" ]; }\n"
		   ");\n", &cfg) == 3);
	CHECK(reported(3, "groups[0].servers[0]: \"198.51.100.20\" overlaps "
			  "\"198.51.100.0/24\" (line 1): a server must belong "
			  "to one group"));
	CHECK(reported(4, "groups[1].servers[1]: \"2001:db8::/32\" overlaps "
			  "\"2001:db8:1::/64\" (line 1)"));
	CHECK(reported(5, "groups[2].servers[0]: \"203.0.113.10\" overlaps "
			  "\"203.0.113.10\" (line 4)"));
	/* the top level after the groups: reported there */
	CHECK(load("groups = ( { servers = [ \"198.51.100.20\" ]; } );\n"
		   "servers = [ \"198.51.100.0/24\" ];\n", &cfg) == 1);
	CHECK(reported(2, "servers[0]: \"198.51.100.0/24\" overlaps "
			  "\"198.51.100.20\" (line 1)"));
	/* within a group repeats and overlaps are harmless, as ever */
	CHECK(load("servers = [ \"198.51.100.0/24\", \"198.51.100.20\", "
		   "\"198.51.100.0/24\" ];\n"
		   "groups = ( { servers = [ \"203.0.113.0/24\", "
		   "\"203.0.113.10\", \"203.0.113.10\" ]; },\n"
		   "  { servers = [ \"198.51.101.0\", "
		   "\"::ffff:198.51.100.20\" ]; } );\n", &cfg) == 0);
	CHECK(cfg.n_servers == 6);
}

static void test_group_limits(void)
{
	static char text[40000];
	struct rpcgate_config cfg;
	int n;
	size_t o;

	/* CONFIG_MAX_GROUPS entries fit, one more does not */
	for (int extra = 0; extra < 2; extra++) {
		n = CONFIG_MAX_GROUPS + extra;
		o = (size_t)snprintf(text, sizeof(text), "groups = (\n");
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(text + o, sizeof(text) - o,
					      "  { servers = [ \"203.0.113.%d\" "
					      "]; }%s\n", i, i + 1 < n ? "," : "");
		snprintf(text + o, sizeof(text) - o, ");\n");
		CHECK(load(text, &cfg) == extra);
		CHECK(cfg.n_groups == CONFIG_MAX_GROUPS + 1);
	}
	CHECK(reported(CONFIG_MAX_GROUPS + 2, "groups[16]: more than 16 groups "
					      "(the limit)"));
	/* CONFIG_MAX_FIXED fixed ports, per interface and plain together */
	make_list(text, sizeof(text), SERVERS "mode = \"fixed\";\n"
		  "fixed_ports = ( { interface = \"NSPI\"; ports = [ 6004 ]; },\n",
		  "60%02d", CONFIG_MAX_FIXED - 1, CONFIG_MAX_FIXED);
	o = strlen(text);
	text[o - 3] = ')';	/* the list's "];\n" as ");\n" */
	CHECK(load(text, &cfg) == 0);
	CHECK(cfg.groups[0].n_fixed == CONFIG_MAX_FIXED);
	make_list(text, sizeof(text), SERVERS "mode = \"fixed\";\n"
		  "fixed_ports = [\n", "60%02d", CONFIG_MAX_FIXED + 1,
		  CONFIG_MAX_FIXED + 1);
	CHECK(load(text, &cfg) == 1);
	CHECK(reported(CONFIG_MAX_FIXED + 4, "fixed_ports[32]: more than 32 "
					     "fixed ports (the limit)"));
	/* CONFIG_MAX_SERVERS counts the servers of every group */
	make_list(text, sizeof(text), "groups = ( { servers = [ "
		  "\"198.51.100.0/24\" ]; } );\nservers = [\n",
		  "\"2001:db8::%x\"", CONFIG_MAX_SERVERS, CONFIG_MAX_SERVERS);
	CHECK(load(text, &cfg) == 1);
	CHECK(reported(CONFIG_MAX_SERVERS + 2, "servers[255]: more than 256 "
					       "servers"));
}

static void test_unreadable(void)
{
	struct rpcgate_config cfg;
	char *buf = NULL, path[sizeof(tmpdir) + 32];
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	CHECK(config_load(path, &cfg, out) == 1);
	CHECK(config_load(tmpdir, &cfg, out) == 1);
	fclose(out);
	CHECK(buf && strstr(buf, "absent.conf: cannot read: No such file or "
				 "directory\n"));
	CHECK(buf && strstr(buf, ": cannot read: Is a directory\n"));
	free(buf);
	/* without a stream the problems are only counted */
	CHECK(config_load(path, &cfg, NULL) == 1);
}

static void test_include_refused(void)
{
	struct rpcgate_config cfg;
	char path[sizeof(tmpdir) + 32], text[sizeof(path) + 64];

	snprintf(path, sizeof(path), "%s/servers.inc", tmpdir);
	write_file(path, SERVERS);
	snprintf(text, sizeof(text), "@include \"%s\"\n", path);
	/* the directive is reported, and nothing is read from the file */
	CHECK(load(text, &cfg) == 2);
	CHECK(reported(1, "@include is not supported"));
	CHECK(strstr(errs, "servers: no endpoint-mapper servers configured"));
	unlink(path);
}

static void test_did_you_mean(void)
{
	static const char *const words[] = { "open", "closed", NULL };

	CHECK(distance("pinhole_timout", "pinhole_timeout") == 1);
	CHECK(distance("PINHOLE_TIMEOUT", "pinhole_timeout") == 0);
	CHECK(distance("", "abc") == 3);
	CHECK(distance("kitten", "sitting") == 3);
	CHECK(suggest("clsoed", words) != NULL &&
	      strcmp(suggest("clsoed", words), "closed") == 0);
	CHECK(suggest("drop", words) == NULL);
	CHECK(suggest("x", words) == NULL);
	CHECK(suggest("opne", words) && strcmp(suggest("opne", words), "open") == 0);
}

static void test_quote(void)
{
	char q[QUOTE_SIZE], long_text[200];

	CHECK(strcmp(quote("a\"b\\c\n", q, sizeof(q)), "\"a\\\"b\\\\c\\x0a\"") == 0);
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	quote(long_text, q, sizeof(q));
	CHECK(strlen(q) == QUOTE_MAX + 5);
	CHECK(strcmp(q + QUOTE_MAX + 1, "...\"") == 0);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_prefix_parse);
	RUN(test_prefix_host_bits);
	RUN(test_prefix_garbage);
	RUN(test_prefix_contains);
	RUN(test_defaults);
	RUN(test_shipped_file_is_the_defaults);
	RUN(test_load_minimal);
	RUN(test_load_every_key);
	RUN(test_presets);
	RUN(test_servers_required);
	RUN(test_queue_max_len_range);
	RUN(test_bad_values_each_reported);
	RUN(test_bad_file_leaves_cfg_alone);
	RUN(test_syntax_error_line);
	RUN(test_element_lines);
	RUN(test_wrapped_integers);
	RUN(test_limits);
	RUN(test_interface_names);
	RUN(test_groups_inherit);
	RUN(test_policy_of);
	RUN(test_policy_fixed_port);
	RUN(test_fixed_errors);
	RUN(test_group_errors);
	RUN(test_overlap);
	RUN(test_group_limits);
	RUN(test_unreadable);
	RUN(test_include_refused);
	RUN(test_did_you_mean);
	RUN(test_quote);
	unlink(conf_path);
	rmdir(tmpdir);
	UNIT_EXIT();
}
