build-m/obj/rpcgatectl.o: daemon/rpcgatectl.c include/control.h \
 include/config.h include/uuid.h include/wire.h include/json.h \
 include/json.h include/version.h
include/control.h:
include/config.h:
include/uuid.h:
include/wire.h:
include/json.h:
include/json.h:
include/version.h:
