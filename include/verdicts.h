/*
 * Which verdict messages a burst of queued packets needs.  A batch
 * verdict (NFQNL_MSG_VERDICT_BATCH, id N) accepts every packet with id up
 * to N that the kernel still holds, so it may only reach as far as the
 * packet before the first one held back -- an answer whose pinholes are
 * not in the kernel yet.  Pure: entries in, messages out.
 */
#ifndef RPCGATE_VERDICTS_H
#define RPCGATE_VERDICTS_H

#include <stddef.h>
#include <stdint.h>

enum verdict_kind {
	VERDICT_ACCEPT,
	VERDICT_ACCEPT_MARK,	/* accepted with a packet mark of its own */
	VERDICT_DROP,	/* a forged packet */
	VERDICT_HELD,	/* no verdict yet: its answer's pinholes come first */
};

/* One packet read and not yet given its verdict. */
struct verdict_entry {
	uint32_t id;
	enum verdict_kind kind;
	uint32_t mark;		/* VERDICT_ACCEPT_MARK */
};

enum verdict_message_kind {
	VERDICT_MESSAGE_DROP,		/* one packet */
	VERDICT_MESSAGE_ACCEPT,		/* one packet */
	VERDICT_MESSAGE_ACCEPT_MARK,	/* one packet, its mark set */
	VERDICT_MESSAGE_ACCEPT_UPTO,	/* a batch: every id up to this one */
};

struct verdict_message {
	enum verdict_message_kind kind;
	uint32_t id;
	uint32_t mark;		/* VERDICT_MESSAGE_ACCEPT_MARK */
};

/*
 * The messages for entries, in the order the kernel queued them (its ids
 * grow with it, modulo 2^32), to be sent in the order written to out
 * (room for n): the drops and the accepts with a mark (a batch would
 * accept them with the mark they came with), then one batch for the
 * accepted packets before
 * the first held one (a single accept when it is one packet), then single
 * accepts for those after it.  Held entries get nothing.  Returns how
 * many messages there are.
 */
size_t verdict_plan(const struct verdict_entry *entries, size_t n,
		    struct verdict_message *out);

#endif
