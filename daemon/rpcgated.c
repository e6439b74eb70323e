/*
 * rpcgated: opens short-lived nftables pinholes for the dynamic ports that
 * a DCE/RPC endpoint mapper advertises, for the servers and interfaces the
 * administrator allows.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "flow.h"
#include "log.h"
#include "nft.h"
#include "printconf.h"
#include "replay.h"
#include "service.h"
#include "version.h"

#define EXIT_USAGE 64
#define OPT_PRINT_RULESET 256
#define OPT_REPORT 257
#define OPT_JSON 258
#define OPT_REMOVE 259

/* To stdout with status 0 when asked for (-h), else to stderr with 64. */
static _Noreturn void usage(FILE *out, int status)
{
	fprintf(out,
		"usage: rpcgated [-fv] [-c FILE] [-s SOCKET] [-u USER]  run the daemon\n"
		"       rpcgated -t [-c FILE]             check the configuration\n"
		"       rpcgated --print-ruleset [-c FILE]\n"
		"       rpcgated --remove [-c FILE] [-s SOCKET]\n"
		"       rpcgated [-v] [-c FILE] -r CAPTURE [-p PORT]...\n"
		"       rpcgated -r CAPTURE [-p PORT]... --report [--json]\n"
		"       rpcgated -V | --version\n"
		"       rpcgated -h | --help\n"
		"  -c FILE  configuration (default " CONFIG_DEFAULT_PATH ")\n"
		"  -f       stay in the foreground, log to stderr\n"
		"  -s SOCKET  the control socket (default " CONTROL_DEFAULT_PATH ")\n"
		"  -u USER  after set-up, run as USER keeping only CAP_NET_ADMIN\n"
		"  -t       check the configuration and exit: 0, or 78 with\n"
		"           file:line: message lines; with -v, print the\n"
		"           effective policy (every key, groups after inheritance)\n"
		"  -r FILE  replay a pcap/pcapng capture (gzip too); print one JSON\n"
		"           line per endpoint an endpoint mapper advertised, with\n"
		"           the daemon's decision when a configuration is given\n"
		"  -p PORT  also treat TCP PORT as an endpoint mapper in a replay\n"
		"           (besides the configuration's epm_ports)\n"
		"  --report with -r: per server, the ports each interface\n"
		"           advertised, whether they are stable, and how to pin\n"
		"           them (registry value, fixed_ports, static nft rule)\n"
		"  --json   the report as one JSON object\n"
		"  --print-ruleset  print a ruleset for a forward-policy-drop\n"
		"           router that works with this configuration\n"
		"  --remove take away what a stopped rpcgated left in nftables\n"
		"           (its table; in sets mode its queue table and its\n"
		"           pinholes) and its state file: the router's own\n"
		"           ruleset alone decides again\n"
		"  -v       more detail in the log\n"
		"  -V       print the version and exit\n"
		"  -h       print this and exit\n");
	exit(status);
}

static uint16_t parse_port(const char *text)
{
	char *end;
	unsigned long port = strtoul(text, &end, 10);

	if (*text == '\0' || *end != '\0' || port == 0 || port > 65535) {
		log_warnx("-p %s: not a TCP port (1-65535)", text);
		usage(stderr, EXIT_USAGE);
	}
	return (uint16_t)port;
}

/* Returns 0 with cfg loaded, or prints the problems and returns 78. */
static int load(const char *path, struct rpcgate_config *cfg)
{
	config_defaults(cfg);
	return config_load(path, cfg, stderr) ? CONFIG_EXIT_INVALID : 0;
}

static int replay_report(const char *capture, const struct flow_config *flows,
			 const struct rpcgate_config *cfg, bool json)
{
	struct report report;
	int rc;

	if (!report_init(&report, REPLAY_REPORT_ENTRIES))
		fatalx("out of memory");
	rc = replay_file(capture, flows, cfg, &report, stdout);
	if (rc != REPLAY_CANNOT_OPEN) {
		if (json)
			report_print_json(&report, stdout);
		else
			report_print(&report, stdout);
	}
	report_release(&report);
	return rc;
}

/* Whether a daemon answers on the control socket. */
static bool daemon_running(const char *control_path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up;

	if (fd < 0 || strlen(control_path) >= sizeof(sun.sun_path)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	memcpy(sun.sun_path, control_path, strlen(control_path) + 1);
	up = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return up;
}

/*
 * --remove: a stopped daemon leaves its table (the high range stays
 * closed, pinholes run out); this gives the router its own ruleset back.
 * 0 when it is done or there was nothing, 1 when it could not be done.
 */
static int remove_leftovers(const struct rpcgate_config *cfg,
			    const char *control_path)
{
	const char *table = cfg->nft_mode == NFT_MODE_SETS ? "rpcgate_queue" :
							     cfg->nft_table;
	struct nft *n;
	int present, rc;

	if (daemon_running(control_path)) {
		log_warnx("rpcgated is running (%s answers): stop it first, or "
			  "it puts its table back within a second", control_path);
		return 1;
	}
	n = nft_open();
	if (!n) {
		log_warn("netlink socket for nftables");
		return 1;
	}
	/* nothing there: nothing is sent but the question */
	present = nft_table_present(n, cfg);
	rc = present == 1 ? nft_remove(n, cfg) : present;
	nft_close(n);
	if (rc < 0) {
		log_warnx("removing table inet %s: %s", table, strerror(-rc));
		return 1;
	}
	if (cfg->state_file[0] && unlink(cfg->state_file) < 0 && errno != ENOENT)
		log_warn("state file %s", cfg->state_file);
	if (present && cfg->nft_mode == NFT_MODE_SETS)
		printf("rpcgated: removed table inet %s and emptied pinholes4 "
		       "and pinholes6 in table inet %s; your ruleset alone "
		       "decides now\n", table, cfg->nft_table);
	else if (present)
		printf("rpcgated: removed table inet %s; your ruleset alone "
		       "decides now\n", table);
	else
		printf("rpcgated: no table inet %s to remove\n", table);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "print-ruleset", no_argument, NULL, OPT_PRINT_RULESET },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		{ "help", no_argument, NULL, 'h' },
		{ "report", no_argument, NULL, OPT_REPORT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct rpcgate_config cfg;
	struct flow_config flows, extra_ports;
	const char *config_path = NULL, *replay = NULL;
	struct service_options service = { .control_path = CONTROL_DEFAULT_PATH };
	bool foreground = false, check_only = false, print_ruleset = false;
	bool want_report = false, json = false, remove = false;
	int verbose = 0, ch, rc;

	extra_ports.n_epm_ports = 0;
	log_init(true, 0);
	while ((ch = getopt_long(argc, argv, "c:fhp:r:s:tu:vV", long_options,
				 NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			usage(stdout, 0);
		case 'p':
			if (!flow_config_add_port(&extra_ports, parse_port(optarg)))
				fatalx("-p: at most %d endpoint-mapper ports",
				       FLOW_MAX_EPM_PORTS);
			break;
		case 'r':
			replay = optarg;
			break;
		case 's':
			service.control_path = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'u':
			service.user = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("rpcgated %s\n", RPCGATE_VERSION);
			return 0;
		case OPT_PRINT_RULESET:
			print_ruleset = true;
			break;
		case OPT_REMOVE:
			remove = true;
			break;
		case OPT_REPORT:
			want_report = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc || (want_report && !replay) || (json && !want_report))
		usage(stderr, EXIT_USAGE);
	log_init(true, verbose);

	if (replay) {
		/* decisions need a policy: the one named, or the installed one */
		const char *path = config_path;

		if (!path && access(CONFIG_DEFAULT_PATH, R_OK) == 0)
			path = CONFIG_DEFAULT_PATH;
		if (path && (rc = load(path, &cfg)) != 0)
			return rc;
		/* what the daemon would follow, and the -p ports too */
		flow_config_defaults(&flows);
		if (path)
			flow_config_from_policy(&flows, &cfg);
		for (size_t i = 0; i < extra_ports.n_epm_ports; i++)
			if (!flow_config_add_port(&flows, extra_ports.epm_ports[i]))
				fatalx("-p: at most %d endpoint-mapper ports in "
				       "all, with the configuration's",
				       FLOW_MAX_EPM_PORTS);
		if (want_report)
			return replay_report(replay, &flows, path ? &cfg : NULL, json);
		return replay_file(replay, &flows, path ? &cfg : NULL, NULL, stdout);
	}
	if (!config_path)
		config_path = CONFIG_DEFAULT_PATH;
	rc = load(config_path, &cfg);
	if (rc == 0 && check_only && verbose)
		printconf(&cfg, stdout);
	if (rc != 0 || check_only)
		return rc;
	if (print_ruleset) {
		nft_print_ruleset(stdout, &cfg);
		return 0;
	}
	if (remove)
		return remove_leftovers(&cfg, service.control_path);
	if (verbose < cfg.log_verbose)
		verbose = cfg.log_verbose;
	/* under systemd (Type=notify) the main process must stay */
	if (!foreground && !getenv("NOTIFY_SOCKET") && daemon(0, 0) < 0)
		fatal("daemon");
	log_init(foreground, verbose);
	service.config_path = config_path;
	return service_run(&service, &cfg);
}
