build-m/asan/obj/rpcgated.o: daemon/rpcgated.c include/config.h \
 include/uuid.h include/wire.h include/control.h include/config.h \
 include/json.h include/flow.h include/dcerpc.h include/epm.h \
 include/dcerpc_cl.h include/packet.h include/tcp_stream.h include/log.h \
 include/nft.h include/nft_elements.h include/nft_batch.h \
 include/nft_rules.h include/printconf.h include/replay.h include/flow.h \
 include/report.h include/service.h include/version.h
include/config.h:
include/uuid.h:
include/wire.h:
include/control.h:
include/config.h:
include/json.h:
include/flow.h:
include/dcerpc.h:
include/epm.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
include/log.h:
include/nft.h:
include/nft_elements.h:
include/nft_batch.h:
include/nft_rules.h:
include/printconf.h:
include/replay.h:
include/flow.h:
include/report.h:
include/service.h:
include/version.h:
