#define _GNU_SOURCE /* fopencookie */
#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <zlib.h>

#include "gate.h"
#include "log.h"
#include "packet.h"
#include "replay.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHER_HEADER_LEN 14
#define VLAN_TAG_LEN 4
#define SLL_HEADER_LEN 16
#define SLL2_HEADER_LEN 20
#define NULL_HEADER_LEN 4
#define LINKTYPE_SLL2 276

/* Beyond this many, frame errors are only counted. */
#define MAX_REPORTED_ERRORS 10

struct replay {
	const char *path;
	FILE *out;
	struct flow_table flows;
	struct gate gate;
	bool decide;
	uint64_t next_expiry_ms;	/* of the pinhole records; 0 unknown */
	struct report *report;
	unsigned long frame;
	struct timeval ts;
	unsigned long errors;
};

static void frame_error(struct replay *r, const char *what)
{
	if (++r->errors <= MAX_REPORTED_ERRORS)
		log_warnx("%s: frame %lu: %s", r->path, r->frame, what);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Finds the IP packet in a frame.  Returns NULL for frames that carry
 * something else, and sets *unsupported for a link type we cannot read.
 */
static const uint8_t *ip_payload(int linktype, const uint8_t *frame,
				 size_t caplen, size_t *len, bool *unsupported)
{
	size_t offset;
	uint16_t ethertype;

	*unsupported = false;
	switch (linktype) {
	case DLT_EN10MB:
		if (caplen < ETHER_HEADER_LEN)
			return NULL;
		offset = ETHER_HEADER_LEN;
		ethertype = be16(frame + 12);
		while (ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ) {
			if (caplen - offset < VLAN_TAG_LEN)
				return NULL;
			ethertype = be16(frame + offset + 2);
			offset += VLAN_TAG_LEN;
		}
		break;
	case DLT_LINUX_SLL:
		if (caplen < SLL_HEADER_LEN)
			return NULL;
		offset = SLL_HEADER_LEN;
		ethertype = be16(frame + 14);
		break;
	case LINKTYPE_SLL2:
		if (caplen < SLL2_HEADER_LEN)
			return NULL;
		offset = SLL2_HEADER_LEN;
		ethertype = be16(frame);
		break;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		*len = caplen;
		return frame;
	case DLT_NULL:
	case DLT_LOOP:
		/* the address family's value differs between systems; the IP
		 * version nibble says the same thing */
		if (caplen < NULL_HEADER_LEN)
			return NULL;
		*len = caplen - NULL_HEADER_LEN;
		return frame + NULL_HEADER_LEN;
	default:
		*unsupported = true;
		return NULL;
	}
	if (ethertype != ETHERTYPE_IPV4 && ethertype != ETHERTYPE_IPV6)
		return NULL;
	*len = caplen - offset;
	return frame + offset;
}

static uint64_t capture_ms(const struct timeval *ts)
{
	return (uint64_t)ts->tv_sec * 1000 + (uint64_t)ts->tv_usec / 1000;
}

struct ageing {
	uint64_t now_ms, next_ms;
};

static bool age_one(void *arg, struct gate_pinhole *p)
{
	struct ageing *a = arg;

	if (p->expires_ms <= a->now_ms)
		return true;
	if (p->expires_ms < a->next_ms)
		a->next_ms = p->expires_ms;
	return false;
}

/*
 * The daemon forgets a pinhole pinhole_timeout after the answer that
 * opened it (unless the kernel says traffic kept it); the replay does
 * the same by the capture's clock, as if nothing used it, so the caps
 * count the pinholes that would be open.  The records are walked only
 * when one is due.
 */
static void age_pinholes(struct replay *r, uint64_t now_ms)
{
	struct ageing a = { .now_ms = now_ms, .next_ms = UINT64_MAX };

	if (r->next_expiry_ms && now_ms < r->next_expiry_ms)
		return;
	gate_visit(&r->gate, age_one, &a);
	r->next_expiry_ms = a.next_ms;
}

/* The live daemon's decision, with the capture's clock. */
static void print_decision(struct replay *r, const struct flow *flow,
			   const struct dce_answer *ans,
			   const struct epm_endpoint *ep)
{
	uint64_t now_ms = capture_ms(&r->ts);
	struct pinhole p;
	enum gate_reason reason;

	age_pinholes(r, now_ms);
	reason = gate_admit(&r->gate, &flow->key, ans, ep, now_ms, &p);
	if (reason == GATE_OPEN) {
		uint64_t expiry = now_ms + (uint64_t)r->gate.cfg->pinhole_timeout * 1000;

		if (expiry < r->next_expiry_ms)
			r->next_expiry_ms = expiry;
	}

	fprintf(r->out, ",\"decision\":\"%s\",\"reason\":\"%s\",\"reason_code\":\"%s\"",
		reason == GATE_OPEN || reason == GATE_FIXED ? "open" : "refuse",
		gate_reason_text(reason),
		gate_reason_code(reason));
}

static void print_endpoint(void *arg, const struct flow *flow,
			   const struct dce_answer *ans,
			   const struct epm_endpoint *ep)
{
	struct replay *r = arg;
	char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN];
	char iface[UUID_TEXT_LEN + 1], when[32];
	const char *name = epm_iface_name(&ep->iface);
	struct tm tm;
	time_t secs = r->ts.tv_sec;

	if (r->report) {
		report_add(r->report, flow->key.family, flow->key.server, ep);
		return;
	}
	packet_addr_format(flow->key.family, flow->key.client, client, sizeof(client));
	packet_addr_format(flow->key.family, flow->key.server, server, sizeof(server));
	uuid_format(&ep->iface, iface);
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(r->out,
		"{\"ts\":\"%s.%06ldZ\",\"frame\":%lu,\"client\":\"%s\","
		"\"client_port\":%u,\"server\":\"%s\",\"server_port\":%u,"
		"\"call_id\":%u,\"op\":\"%s\",\"iface\":\"%s\",",
		when, (long)r->ts.tv_usec, r->frame, client,
		flow->key.client_port, server, flow->key.server_port,
		ans->call_id, ans->req->op == EPM_OP_MAP ? "map" : "lookup",
		iface);
	if (name)
		fprintf(r->out, "\"iface_name\":\"%s\",", name);
	fprintf(r->out, "\"iface_version\":\"%u.%u\",\"proto\":\"%s\",\"port\":%u,",
		ep->iface_major, ep->iface_minor, epm_proto_name(ep->proto),
		ep->port);
	if (ep->has_addr) {
		char addr[INET_ADDRSTRLEN];

		packet_addr_format(AF_INET, ep->addr, addr, sizeof(addr));
		fprintf(r->out, "\"tower_addr\":\"%s\"", addr);
	} else {
		fprintf(r->out, "\"tower_addr\":null");
	}
	if (r->decide)
		print_decision(r, flow, ans, ep);
	fprintf(r->out, "}\n");
}

static void replay_frame(struct replay *r, int linktype,
			 const struct pcap_pkthdr *hdr, const uint8_t *frame)
{
	const uint8_t *ip;
	size_t ip_len = 0;
	bool unsupported;
	struct packet pkt;
	enum packet_result result;
	uint64_t now_us;

	ip = ip_payload(linktype, frame, hdr->caplen, &ip_len, &unsupported);
	if (!ip)
		return;
	result = packet_parse_ip(ip, ip_len, &pkt);
	if (result == PACKET_MALFORMED ||
	    (result == PACKET_TRUNCATED && hdr->caplen < hdr->len)) {
		frame_error(r, hdr->caplen < hdr->len ?
				       "cut short by the capture's snap length" :
				       packet_result_text(result));
		return;
	}
	if (result != PACKET_OK)
		return;
	r->ts = hdr->ts;
	now_us = (uint64_t)hdr->ts.tv_sec * 1000000 + (uint64_t)hdr->ts.tv_usec;
	flow_table_packet(&r->flows, &pkt, now_us, print_endpoint, r);
}

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
	int n = gzread(cookie, buf, size > INT32_MAX ? INT32_MAX : (unsigned)size);

	return n < 0 ? -1 : n;
}

static int gz_close(void *cookie)
{
	return gzclose(cookie) == Z_OK ? 0 : -1;
}

/* libpcap reads a FILE; zlib turns gzip into one (and passes plain files). */
static pcap_t *open_capture(const char *path, char *errbuf)
{
	cookie_io_functions_t io = { .read = gz_read, .close = gz_close };
	gzFile gz = gzopen(path, "rb");
	FILE *f;
	pcap_t *p;

	if (!gz) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
		return NULL;
	}
	f = fopencookie(gz, "rb", io);
	if (!f) {
		gzclose(gz);
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
		return NULL;
	}
	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO,
						     errbuf);
	if (!p)
		fclose(f);
	return p;
}

int replay_file(const char *path, const struct flow_config *cfg,
		const struct rpcgate_config *policy, struct report *report,
		FILE *out)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct replay r = { .path = path, .out = out, .report = report };
	struct pcap_pkthdr *hdr;
	const u_char *frame;
	pcap_t *p;
	int linktype, rc;

	p = open_capture(path, errbuf);
	if (!p) {
		log_warnx("%s: %s", path, errbuf);
		return REPLAY_CANNOT_OPEN;
	}
	r.decide = policy != NULL && !report;
	if (!flow_table_init(&r.flows, cfg) ||
	    (r.decide && !gate_init(&r.gate, policy))) {
		pcap_close(p);
		fatalx("out of memory");
	}
	linktype = pcap_datalink(p);
	while ((rc = pcap_next_ex(p, &hdr, &frame)) == 1) {
		bool unsupported;
		size_t ignored;

		r.frame++;
		if (r.frame == 1 &&
		    !ip_payload(linktype, frame, 0, &ignored, &unsupported) &&
		    unsupported) {
			char what[128];

			snprintf(what, sizeof(what), "unsupported link type %s (%d)",
				 pcap_datalink_val_to_name(linktype) ?
					 pcap_datalink_val_to_name(linktype) : "?",
				 linktype);
			frame_error(&r, what);
			break;
		}
		replay_frame(&r, linktype, hdr, frame);
	}
	if (rc == PCAP_ERROR) {
		r.frame++;
		frame_error(&r, pcap_geterr(p));
	}
	if (r.errors > MAX_REPORTED_ERRORS)
		log_warnx("%s: %lu more frame errors not shown", path,
			  r.errors - MAX_REPORTED_ERRORS);
	fflush(out);
	log_debug("%s: %lu frames, %llu EPM flows, %llu endpoints, %llu flows "
		  "desynchronized, %llu refused (table full), %llu refused (per "
		  "client), %llu given way (table full), %llu half-open expired",
		  path, r.frame,
		  (unsigned long long)r.flows.stats.flows_tracked,
		  (unsigned long long)r.flows.stats.endpoints,
		  (unsigned long long)r.flows.stats.flows_desync,
		  (unsigned long long)r.flows.stats.flows_refused,
		  (unsigned long long)r.flows.stats.flows_refused_client,
		  (unsigned long long)r.flows.stats.flows_evicted,
		  (unsigned long long)r.flows.stats.flows_halfopen_expired);
	flow_table_release(&r.flows);
	if (r.decide)
		gate_release(&r.gate);
	pcap_close(p);
	return r.errors ? REPLAY_DATA_ERRORS : REPLAY_OK;
}
