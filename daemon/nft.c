#include <netinet/in.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nft.h"

struct nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	enum nft_queue_kind queue_kind;
};

struct nft *nft_open(void)
{
	struct nft *n = calloc(1, sizeof(*n));
	int rcvbuf = 4 * 1024 * 1024;

	if (!n)
		return NULL;
	n->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		nft_close(n);
		return NULL;
	}
	/* a large batch earns one ack per message */
	setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		   sizeof(rcvbuf));
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	return n;
}

void nft_close(struct nft *n)
{
	if (!n)
		return;
	if (n->nl)
		mnl_socket_close(n->nl);
	free(n);
}

enum nft_queue_kind nft_queue_kind(const struct nft *n)
{
	return n->queue_kind;
}

/* ------------------------------------------------------------------ */
/* talking to the kernel                                               */

static const struct sent_message *sent_by_seq(const struct nft_batch *b,
					      uint32_t seq)
{
	for (size_t i = 0; i < b->n_sent; i++)
		if (b->sent[i].seq == seq)
			return &b->sent[i];
	return NULL;
}

/*
 * Sends the batch and reads every answer the kernel queued while it
 * processed it (it does so inside sendmsg).  Returns 0 or the first
 * error as -errno, naming the message in err; *queue_refused is set when
 * the refused message was a queue rule.
 */
static int commit(struct nft_batch *b, char *err, size_t errlen,
		  bool *queue_refused)
{
	struct nft *n = b->nft;
	int fd = mnl_socket_get_fd(n->nl), first_error = 0;
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct msghdr msg = { 0 };
	struct iovec *iov;
	int iovlen;
	size_t acked = 0;

	*queue_refused = false;
	if (b->failed_alloc) {
		snprintf(err, errlen, "out of memory building the batch");
		return -ENOMEM;
	}
	nftnl_batch_end(nftnl_batch_buffer(b->batch), n->seq++);
	nftnl_batch_update(b->batch);
	iovlen = nftnl_batch_iovec_len(b->batch);
	iov = calloc((size_t)iovlen, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	nftnl_batch_iovec(b->batch, iov, (uint32_t)iovlen);
	msg.msg_name = &snl;
	msg.msg_namelen = sizeof(snl);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)iovlen;
	if (sendmsg(fd, &msg, 0) < 0) {
		int e = errno;

		free(iov);
		snprintf(err, errlen, "sending the nftables batch: %s", strerror(e));
		return -e;
	}
	free(iov);
	while (acked < b->n_sent) {
		ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int left;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			/* every answer was queued before sendmsg returned */
			if (errno == EAGAIN)
				break;
			if (!first_error) {
				first_error = -errno;
				snprintf(err, errlen, "reading nftables answers: %s",
					 strerror(errno));
			}
			break;
		}
		left = (int)len;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;
			const struct sent_message *m;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			acked++;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error == 0 || first_error)
				continue;
			first_error = e->error;
			m = sent_by_seq(b, nlh->nlmsg_seq);
			snprintf(err, errlen, "%s: %s", m ? m->what : "nftables",
				 strerror(-e->error));
			*queue_refused = m && m->queue_rule;
		}
	}
	return first_error;
}

struct nft_batch *nft_batch_begin(struct nft *n, const struct rpcgate_config *cfg)
{
	return nft_batch_new(n, &n->seq, cfg);
}

int nft_batch_commit(struct nft_batch *b, char *err, size_t errlen)
{
	bool queue_refused;
	int rc = commit(b, err, errlen, &queue_refused);

	nft_batch_free(b);
	return rc;
}

static int install_with(struct nft *n, const struct rpcgate_config *cfg,
			bool reload, enum nft_queue_kind kind, char *err,
			size_t errlen, bool *queue_refused)
{
	struct nft_batch *b = nft_batch_new(n, &n->seq, cfg);
	int rc;

	if (!b)
		return -ENOMEM;
	nft_rules_build(b, reload, kind);
	rc = commit(b, err, errlen, queue_refused);
	nft_batch_free(b);
	return rc;
}

/* How a start treats what an earlier run left. */
enum start_how {
	START_CREATE,	/* nothing there */
	START_IN_PLACE,	/* its table: chains and sets refilled, as on reload */
	START_REPLACE,	/* its table, of another shape: deleted, made anew */
};

/*
 * The start, in one batch, with the adopted pinholes in it; a refused
 * batch changes nothing.  In place, the table's chains are flushed and
 * refilled like a reload's: each base chain swaps its rules at once, so
 * the drop rule never goes away.  Replacing (the table of an older
 * rpcgated, say) deletes the table and makes it anew: the new base chain
 * is hooked in before the old one, and a packet that crosses both just as
 * the batch commits finds both empty -- a window of microseconds, which
 * the in-place start does not have.  In sets mode the same for the queue
 * table; the pinhole sets (in the administrator's table) keep only the
 * adopted pinholes.
 */
static int start_with(struct nft *n, const struct rpcgate_config *cfg,
		      enum start_how how, const struct nft_adopted *pins,
		      size_t n_pins, char *err, size_t errlen,
		      bool *queue_refused)
{
	struct nft_batch *b = nft_batch_new(n, &n->seq, cfg);
	int rc;

	if (!b)
		return -ENOMEM;
	if (how == START_REPLACE)
		nft_rules_build_remove(b, false);
	nft_rules_build(b, how == START_IN_PLACE, n->queue_kind);
	if (how == START_IN_PLACE || cfg->nft_mode == NFT_MODE_SETS)
		nft_rules_build_remove(b, true);
	if (how == START_IN_PLACE)
		for (size_t i = 0; i < 2; i++)
			nft_batch_flush_set(b, nft_rules_table(cfg),
					    nft_families[i].dnat_map);
	for (size_t i = 0; i < n_pins; i++) {
		nft_batch_pinhole_adopt(b, &pins[i].key, cfg->pinhole_timeout,
					pins[i].remaining_ms);
		if (pins[i].published)
			nft_batch_dnat_add(b, &pins[i].key, pins[i].public_addr,
					   pins[i].dnat_ms, NFT_ELEMENT_ADD);
	}
	rc = commit(b, err, errlen, queue_refused);
	nft_batch_free(b);
	return rc;
}

int nft_install_adopting(struct nft *n, const struct rpcgate_config *cfg,
			 const struct nft_adopted *pins, size_t n_pins,
			 char *err, size_t errlen)
{
	enum start_how how = nft_table_present(n, cfg) == 1 ? START_IN_PLACE :
							      START_CREATE;
	bool queue_refused;
	int rc;

	n->queue_kind = NFT_QUEUE_NATIVE;
	for (int attempt = 0; attempt < 6; attempt++) {
		rc = start_with(n, cfg, how, pins, n_pins, err, errlen,
				&queue_refused);
		if (rc == 0)
			break;
		if (queue_refused && n->queue_kind == NFT_QUEUE_NATIVE)
			n->queue_kind = NFT_QUEUE_XT;
		else if (how == START_IN_PLACE)
			how = START_REPLACE;	/* not the shape this run makes */
		else if (rc == -ENOENT || rc == -EEXIST)
			/* the earlier table went, or came, since we looked */
			how = nft_table_present(n, cfg) == 1 ? START_IN_PLACE :
							       START_CREATE;
		else
			break;
	}
	return rc;
}

int nft_install(struct nft *n, const struct rpcgate_config *cfg, bool reload,
		char *err, size_t errlen)
{
	bool queue_refused;
	int rc;

	if (!reload)
		return nft_install_adopting(n, cfg, NULL, 0, err, errlen);
	rc = install_with(n, cfg, reload, n->queue_kind, err, errlen,
			  &queue_refused);
	if (rc != 0 && queue_refused && n->queue_kind == NFT_QUEUE_NATIVE) {
		n->queue_kind = NFT_QUEUE_XT;
		rc = install_with(n, cfg, reload, n->queue_kind, err, errlen,
				  &queue_refused);
	}
	return rc;
}

/* One batch of its own: "not there" is an answer, not an error. */
static int remove_part(struct nft *n, const struct rpcgate_config *cfg,
		       bool pinhole_sets)
{
	struct nft_batch *b = nft_batch_new(n, &n->seq, cfg);
	char err[256];
	bool queue_refused;
	int rc;

	if (!b)
		return -ENOMEM;
	nft_rules_build_remove(b, pinhole_sets);
	rc = commit(b, err, sizeof(err), &queue_refused);
	nft_batch_free(b);
	return rc == -ENOENT ? 0 : rc;
}

int nft_remove(struct nft *n, const struct rpcgate_config *cfg)
{
	int rc = remove_part(n, cfg, false);

	if (cfg->nft_mode == NFT_MODE_SETS && rc == 0)
		rc = remove_part(n, cfg, true);
	return rc;
}

/*
 * One request outside a batch (nlh, built in buf with sequence number
 * seq), its answers handed to cb: 0, or -errno from the kernel.
 */
static int query(struct nft *n, char *buf, size_t size, struct nlmsghdr *nlh,
		 uint32_t seq, mnl_cb_t cb, void *data)
{
	ssize_t got;
	int rc;

	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		got = mnl_socket_recvfrom(n->nl, buf, size);
		if (got < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)got, seq, n->portid, cb, data);
	} while (rc > 0);
	return rc < 0 ? -errno : 0;
}

int nft_table_present(struct nft *n, const struct rpcgate_config *cfg)
{
	struct nftnl_table *t = nftnl_table_alloc();
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = n->seq++;
	struct nlmsghdr *nlh;
	int rc;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, nft_rules_table(cfg));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET,
				    NLM_F_ACK, seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	rc = query(n, buf, sizeof(buf), nlh, seq, NULL, NULL);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 1;
}

/* Dump answers run to 32 KiB a message batch (the kernel sizes them to
 * the reader's buffer). */
#define DUMP_BUFFER_SIZE 32768

/*
 * A dump of the inet family's objects of one kind (NFT_MSG_GET*), of
 * one table and set where given; cb sees every answer.  A table or set
 * that is not there gives -ENOENT.
 */
static int dump(struct nft *n, uint16_t type, const char *table,
		const char *set, mnl_cb_t cb, void *data)
{
	static char buf[DUMP_BUFFER_SIZE];
	uint32_t seq = n->seq++;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET,
						     NLM_F_DUMP, seq);

	/* every kind of object names its table first, and an element list
	 * its set second */
	if (table)
		mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
	if (set)
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	return query(n, buf, sizeof(buf), nlh, seq, cb, data);
}

static int observe_cb(const struct nlmsghdr *nlh, void *data)
{
	nft_expected_observe(data, nlh);
	return MNL_CB_OK;
}

int nft_ruleset_check(struct nft *n, const struct rpcgate_config *cfg,
		      struct nft_watch_baseline *base, struct nft_damage *d)
{
	static struct nft_expected x;
	const char *table = nft_rules_table(cfg);
	int rc;

	if (!nft_expected_build(&x, cfg, n->queue_kind))
		return -ENOMEM;
	if ((rc = dump(n, NFT_MSG_GETTABLE, NULL, NULL, observe_cb, &x)) < 0 ||
	    (rc = dump(n, NFT_MSG_GETCHAIN, NULL, NULL, observe_cb, &x)) < 0 ||
	    (rc = dump(n, NFT_MSG_GETSET, NULL, NULL, observe_cb, &x)) < 0)
		return rc;
	rc = dump(n, NFT_MSG_GETRULE, table, NULL, observe_cb, &x);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	for (size_t i = 0; i < x.n; i++) {
		const struct nft_object *o = &x.o[i];

		if (!o->fixed_elements || !o->present || o->expected == 0)
			continue;
		rc = dump(n, NFT_MSG_GETSETELEM, o->table, o->name, observe_cb, &x);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	nft_expected_judge(&x, base, d);
	return 0;
}

static int held_cb(const struct nlmsghdr *nlh, void *data)
{
	nft_held_observe(data, nlh);
	return MNL_CB_OK;
}

int nft_pinholes_held(struct nft *n, const struct rpcgate_config *cfg,
		      struct nft_held_pinholes *h)
{
	int there = 0;

	for (size_t i = 0; i < 2; i++) {
		int rc = dump(n, NFT_MSG_GETSETELEM, cfg->nft_table,
			      nft_families[i].pinholes_set, held_cb, h);

		if (rc < 0 && rc != -ENOENT)
			return rc;
		there += rc == 0;
	}
	if (h->failed_alloc)
		return -ENOMEM;
	nft_held_sort(h);
	return there;
}

struct nft_batch *nft_repair_begin(struct nft *n, const struct rpcgate_config *cfg)
{
	struct nft_batch *b = nft_batch_new(n, &n->seq, cfg);

	if (b)
		nft_rules_build_replace(b, n->queue_kind);
	return b;
}

/* ------------------------------------------------------------------ */
/* events                                                              */

/* NFNLGRP_NFTABLES events of one commit come coalesced, a few KiB each */
#define EVENT_BUFFER_SIZE 32768
/* reads per call, so that a storm of events cannot hold up the queue */
#define EVENT_READS_MAX 256

struct nft_events {
	struct mnl_socket *nl;
	const struct nft *session;	/* whose own batches are not news */
};

struct nft_events *nft_events_open(const struct nft *n)
{
	struct nft_events *ev = calloc(1, sizeof(*ev));
	int group = NFNLGRP_NFTABLES, rcvbuf = 4 * 1024 * 1024;

	if (!ev)
		return NULL;
	ev->session = n;
	ev->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!ev->nl || mnl_socket_bind(ev->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(ev->nl, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group)) < 0) {
		nft_events_close(ev);
		return NULL;
	}
	/* rpcgated's own pinholes are events too: room for a burst of them */
	setsockopt(mnl_socket_get_fd(ev->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		   sizeof(rcvbuf));
	return ev;
}

void nft_events_close(struct nft_events *ev)
{
	if (!ev)
		return;
	if (ev->nl)
		mnl_socket_close(ev->nl);
	free(ev);
}

int nft_events_fd(const struct nft_events *ev)
{
	return mnl_socket_get_fd(ev->nl);
}

unsigned nft_events_read(struct nft_events *ev, const struct rpcgate_config *cfg,
			 bool *more)
{
	static char buf[EVENT_BUFFER_SIZE];
	unsigned concerns = 0;

	*more = true;
	for (int i = 0; i < EVENT_READS_MAX; i++) {
		ssize_t len = recv(mnl_socket_get_fd(ev->nl), buf, sizeof(buf), 0);
		const struct nlmsghdr *nlh;
		int left;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			/* the kernel dropped events: what they said is unknown */
			if (errno == ENOBUFS) {
				concerns++;
				continue;
			}
			*more = false;	/* empty (EAGAIN), or nothing more to read */
			break;
		}
		left = (int)len;
		for (nlh = (const struct nlmsghdr *)buf; nft_message_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left))
			concerns += nft_event_concerns(nlh, ev->session->portid, cfg);
	}
	return concerns;
}

/* A GETSETELEM request for set's elements (freed here), answers to cb. */
static int query_elements(struct nft *n, struct nftnl_set *set, uint16_t flags,
			  mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = n->seq++;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM,
						     NFPROTO_INET, flags, seq);

	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return query(n, buf, sizeof(buf), nlh, seq, cb, data);
}

int64_t nft_pinhole_remaining(struct nft *n, const struct rpcgate_config *cfg,
			      const struct pinhole *p, int64_t *admitted)
{
	const struct nft_family *f = nft_family_of(p->family);
	struct nftnl_set *s = nft_element_list(cfg->nft_table, f->pinholes_set);
	struct nft_element_state r = { .ms = -ENOENT };
	uint32_t len;
	uint8_t key[NFT_PINHOLE_KEY_MAX];
	int rc;

	if (!s)
		return -ENOMEM;
	nft_pinhole_key(p, key, &len);
	nft_element_add(s, key, len, 0, 0);
	rc = query_elements(n, s, NLM_F_ACK, nft_element_state_cb, &r);
	if (rc < 0)
		return rc;
	/*
	 * The pinhole rule finds the element (lookup) and refreshes it
	 * (update): each evaluates the element's counter, so a new
	 * connection counts twice.
	 */
	if (admitted)
		*admitted = r.counted ? (int64_t)(r.packets / 2) : -1;
	return r.ms;
}
/*
 * Three batches of their own and one GET, at start only: the delete
 * queues the deferred destroy work the verdict path must never wait for.
 */
int nft_probe_element_update(struct nft *n, const struct rpcgate_config *cfg)
{
	/* protocol 0 and port 0: no pinhole has this key */
	const struct pinhole probe = { .family = AF_INET };
	static const struct {
		uint32_t timeout_s;
		enum nft_element_write how;
	} steps[] = {
		{ 1, NFT_ELEMENT_ADD },
		{ 3600, NFT_ELEMENT_REFRESH },
	};
	char err[256];
	int64_t remaining = 0;
	struct nft_batch *b;
	int rc = 0;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && rc == 0; i++) {
		b = nft_batch_begin(n, cfg);
		if (!b)
			return -ENOMEM;
		nft_batch_pinhole_add(b, &probe, steps[i].timeout_s, steps[i].how);
		rc = nft_batch_commit(b, err, sizeof(err));
	}
	if (rc == 0)
		remaining = nft_pinhole_remaining(n, cfg, &probe, NULL);
	b = nft_batch_begin(n, cfg);
	if (!b)
		return -ENOMEM;
	nft_batch_pinhole_del(b, &probe);
	if (nft_batch_commit(b, err, sizeof(err)) != 0 && rc == 0)
		rc = -EIO;
	if (rc < 0)
		return rc;
	/* -ENOENT: the second's timeout ran out first, so it was not renewed */
	return remaining > 1000;
}
