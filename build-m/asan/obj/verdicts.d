build-m/asan/obj/verdicts.o: daemon/verdicts.c include/verdicts.h
include/verdicts.h:
