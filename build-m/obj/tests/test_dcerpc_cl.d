build-m/obj/tests/test_dcerpc_cl.o: tests/unit/test_dcerpc_cl.c \
 tests/unit/../../daemon/dcerpc_cl.c include/dcerpc_cl.h include/dcerpc.h \
 include/epm.h include/uuid.h include/wire.h include/wire.h \
 tests/unit/build_cl.h tests/unit/build_pdu.h include/dcerpc.h \
 include/epm.h include/flow.h include/dcerpc_cl.h include/packet.h \
 include/tcp_stream.h tests/unit/unit.h
tests/unit/../../daemon/dcerpc_cl.c:
include/dcerpc_cl.h:
include/dcerpc.h:
include/epm.h:
include/uuid.h:
include/wire.h:
include/wire.h:
tests/unit/build_cl.h:
tests/unit/build_pdu.h:
include/dcerpc.h:
include/epm.h:
include/flow.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
tests/unit/unit.h:
