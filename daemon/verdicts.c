#include "verdicts.h"

size_t verdict_plan(const struct verdict_entry *entries, size_t n,
		    struct verdict_message *out)
{
	size_t first_held = n, n_out = 0, accepted_before = 0, last_before = 0;

	for (size_t i = 0; i < n; i++) {
		if (entries[i].kind == VERDICT_DROP)
			out[n_out++] = (struct verdict_message){
				VERDICT_MESSAGE_DROP, entries[i].id, 0 };
		else if (entries[i].kind == VERDICT_ACCEPT_MARK)
			out[n_out++] = (struct verdict_message){
				VERDICT_MESSAGE_ACCEPT_MARK, entries[i].id,
				entries[i].mark };
		else if (entries[i].kind == VERDICT_HELD && first_held == n)
			first_held = i;
		else if (entries[i].kind == VERDICT_ACCEPT && i < first_held) {
			accepted_before++;
			last_before = i;
		}
	}
	/* the drops and marked accepts went first: the batch cannot reach them */
	if (accepted_before)
		out[n_out++] = (struct verdict_message){
			accepted_before > 1 ? VERDICT_MESSAGE_ACCEPT_UPTO :
					      VERDICT_MESSAGE_ACCEPT,
			entries[last_before].id, 0 };
	for (size_t i = first_held + 1; i < n; i++)
		if (entries[i].kind == VERDICT_ACCEPT)
			out[n_out++] = (struct verdict_message){
				VERDICT_MESSAGE_ACCEPT, entries[i].id, 0 };
	return n_out;
}
