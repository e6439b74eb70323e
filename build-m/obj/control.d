build-m/obj/control.o: daemon/control.c include/control.h \
 include/config.h include/uuid.h include/wire.h include/json.h
include/control.h:
include/config.h:
include/uuid.h:
include/wire.h:
include/json.h:
