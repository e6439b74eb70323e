build-m/asan/obj/nft_batch.o: daemon/nft_batch.c include/nft_batch.h \
 include/config.h include/uuid.h include/wire.h
include/nft_batch.h:
include/config.h:
include/uuid.h:
include/wire.h:
