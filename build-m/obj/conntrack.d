build-m/obj/conntrack.o: daemon/conntrack.c include/conntrack.h \
 include/flow.h include/dcerpc.h include/epm.h include/uuid.h \
 include/wire.h include/dcerpc_cl.h include/packet.h include/tcp_stream.h \
 include/nft.h include/config.h include/nft_elements.h \
 include/nft_batch.h include/nft_rules.h
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
