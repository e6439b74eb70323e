build-m/asan/obj/tests/test_state.o: tests/unit/test_state.c \
 tests/unit/../../daemon/state.c include/state.h include/policy.h \
 include/config.h include/uuid.h include/wire.h include/epm.h \
 include/nft.h include/nft_elements.h include/nft_batch.h \
 include/nft_rules.h tests/unit/unit.h
tests/unit/../../daemon/state.c:
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
tests/unit/unit.h:
