build-m/obj/printconf.o: daemon/printconf.c include/epm.h include/uuid.h \
 include/wire.h include/printconf.h include/config.h
include/epm.h:
include/uuid.h:
include/wire.h:
include/printconf.h:
include/config.h:
