build-m/obj/uuid.o: daemon/uuid.c include/uuid.h include/wire.h
include/uuid.h:
include/wire.h:
