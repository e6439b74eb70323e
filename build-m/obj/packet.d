build-m/obj/packet.o: daemon/packet.c include/packet.h include/wire.h
include/packet.h:
include/wire.h:
