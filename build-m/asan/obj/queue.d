build-m/asan/obj/queue.o: daemon/queue.c include/queue.h include/packet.h \
 include/verdicts.h
include/queue.h:
include/packet.h:
include/verdicts.h:
