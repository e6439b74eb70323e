build-m/asan/obj/tests/test_packet.o: tests/unit/test_packet.c \
 tests/unit/../../daemon/packet.c include/packet.h include/wire.h \
 tests/unit/build_pdu.h include/dcerpc.h include/epm.h include/uuid.h \
 include/wire.h include/epm.h include/flow.h include/dcerpc.h \
 include/dcerpc_cl.h include/packet.h include/tcp_stream.h \
 tests/unit/unit.h
tests/unit/../../daemon/packet.c:
include/packet.h:
include/wire.h:
tests/unit/build_pdu.h:
include/dcerpc.h:
include/epm.h:
include/uuid.h:
include/wire.h:
include/epm.h:
include/flow.h:
include/dcerpc.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
tests/unit/unit.h:
