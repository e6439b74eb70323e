build-m/obj/tests/test_nft_rules.o: tests/unit/test_nft_rules.c \
 tests/unit/../../daemon/nft_rules.c include/nft_rules.h include/config.h \
 include/uuid.h include/wire.h include/nft_batch.h tests/unit/unit.h
tests/unit/../../daemon/nft_rules.c:
include/nft_rules.h:
include/config.h:
include/uuid.h:
include/wire.h:
include/nft_batch.h:
tests/unit/unit.h:
