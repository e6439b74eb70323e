build-m/asan/obj/tests/test_flow.o: tests/unit/test_flow.c \
 tests/unit/../../daemon/flow.c include/config.h include/uuid.h \
 include/wire.h include/flow.h include/dcerpc.h include/epm.h \
 include/dcerpc_cl.h include/packet.h include/tcp_stream.h \
 tests/unit/build_pdu.h include/dcerpc.h include/epm.h tests/unit/unit.h
tests/unit/../../daemon/flow.c:
include/config.h:
include/uuid.h:
include/wire.h:
include/flow.h:
include/dcerpc.h:
include/epm.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
tests/unit/build_pdu.h:
include/dcerpc.h:
include/epm.h:
tests/unit/unit.h:
