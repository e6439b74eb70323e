build-m/asan/obj/json.o: daemon/json.c include/json.h
include/json.h:
