build-m/asan/obj/dcerpc_cl.o: daemon/dcerpc_cl.c include/dcerpc_cl.h \
 include/dcerpc.h include/epm.h include/uuid.h include/wire.h \
 include/wire.h
include/dcerpc_cl.h:
include/dcerpc.h:
include/epm.h:
include/uuid.h:
include/wire.h:
include/wire.h:
