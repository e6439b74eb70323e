build-m/obj/json.o: daemon/json.c include/json.h
include/json.h:
