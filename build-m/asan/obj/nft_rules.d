build-m/asan/obj/nft_rules.o: daemon/nft_rules.c include/nft_rules.h \
 include/config.h include/uuid.h include/wire.h include/nft_batch.h
include/nft_rules.h:
include/config.h:
include/uuid.h:
include/wire.h:
include/nft_batch.h:
