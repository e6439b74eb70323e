# rpcgate.  The README's two commands, `sudo make demo` and `sudo make check`,
# install what they need (scripts/install-deps.sh); plain `make` only builds.

PKGS      := libpcap zlib libconfig libmnl libnftnl libnetfilter_queue \
             libnetfilter_conntrack libsystemd
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror
CPPFLAGS  += -Iinclude $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    += $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SANITIZE  := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60

BUILD     := build
# The pure decoder: what the fuzzer, the benchmark and the unit tests link.
DECODER   := daemon/uuid.c daemon/epm.c daemon/dcerpc.c daemon/dcerpc_cl.c \
             daemon/tcp_stream.c \
             daemon/packet.c daemon/flow.c
DAEMON    := $(DECODER) daemon/log.c daemon/config.c daemon/gate.c \
             daemon/nft.c daemon/queue.c daemon/conntrack.c daemon/service.c \
             daemon/replay.c daemon/report.c daemon/printconf.c daemon/rpcgated.c \
             daemon/control.c daemon/json.c daemon/stats.c daemon/privileges.c
# rpcgatectl speaks JSON over a Unix socket and needs no library.
CTL       := daemon/rpcgatectl.c daemon/json.c
HEADERS   := $(wildcard include/*.h)
UNIT      := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
# C tools the tests and benchmarks drive (load generators, forgers): one
# self-contained .c each in tests/tools/, built into $(BUILD)/tools/.
TOOLS     := $(patsubst tests/tools/%.c,%,$(wildcard tests/tools/*.c))

# Debian packages: to build, to run the tests, to fuzz.
BUILD_DEPS := gcc make pkg-config libpcap-dev zlib1g-dev libconfig-dev \
              libmnl-dev libnftnl-dev libnetfilter-queue-dev \
              libnetfilter-conntrack-dev libsystemd-dev
TEST_DEPS  := python3 tshark python3-impacket python3-scapy iproute2 nftables \
              ethtool samba samba-common-bin smbclient \
              mandoc systemd util-linux passwd man-db
FUZZ_DEPS  := clang libclang-rt-14-dev

.PHONY: all clean deps check unit tools fuzz fuzz-control bench demo install uninstall
all: $(BUILD)/rpcgated $(BUILD)/rpcgatectl

$(BUILD)/rpcgated: $(DAEMON) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $(DAEMON) $(LDLIBS)

$(BUILD)/rpcgatectl: $(CTL) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $(CTL)

# A unit test #includes its module's .c, so that module is left out here.
UNIT_LINK := $(DECODER) daemon/config.c daemon/gate.c daemon/json.c daemon/stats.c
unit_sources = tests/unit/$(1).c $(filter-out daemon/$(patsubst test_%,%,$(1)).c,$(UNIT_LINK))

$(BUILD)/tests/%: tests/unit/%.c $(wildcard daemon/*.c) $(HEADERS) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -o $@ $(call unit_sources,$*) $(LDLIBS)

$(BUILD)/asan/tests/%: tests/unit/%.c $(wildcard daemon/*.c) $(HEADERS) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(SANITIZE) $(CPPFLAGS) -o $@ $(call unit_sources,$*) $(LDLIBS)

unit: $(UNIT:%=$(BUILD)/tests/%) $(UNIT:%=$(BUILD)/asan/tests/%)

$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(LDLIBS)

tools: $(TOOLS:%=$(BUILD)/tools/%)

deps:
	@scripts/install-deps.sh $(BUILD_DEPS) $(TEST_DEPS) $(FUZZ_DEPS)

check: deps
	$(MAKE) all unit tools
	tests/run.sh $(BUILD)

$(BUILD)/fuzz_decoder: tests/fuzz/fuzz_decoder.c $(DECODER) $(HEADERS)
	@mkdir -p $(@D)
	clang $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $(CPPFLAGS) -o $@ $< $(DECODER)

# The control socket's reader (json.c, control.c's requests); prefix_parse
# comes from config.c.
FUZZ_CONTROL := daemon/control.c daemon/json.c daemon/config.c $(DECODER)
$(BUILD)/fuzz_control: tests/fuzz/fuzz_control.c $(FUZZ_CONTROL) $(HEADERS)
	@mkdir -p $(@D)
	clang $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $(CPPFLAGS) -o $@ $< $(FUZZ_CONTROL) \
		$(shell pkg-config --libs libconfig)

fuzz-control: $(BUILD)/fuzz_control
	@mkdir -p $(BUILD)/fuzz-corpus-control
	$(BUILD)/fuzz_control -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-print_final_stats=1 $(BUILD)/fuzz-corpus-control tests/fuzz/corpus_control

fuzz: $(BUILD)/fuzz_decoder
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/fuzz_decoder -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-print_final_stats=1 $(BUILD)/fuzz-corpus tests/fuzz/corpus

$(BUILD)/bench_decoder: tests/bench/bench_decoder.c $(DECODER) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(CPPFLAGS) -o $@ $< $(DECODER)

bench: $(BUILD)/bench_decoder
	$(BUILD)/bench_decoder

demo:
	@scripts/install-deps.sh $(BUILD_DEPS) python3 python3-impacket python3-scapy \
		iproute2 nftables ethtool
	$(MAKE) all
	scripts/demo.sh $(BUILD)

# An existing configuration is never overwritten.  The unit names the
# binary under PREFIX.  INSTALL_STRIP= keeps symbols (debian/rules does, so
# that dh_strip makes the debug package).
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/rpcgate
UNITDIR ?= /lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
INSTALL_STRIP ?= -s
install: all
	install -D -m 0755 $(INSTALL_STRIP) $(BUILD)/rpcgated $(DESTDIR)$(SBINDIR)/rpcgated
	install -D -m 0755 $(INSTALL_STRIP) $(BUILD)/rpcgatectl $(DESTDIR)$(SBINDIR)/rpcgatectl
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/sbin/|$(SBINDIR)/|g' -e 's|/usr/share/doc/rpcgate/|$(DOCDIR)/|g' \
		systemd/rpcgate.service >$(DESTDIR)$(UNITDIR)/rpcgate.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/rpcgate.service
	install -D -m 0644 man/rpcgated.8 $(DESTDIR)$(MANDIR)/man8/rpcgated.8
	install -D -m 0644 man/rpcgatectl.8 $(DESTDIR)$(MANDIR)/man8/rpcgatectl.8
	install -D -m 0644 systemd/rpcgate.sysusers $(DESTDIR)$(SYSUSERSDIR)/rpcgate.conf
	install -D -m 0644 systemd/rpcgate.tmpfiles $(DESTDIR)$(TMPFILESDIR)/rpcgate.conf
	install -D -m 0644 man/rpcgate.conf.5 $(DESTDIR)$(MANDIR)/man5/rpcgate.conf.5
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	test -e $(DESTDIR)/etc/rpcgate/rpcgate.conf || \
		install -D -m 0644 conf/rpcgate.conf $(DESTDIR)/etc/rpcgate/rpcgate.conf

# The configuration stays: it is the administrator's.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/rpcgated $(DESTDIR)$(SBINDIR)/rpcgatectl \
		$(DESTDIR)$(UNITDIR)/rpcgate.service \
		$(DESTDIR)$(SYSUSERSDIR)/rpcgate.conf $(DESTDIR)$(TMPFILESDIR)/rpcgate.conf \
		$(DESTDIR)$(MANDIR)/man8/rpcgated.8 $(DESTDIR)$(MANDIR)/man8/rpcgatectl.8 \
		$(DESTDIR)$(MANDIR)/man5/rpcgate.conf.5 $(DESTDIR)$(DOCDIR)/README.md
	-rmdir $(DESTDIR)$(DOCDIR)

clean:
	rm -rf $(BUILD)
