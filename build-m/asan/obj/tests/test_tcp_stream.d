build-m/asan/obj/tests/test_tcp_stream.o: tests/unit/test_tcp_stream.c \
 tests/unit/../../daemon/tcp_stream.c include/tcp_stream.h \
 tests/unit/unit.h
tests/unit/../../daemon/tcp_stream.c:
include/tcp_stream.h:
tests/unit/unit.h:
