build-m/obj/tcp_stream.o: daemon/tcp_stream.c include/tcp_stream.h
include/tcp_stream.h:
