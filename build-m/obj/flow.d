build-m/obj/flow.o: daemon/flow.c include/config.h include/uuid.h \
 include/wire.h include/flow.h include/dcerpc.h include/epm.h \
 include/dcerpc_cl.h include/packet.h include/tcp_stream.h
include/config.h:
include/uuid.h:
include/wire.h:
include/flow.h:
include/dcerpc.h:
include/epm.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
