build-m/asan/obj/tests/test_control.o: tests/unit/test_control.c \
 tests/unit/../../daemon/control.c include/control.h include/config.h \
 include/uuid.h include/wire.h include/json.h include/stats.h \
 include/epm.h include/flow.h include/dcerpc.h include/dcerpc_cl.h \
 include/packet.h include/tcp_stream.h include/gate.h include/nft.h \
 include/nft_elements.h include/nft_batch.h include/nft_rules.h \
 include/policy.h tests/unit/unit.h
tests/unit/../../daemon/control.c:
include/control.h:
include/config.h:
include/uuid.h:
include/wire.h:
include/json.h:
include/stats.h:
include/epm.h:
include/flow.h:
include/dcerpc.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
include/gate.h:
include/nft.h:
include/nft_elements.h:
include/nft_batch.h:
include/nft_rules.h:
include/policy.h:
tests/unit/unit.h:
