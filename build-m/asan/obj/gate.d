build-m/asan/obj/gate.o: daemon/gate.c include/gate.h include/config.h \
 include/uuid.h include/wire.h include/dcerpc.h include/epm.h \
 include/flow.h include/dcerpc_cl.h include/packet.h include/tcp_stream.h \
 include/nft.h include/nft_elements.h include/nft_batch.h \
 include/nft_rules.h include/policy.h include/report.h
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
include/report.h:
