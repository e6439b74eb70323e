/*
 * libFuzzer target for the configuration loader: the input is the text of
 * an rpcgate.conf, which config_load() reads from a file as the daemon
 * does at start and on reload (a memfd here, named by its /proc path).
 * That covers libconfig's parser, config.c's own re-lexing of the text
 * (integer literals libconfig cannot hold, strings, @include), every key's
 * handler and the validation.
 *
 * What must hold whatever the text: config_load() returns a count of
 * problems and writes exactly that many lines, each "path:line: ...";
 * a file without problems yields a policy within its limits (counts under
 * the CONFIG_MAX_* caps, a port range that is a range, at least the top
 * level group).  Seeds: every .conf of tests/config/ and conf/rpcgate.conf (copied
 * by `make fuzz`) and tests/fuzz/corpus-config/.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"

static volatile uint64_t fuzz_sink;
static int fd = -1;
static char path[64];

static void check_policy(const struct rpcgate_config *c)
{
	if (c->n_servers > CONFIG_MAX_SERVERS || c->n_groups < 1 ||
	    c->n_groups > CONFIG_MAX_GROUPS + 1 ||
	    c->n_deny_ports > CONFIG_MAX_PORTS ||
	    c->n_epm_ports > CONFIG_MAX_PORTS || c->port_min > c->port_max ||
	    memchr(c->nft_table, 0, sizeof(c->nft_table)) == NULL)
		abort();
	for (size_t i = 0; i < c->n_servers; i++)
		if (c->server_group[i] >= c->n_groups ||
		    c->servers[i].len > (c->servers[i].family == AF_INET ? 32 : 128))
			abort();
	for (size_t g = 0; g < c->n_groups; g++)
		if (c->groups[g].n_ifaces > CONFIG_MAX_IFACES ||
		    c->groups[g].n_fixed > CONFIG_MAX_FIXED)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpcgate_config cfg;
	char *errors = NULL, *line;
	size_t errors_len = 0, lines = 0, prefix;
	FILE *err;
	int problems;

	if (fd < 0) {
		fd = memfd_create("rpcgate.conf", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 ||
	    (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	err = open_memstream(&errors, &errors_len);
	if (!err)
		abort();
	config_defaults(&cfg);
	problems = config_load(path, &cfg, err);
	fclose(err);

	prefix = strlen(path);
	for (line = errors; *line; lines++) {
		char *end = strchr(line, '\n');

		if (!end || strncmp(line, path, prefix) != 0 || line[prefix] != ':')
			abort();
		line = end + 1;
	}
	if (problems < 0 || (size_t)problems != lines)
		abort();
	if (problems == 0)
		check_policy(&cfg);
	fuzz_sink = cfg.n_servers + cfg.max_flows + lines;
	free(errors);
	return 0;
}
