build-m/asan/obj/tests/test_epm.o: tests/unit/test_epm.c \
 tests/unit/../../daemon/epm.c include/epm.h include/uuid.h \
 include/wire.h include/wire.h tests/unit/build_pdu.h include/dcerpc.h \
 include/epm.h include/flow.h include/dcerpc.h include/dcerpc_cl.h \
 include/packet.h include/tcp_stream.h tests/unit/unit.h
tests/unit/../../daemon/epm.c:
include/epm.h:
include/uuid.h:
include/wire.h:
include/wire.h:
tests/unit/build_pdu.h:
include/dcerpc.h:
include/epm.h:
include/flow.h:
include/dcerpc.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
tests/unit/unit.h:
