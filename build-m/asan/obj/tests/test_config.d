build-m/asan/obj/tests/test_config.o: tests/unit/test_config.c \
 tests/unit/../../daemon/config.c include/config.h include/uuid.h \
 include/wire.h include/policy.h include/config.h include/epm.h \
 include/nft.h include/nft_elements.h include/nft_batch.h \
 include/nft_rules.h tests/unit/unit.h
tests/unit/../../daemon/config.c:
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
tests/unit/unit.h:
