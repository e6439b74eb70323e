/*
 * libFuzzer target for what the ruleset watch reads from the kernel
 * (nft_watch.c): arbitrary bytes as a run of netlink messages, each
 * judged as an NFNLGRP_NFTABLES event (table and sets mode), fed to the
 * check as a dump answer and read as a pinhole set's elements.  Nothing
 * read may crash it, and an element it keeps must be found again.
 */
#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>

#include "nft_watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rpcgate_config table, sets;
	static struct nft_expected pristine, x;
	static bool ready;
	struct nft_held_pinholes held = { 0 };
	struct nft_watch_baseline base = { 0 };
	struct nft_damage d;
	const struct nlmsghdr *nlh;
	uint32_t *copy;
	int left = (int)size;

	if (!ready) {
		config_defaults(&table);
		config_defaults(&sets);
		sets.nft_mode = NFT_MODE_SETS;
		snprintf(sets.nft_table, sizeof(sets.nft_table), "filter");
		if (!nft_expected_build(&pristine, &sets, NFT_QUEUE_XT))
			abort();
		ready = true;
	}
	if (size > 1 << 20)
		return 0;
	x = pristine;
	/* netlink messages are 4-byte aligned */
	copy = malloc(size + 4);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	for (nlh = (const struct nlmsghdr *)copy; nft_message_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		nft_event_concerns(nlh, 1234, &table);
		nft_event_concerns(nlh, 1234, &sets);
		nft_expected_observe(&x, nlh);
		nft_held_observe(&held, nlh);
	}
	nft_expected_judge(&x, &base, &d);
	if (strlen(d.what) >= sizeof(d.what))
		abort();
	nft_held_sort(&held);
	for (size_t i = 0; i < held.n; i++) {
		struct nft_held_pinhole *e = &held.e[i];

		if (e->len == 0 || e->len > NFT_PINHOLE_KEY_MAX)
			abort();
	}
	nft_held_release(&held);
	free(copy);
	return 0;
}
