/* Which verdict messages a burst needs: batches never reach a held packet. */
#include "../../daemon/verdicts.c"
#include "unit.h"

#define A(id) { id, VERDICT_ACCEPT, 0 }
#define M(id, mark) { id, VERDICT_ACCEPT_MARK, mark }
#define D(id) { id, VERDICT_DROP, 0 }
#define H(id) { id, VERDICT_HELD, 0 }
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static struct verdict_message out[64];

static int is(size_t i, enum verdict_message_kind kind, uint32_t id)
{
	return out[i].kind == kind && out[i].id == id;
}

static void test_all_accepted_is_one_batch(void)
{
	struct verdict_entry e[] = { A(7), A(8), A(9), A(10) };

	CHECK(verdict_plan(e, N_OF(e), out) == 1);
	CHECK(is(0, VERDICT_MESSAGE_ACCEPT_UPTO, 10));
}

static void test_one_packet_is_a_single_verdict(void)
{
	struct verdict_entry e[] = { A(3) };

	CHECK(verdict_plan(e, N_OF(e), out) == 1);
	CHECK(is(0, VERDICT_MESSAGE_ACCEPT, 3));
	CHECK(verdict_plan(e, 0, out) == 0);
}

/* The batch reaches only the packet before the held answer; what came
 * after it is accepted one by one, never by a batch past the answer. */
static void test_batch_stops_below_the_held_packet(void)
{
	struct verdict_entry e[] = { A(1), A(2), A(3), H(4), A(5), A(6) };

	CHECK(verdict_plan(e, N_OF(e), out) == 3);
	CHECK(is(0, VERDICT_MESSAGE_ACCEPT_UPTO, 3));
	CHECK(is(1, VERDICT_MESSAGE_ACCEPT, 5));
	CHECK(is(2, VERDICT_MESSAGE_ACCEPT, 6));
	for (size_t i = 0; i < 3; i++)
		CHECK(out[i].id != 4);
}

/* With the held packet first, nothing may go out as a batch. */
static void test_held_first_means_no_batch(void)
{
	struct verdict_entry e[] = { H(100), A(101), A(102), H(103), A(104) };
	size_t n = verdict_plan(e, N_OF(e), out);

	CHECK(n == 3);
	for (size_t i = 0; i < n; i++)
		CHECK(out[i].kind == VERDICT_MESSAGE_ACCEPT);
	CHECK(is(0, VERDICT_MESSAGE_ACCEPT, 101));
	CHECK(is(2, VERDICT_MESSAGE_ACCEPT, 104));
}

/* A drop goes out before the batch, so the batch cannot accept it. */
static void test_drops_go_first_and_singly(void)
{
	struct verdict_entry e[] = { A(1), D(2), A(3), H(4), D(5), A(6) };

	CHECK(verdict_plan(e, N_OF(e), out) == 4);
	CHECK(is(0, VERDICT_MESSAGE_DROP, 2));
	CHECK(is(1, VERDICT_MESSAGE_DROP, 5));
	CHECK(is(2, VERDICT_MESSAGE_ACCEPT_UPTO, 3));
	CHECK(is(3, VERDICT_MESSAGE_ACCEPT, 6));
}

/*
 * A packet accepted with its own mark (published_mark cleared) goes
 * singly, with the mark, before the batch: the batch, sent after it,
 * cannot accept it with the mark it came with.  Held or not.
 */
static void test_marked_accepts_go_first_with_their_mark(void)
{
	struct verdict_entry e[] = { A(1), M(2, 0x2), A(3), H(4), M(5, 0x7), A(6) };

	CHECK(verdict_plan(e, N_OF(e), out) == 4);
	CHECK(is(0, VERDICT_MESSAGE_ACCEPT_MARK, 2) && out[0].mark == 0x2);
	CHECK(is(1, VERDICT_MESSAGE_ACCEPT_MARK, 5) && out[1].mark == 0x7);
	CHECK(is(2, VERDICT_MESSAGE_ACCEPT_UPTO, 3));
	CHECK(is(3, VERDICT_MESSAGE_ACCEPT, 6));
}

static void test_only_held_and_dropped(void)
{
	struct verdict_entry e[] = { H(9), D(10), H(11) };

	CHECK(verdict_plan(e, N_OF(e), out) == 1);
	CHECK(is(0, VERDICT_MESSAGE_DROP, 10));
	CHECK(verdict_plan(e, 1, out) == 0);
}

/* The kernel's ids wrap; the order of arrival is what counts. */
static void test_ids_wrapping(void)
{
	struct verdict_entry e[] = { A(0xfffffffe), A(0xffffffff), A(0), H(1),
				     A(2) };

	CHECK(verdict_plan(e, N_OF(e), out) == 2);
	CHECK(is(0, VERDICT_MESSAGE_ACCEPT_UPTO, 0));
	CHECK(is(1, VERDICT_MESSAGE_ACCEPT, 2));
}

int main(void)
{
	RUN(test_all_accepted_is_one_batch);
	RUN(test_one_packet_is_a_single_verdict);
	RUN(test_batch_stops_below_the_held_packet);
	RUN(test_held_first_means_no_batch);
	RUN(test_drops_go_first_and_singly);
	RUN(test_marked_accepts_go_first_with_their_mark);
	RUN(test_only_held_and_dropped);
	RUN(test_ids_wrapping);
	UNIT_EXIT();
}
