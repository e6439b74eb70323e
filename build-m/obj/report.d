build-m/obj/report.o: daemon/report.c include/packet.h include/report.h \
 include/epm.h include/uuid.h include/wire.h
include/packet.h:
include/report.h:
include/epm.h:
include/uuid.h:
include/wire.h:
