# rpcgate -- see README.md.  `sudo make demo` and `sudo make check` install
# what they need; plain `make` only builds.

PKGS     := libpcap zlib
CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Iinclude \
            $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS))

BUILD    := build
DECODER  := daemon/uuid.c daemon/epm.c daemon/dcerpc.c daemon/tcp_stream.c \
            daemon/packet.c daemon/flow.c
DAEMON   := $(DECODER) daemon/log.c daemon/replay.c daemon/rpcgated.c

.PHONY: all clean
all: $(BUILD)/rpcgated

$(BUILD)/rpcgated: $(DAEMON) $(wildcard include/*.h) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(DAEMON) $(LDLIBS)

$(BUILD):
	mkdir -p $@

clean:
	rm -rf $(BUILD)
