build-m/obj/stats.o: daemon/stats.c include/stats.h include/epm.h \
 include/uuid.h include/wire.h include/flow.h include/dcerpc.h \
 include/dcerpc_cl.h include/packet.h include/tcp_stream.h include/gate.h \
 include/config.h include/nft.h include/nft_elements.h \
 include/nft_batch.h include/nft_rules.h include/policy.h
include/stats.h:
include/epm.h:
include/uuid.h:
include/wire.h:
include/flow.h:
include/dcerpc.h:
include/dcerpc_cl.h:
include/packet.h:
include/tcp_stream.h:
include/gate.h:
include/config.h:
include/nft.h:
include/nft_elements.h:
include/nft_batch.h:
include/nft_rules.h:
include/policy.h:
