build-m/obj/nft_elements.o: daemon/nft_elements.c include/nft_elements.h \
 include/nft_batch.h include/config.h include/uuid.h include/wire.h
include/nft_elements.h:
include/nft_batch.h:
include/config.h:
include/uuid.h:
include/wire.h:
