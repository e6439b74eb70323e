build-m/asan/obj/tests/test_log.o: tests/unit/test_log.c \
 tests/unit/../../daemon/log.c include/log.h tests/unit/unit.h
tests/unit/../../daemon/log.c:
include/log.h:
tests/unit/unit.h:
