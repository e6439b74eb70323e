/*
 * rpcgated: opens short-lived nftables pinholes for the dynamic ports that
 * a DCE/RPC endpoint mapper advertises.  This build offers the offline
 * replay (-r); the live daemon follows.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "log.h"
#include "replay.h"

#ifndef RPCGATE_VERSION
#define RPCGATE_VERSION "0.1"
#endif

#define EXIT_USAGE 64

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: rpcgated [-v] -r FILE [-p PORT]...\n"
		"       rpcgated -V\n"
		"  -r FILE  replay a pcap/pcapng capture (gzip too); print one JSON\n"
		"           line per endpoint advertised by an endpoint mapper\n"
		"  -p PORT  also treat TCP PORT as an endpoint mapper (135 and 593\n"
		"           always are)\n"
		"  -v       more detail on stderr\n"
		"  -V       print the version and exit\n");
	exit(EXIT_USAGE);
}

static uint16_t parse_port(const char *text)
{
	char *end;
	unsigned long port = strtoul(text, &end, 10);

	if (*text == '\0' || *end != '\0' || port == 0 || port > 65535) {
		log_warnx("-p %s: not a TCP port (1-65535)", text);
		usage();
	}
	return (uint16_t)port;
}

int main(int argc, char **argv)
{
	struct flow_config flows;
	const char *replay = NULL;
	int verbose = 0, ch;

	flow_config_defaults(&flows);
	log_init(true, 0);
	while ((ch = getopt(argc, argv, "hp:r:vV")) != -1) {
		switch (ch) {
		case 'p':
			if (!flow_config_add_port(&flows, parse_port(optarg)))
				fatalx("-p: at most %d endpoint-mapper ports",
				       FLOW_MAX_EPM_PORTS);
			break;
		case 'r':
			replay = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("rpcgated %s\n", RPCGATE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc || !replay)
		usage();
	log_init(true, verbose);
	return replay_file(replay, &flows, stdout);
}
