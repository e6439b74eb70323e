build-m/obj/nft.o: daemon/nft.c include/nft.h include/config.h \
 include/uuid.h include/wire.h include/nft_elements.h include/nft_batch.h \
 include/nft_rules.h
include/nft.h:
include/config.h:
include/uuid.h:
include/wire.h:
include/nft_elements.h:
include/nft_batch.h:
include/nft_rules.h:
