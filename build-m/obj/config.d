build-m/obj/config.o: daemon/config.c include/config.h include/uuid.h \
 include/wire.h include/policy.h include/config.h include/epm.h \
 include/nft.h include/nft_elements.h include/nft_batch.h \
 include/nft_rules.h
include/config.h:
include/uuid.h:
include/wire.h:
include/policy.h:
include/config.h:
include/epm.h:
include/nft.h:
include/nft_elements.h:
include/nft_batch.h:
include/nft_rules.h:
