build-m/obj/state.o: daemon/state.c include/state.h include/policy.h \
 include/config.h include/uuid.h include/wire.h include/epm.h \
 include/nft.h include/nft_elements.h include/nft_batch.h \
 include/nft_rules.h
include/state.h:
include/policy.h:
include/config.h:
include/uuid.h:
include/wire.h:
include/epm.h:
include/nft.h:
include/nft_elements.h:
include/nft_batch.h:
include/nft_rules.h:
