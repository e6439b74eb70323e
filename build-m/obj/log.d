build-m/obj/log.o: daemon/log.c include/log.h
include/log.h:
