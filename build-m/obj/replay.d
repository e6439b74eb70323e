build-m/obj/replay.o: daemon/replay.c include/gate.h include/config.h \
 include/uuid.h include/wire.h include/dcerpc.h include/epm.h \
 include/flow.h include/dcerpc_cl.h include/packet.h include/tcp_stream.h \
 include/nft.h include/nft_elements.h include/nft_batch.h \
 include/nft_rules.h include/policy.h include/log.h include/packet.h \
 include/replay.h include/report.h
include/gate.h:
include/config.h:
include/uuid.h:
include/wire.h:
include/dcerpc.h:
include/epm.h:
include/flow.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
include/nft.h:
include/nft_elements.h:
include/nft_batch.h:
include/nft_rules.h:
include/policy.h:
include/log.h:
include/packet.h:
include/replay.h:
include/report.h:
