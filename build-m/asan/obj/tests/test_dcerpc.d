build-m/asan/obj/tests/test_dcerpc.o: tests/unit/test_dcerpc.c \
 tests/unit/../../daemon/dcerpc.c include/dcerpc.h include/epm.h \
 include/uuid.h include/wire.h include/wire.h tests/unit/build_pdu.h \
 include/epm.h include/flow.h include/dcerpc.h include/dcerpc_cl.h \
 include/packet.h include/tcp_stream.h include/tcp_stream.h \
 tests/unit/unit.h
tests/unit/../../daemon/dcerpc.c:
include/dcerpc.h:
include/epm.h:
include/uuid.h:
include/wire.h:
include/wire.h:
tests/unit/build_pdu.h:
include/epm.h:
include/flow.h:
include/dcerpc.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
include/tcp_stream.h:
tests/unit/unit.h:
