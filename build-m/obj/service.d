build-m/obj/service.o: daemon/service.c include/conntrack.h \
 include/flow.h include/dcerpc.h include/epm.h include/uuid.h \
 include/wire.h include/dcerpc_cl.h include/packet.h include/tcp_stream.h \
 include/nft.h include/config.h include/nft_elements.h \
 include/nft_batch.h include/nft_rules.h include/control.h include/json.h \
 include/flow.h include/gate.h include/policy.h include/log.h \
 include/nft.h include/packet.h include/privileges.h include/queue.h \
 include/report.h include/service.h include/state.h include/stats.h \
 include/gate.h include/version.h
include/conntrack.h:
include/flow.h:
include/dcerpc.h:
include/epm.h:
include/uuid.h:
include/wire.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
include/nft.h:
include/config.h:
include/nft_elements.h:
include/nft_batch.h:
include/nft_rules.h:
include/control.h:
include/json.h:
include/flow.h:
include/gate.h:
include/policy.h:
include/log.h:
include/nft.h:
include/packet.h:
include/privileges.h:
include/queue.h:
include/report.h:
include/service.h:
include/state.h:
include/stats.h:
include/gate.h:
include/version.h:
