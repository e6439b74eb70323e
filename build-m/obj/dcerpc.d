build-m/obj/dcerpc.o: daemon/dcerpc.c include/dcerpc.h include/epm.h \
 include/uuid.h include/wire.h include/wire.h
include/dcerpc.h:
include/epm.h:
include/uuid.h:
include/wire.h:
include/wire.h:
