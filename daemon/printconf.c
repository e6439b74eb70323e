#include <string.h>
#include <sys/socket.h>

#include "epm.h"
#include "printconf.h"

/* The interface names rpcgate.conf accepts; anything else as a UUID. */
static const char *const config_iface_names[] = {
	"EMSMDB", "AsyncEMSMDB", "NSPI", "RFR",
};

static void print_iface(const struct uuid *iface, FILE *out)
{
	const char *name = epm_iface_name(iface);
	char text[UUID_TEXT_LEN + 1];

	for (size_t i = 0; name && i < sizeof(config_iface_names) /
					       sizeof(config_iface_names[0]); i++) {
		if (strcmp(name, config_iface_names[i]) == 0) {
			fprintf(out, "\"%s\"", name);
			return;
		}
	}
	uuid_format(iface, text);
	fprintf(out, "\"%s\"", text);
}

static void print_ports(const char *key, const uint16_t *ports, size_t n,
			const char *indent, FILE *out)
{
	fprintf(out, "%s%s = [", indent, key);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s %u", i ? "," : "", ports[i]);
	fprintf(out, " ];\n");
}

static void print_servers(const struct rpcgate_config *cfg, size_t group,
			  const char *indent, FILE *out)
{
	bool first = true;

	fprintf(out, "%sservers = [", indent);
	for (size_t i = 0; i < cfg->n_servers; i++) {
		char text[PREFIX_TEXT_MAX];

		if (cfg->server_group[i] != group)
			continue;
		prefix_format(&cfg->servers[i], text);
		fprintf(out, "%s \"%s\"", first ? "" : ",", text);
		first = false;
	}
	fprintf(out, " ];\n");
}

/*
 * Plain ports as an array; ports of one interface each as a list of
 * { interface; ports } entries, one per interface, plain ports first.
 */
static void print_fixed(const struct server_policy *p, const char *indent,
			FILE *out)
{
	bool per_iface = false, first = true;

	for (size_t i = 0; i < p->n_fixed; i++)
		per_iface = per_iface || !p->fixed[i].any_iface;
	if (!per_iface) {
		uint16_t ports[CONFIG_MAX_FIXED];

		for (size_t i = 0; i < p->n_fixed; i++)
			ports[i] = p->fixed[i].port;
		print_ports("fixed_ports", ports, p->n_fixed, indent, out);
		return;
	}
	fprintf(out, "%sfixed_ports = (", indent);
	for (size_t i = 0; i < p->n_fixed; i++) {
		if (!p->fixed[i].any_iface)
			continue;
		fprintf(out, "%s %u", first ? "" : ",", p->fixed[i].port);
		first = false;
	}
	for (size_t i = 0; i < p->n_fixed; i++) {
		bool seen = false;

		if (p->fixed[i].any_iface)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !p->fixed[k].any_iface &&
			       uuid_equal(&p->fixed[k].iface, &p->fixed[i].iface);
		if (seen)
			continue;
		fprintf(out, "%s\n%s  { interface = ", first ? "" : ",", indent);
		print_iface(&p->fixed[i].iface, out);
		fprintf(out, "; ports = [");
		for (size_t k = i, n = 0; k < p->n_fixed; k++) {
			if (p->fixed[k].any_iface ||
			    !uuid_equal(&p->fixed[k].iface, &p->fixed[i].iface))
				continue;
			fprintf(out, "%s %u", n++ ? "," : "", p->fixed[k].port);
		}
		fprintf(out, " ]; }");
		first = false;
	}
	fprintf(out, "\n%s);\n", indent);
}

/* The keys a group may set, all of them, after inheritance. */
static void print_policy(const struct server_policy *p, const char *indent,
			 FILE *out)
{
	fprintf(out, "%sinterfaces = [", indent);
	if (p->any_iface)
		fprintf(out, " \"any\"");
	for (size_t i = 0; !p->any_iface && i < p->n_ifaces; i++) {
		fprintf(out, "%s ", i ? "," : "");
		print_iface(&p->ifaces[i], out);
	}
	fprintf(out, " ];\n");
	fprintf(out, "%smode = \"%s\";\n", indent,
		p->mode == MODE_FIXED ? "fixed" : "dynamic");
	/* dynamic mode uses none; the loader refuses them there */
	if (p->mode == MODE_FIXED)
		print_fixed(p, indent, out);
	fprintf(out, "%sfixed_require_lookup = %s;\n", indent,
		p->fixed_require_lookup ? "true" : "false");
	fprintf(out, "%sallow_lookup = %s;\n", indent,
		p->allow_lookup ? "true" : "false");
}

void printconf(const struct rpcgate_config *cfg, FILE *out)
{
	fprintf(out, "# the effective policy: every key, defaults included\n");
	print_servers(cfg, 0, "", out);
	print_policy(&cfg->groups[0], "", out);
	if (cfg->n_groups > 1) {
		fprintf(out, "groups = (\n");
		for (size_t g = 1; g < cfg->n_groups; g++) {
			fprintf(out, "  {\n");
			print_servers(cfg, g, "    ", out);
			print_policy(&cfg->groups[g], "    ", out);
			fprintf(out, "  }%s\n", g + 1 < cfg->n_groups ? "," : "");
		}
		fprintf(out, ");\n");
	}
	fprintf(out, "pinhole_timeout = %u;\n", cfg->pinhole_timeout);
	fprintf(out, "port_range = [ %u, %u ];\n", cfg->port_min, cfg->port_max);
	print_ports("deny_ports", cfg->deny_ports, cfg->n_deny_ports, "", out);
	print_ports("epm_ports", cfg->epm_ports, cfg->n_epm_ports, "", out);
	fprintf(out, "max_pinholes_per_client = %u;\n", cfg->max_pinholes_per_client);
	fprintf(out, "max_pinholes = %u;\n", cfg->max_pinholes);
	fprintf(out, "max_flows = %u;\n", cfg->max_flows);
	fprintf(out, "max_flows_per_client = %u;\n", cfg->max_flows_per_client);
	fprintf(out, "max_udp_flows_per_client = %u;\n",
		cfg->max_udp_flows_per_client);
	fprintf(out, "max_buffer_bytes = %u;\n", cfg->max_buffer_bytes);
	fprintf(out, "max_held_segments = %u;\n", cfg->max_held_segments);
	fprintf(out, "max_call_bytes = %u;\n", cfg->max_call_bytes);
	fprintf(out, "flow_idle_timeout = %u;\n", cfg->flow_idle_timeout);
	fprintf(out, "flow_handshake_timeout = %u;\n", cfg->flow_handshake_timeout);
	fprintf(out, "ipv6_host_prefix = %u;\n", cfg->ipv6_host_prefix);
	fprintf(out, "control_max_clients = %u;\n", cfg->control_max_clients);
	fprintf(out, "control_timeout = %u;\n", cfg->control_timeout);
	fprintf(out, "on_failure = \"%s\";\n",
		cfg->on_failure == ON_FAILURE_CLOSED ? "closed" : "open");
	fprintf(out, "revoke_established = %s;\n",
		cfg->revoke_established ? "true" : "false");
	fprintf(out, "queue_num = %u;\n", cfg->queue_num);
	fprintf(out, "queue_max_len = %u;\n", cfg->queue_max_len);
	fprintf(out, "nft_mode = \"%s\";\n",
		cfg->nft_mode == NFT_MODE_SETS ? "sets" : "table");
	fprintf(out, "nft_table = \"%s\";\n", cfg->nft_table);
	fprintf(out, "state_file = \"%s\";\n", cfg->state_file);
	fprintf(out, "pinhole_mark = 0x%08x;\n", cfg->pinhole_mark);
	fprintf(out, "reverse_path_mark = 0x%08x;\n", cfg->reverse_path_mark);
	fprintf(out, "sync_pinholes = %s;\n", cfg->sync_pinholes ? "true" : "false");
	fprintf(out, "sync_mark = 0x%08x;\n", cfg->sync_mark);
	fprintf(out, "published_mark = 0x%08x;\n", cfg->published_mark);
	fprintf(out, "log_level = \"%s\";\n", cfg->log_verbose ? "debug" : "info");
	fprintf(out, "log_burst = %u;\n", cfg->log_burst);
	fprintf(out, "log_interval = %u;\n", cfg->log_interval);
}
