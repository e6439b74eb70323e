build-m/obj/epm.o: daemon/epm.c include/epm.h include/uuid.h \
 include/wire.h include/wire.h
include/epm.h:
include/uuid.h:
include/wire.h:
include/wire.h:
