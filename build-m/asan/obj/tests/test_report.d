build-m/asan/obj/tests/test_report.o: tests/unit/test_report.c \
 tests/unit/../../daemon/report.c include/packet.h include/report.h \
 include/epm.h include/uuid.h include/wire.h tests/unit/unit.h
tests/unit/../../daemon/report.c:
include/packet.h:
include/report.h:
include/epm.h:
include/uuid.h:
include/wire.h:
tests/unit/unit.h:
