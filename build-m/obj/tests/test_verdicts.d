build-m/obj/tests/test_verdicts.o: tests/unit/test_verdicts.c \
 tests/unit/../../daemon/verdicts.c include/verdicts.h tests/unit/unit.h
tests/unit/../../daemon/verdicts.c:
include/verdicts.h:
tests/unit/unit.h:
