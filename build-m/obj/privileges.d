build-m/obj/privileges.o: daemon/privileges.c include/privileges.h
include/privileges.h:
