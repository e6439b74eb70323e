# rpcgate.  The README's two commands, `make demo` and `make check` (as
# root), install what they need (scripts/install-deps.sh); plain `make` only
# builds, `make test` builds and runs every test without touching packages.
#
# Every daemon/*.c is one module, compiled once per build flavour into its
# own object directory with generated header dependencies (-MMD -MP), so a
# change recompiles only what includes it:
#   $(BUILD)/obj/        plain      (CC, CFLAGS)    rpcgated, unit tests, bench
#   $(BUILD)/asan/obj/   ASan+UBSan (CC, SANITIZE)  build/asan/rpcgated, unit tests
#   $(BUILD)/fuzz/obj/   libFuzzer  (clang)         build/fuzz/fuzz_*
#   $(BUILD)/cov/obj/    clang source coverage      make fuzz-coverage
# CPPFLAGS and LDFLAGS given on the command line or in the environment go
# into every compile and every link, CFLAGS into every $(CC) one (the clang
# fuzz and coverage builds keep their own optimisation flags).

PKGS      := libpcap zlib libconfig libmnl libnftnl libnetfilter_queue \
             libnetfilter_conntrack libsystemd
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror
PKG_CPPFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    += $(shell pkg-config --libs $(PKGS) 2>/dev/null)
DEPFLAGS  := -MMD -MP
ALL_CPPFLAGS = -Iinclude $(PKG_CPPFLAGS) $(CPPFLAGS)
SANITIZE  := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
FUZZ_CC   := clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
             -fno-sanitize-recover=all
COV_CFLAGS := -g -O0 -fprofile-instr-generate -fcoverage-mapping \
             -fsanitize=fuzzer-no-link
FUZZ_SECONDS ?= 60
# llvm-14 (Debian) names its tools with the version
LLVM_COV      ?= $(shell command -v llvm-cov-14 || echo llvm-cov)
LLVM_PROFDATA ?= $(shell command -v llvm-profdata-14 || echo llvm-profdata)

BUILD     := build
# rpcgatectl.c is a program of its own, not a module of rpcgated.
MODULES   := $(filter-out rpcgatectl,$(patsubst daemon/%.c,%,$(wildcard daemon/*.c)))
# The modules that talk to the kernel, the files or the command line; every
# other module (the pure decoder, config, gate, policy...) is what unit
# tests link, so a new pure module needs no change here.
SYSTEM    := rpcgated service nft queue conntrack replay control privileges
PURE      := $(filter-out $(SYSTEM),$(MODULES))
UNIT      := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
# C tools the tests and benchmarks drive (load generators, forgers): one
# self-contained .c each in tests/tools/, built into $(BUILD)/tools/.
TOOLS     := $(patsubst tests/tools/%.c,%,$(wildcard tests/tools/*.c))
# libFuzzer targets: tests/fuzz/fuzz_NAME.c, each with tests/fuzz/NAME.dict
# and committed seeds (tests/fuzz/corpus-NAME/; the decoder's are in
# tests/fuzz/corpus/); tests/fuzz/CAMPAIGN.md.
FUZZERS   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

# Debian packages: to build, to run the tests, to fuzz.
BUILD_DEPS := gcc make pkg-config libpcap-dev zlib1g-dev libconfig-dev \
              libmnl-dev libnftnl-dev libnetfilter-queue-dev \
              libnetfilter-conntrack-dev libsystemd-dev
TEST_DEPS  := python3 tshark python3-impacket python3-scapy iproute2 nftables \
              keepalived conntrackd conntrack \
              ethtool samba samba-common-bin smbclient valgrind mandoc \
              systemd util-linux passwd man-db
FUZZ_DEPS  := clang libclang-rt-14-dev llvm-14

.PHONY: all asan clean deps check test unit tools fuzz fuzzers fuzz-coverage \
        bench demo install uninstall
all: $(BUILD)/rpcgated $(BUILD)/rpcgatectl

# ---- objects, one per module and flavour
$(BUILD)/obj/%.o: daemon/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(ALL_CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/asan/obj/%.o: daemon/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(SANITIZE) $(ALL_CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/fuzz/obj/%.o: daemon/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) $(ALL_CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/cov/obj/%.o: daemon/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) $(COV_CFLAGS) $(ALL_CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

# ---- the daemon
$(BUILD)/rpcgated: $(MODULES:%=$(BUILD)/obj/%.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

$(BUILD)/asan/rpcgated: $(MODULES:%=$(BUILD)/asan/obj/%.o)
	$(CC) $(CFLAGS) $(SANITIZE) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

asan: $(BUILD)/asan/rpcgated

# rpcgatectl speaks JSON over a Unix socket and needs no library.
$(BUILD)/rpcgatectl: $(BUILD)/obj/rpcgatectl.o $(BUILD)/obj/json.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# ---- unit tests.  A unit test #includes its module's .c (to reach its
# static functions), so that module's object is left out of its link.
unit_objs = $(patsubst %,$(2)/%.o,$(filter-out $(patsubst test_%,%,$(1)),$(PURE)))

.SECONDEXPANSION:
$(BUILD)/obj/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(ALL_CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/asan/obj/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(SANITIZE) $(ALL_CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $$(call unit_objs,$$*,$(BUILD)/obj)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

$(BUILD)/asan/tests/%: $(BUILD)/asan/obj/tests/%.o $$(call unit_objs,$$*,$(BUILD)/asan/obj)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANITIZE) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

# kept (not intermediate), so a relink does not recompile them
.SECONDARY: $(UNIT:%=$(BUILD)/obj/tests/%.o) $(UNIT:%=$(BUILD)/asan/obj/tests/%.o)

unit: $(UNIT:%=$(BUILD)/tests/%) $(UNIT:%=$(BUILD)/asan/tests/%)

$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(ALL_CPPFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

tools: $(TOOLS:%=$(BUILD)/tools/%)

# ---- running the tests
deps:
	@scripts/install-deps.sh $(BUILD_DEPS) $(TEST_DEPS) $(FUZZ_DEPS)

# Everything tests/run.sh runs, built; then the runner.  No package is
# installed: `make check` is deps + test (NO_DEPS=1 leaves deps out).
test: all asan unit tools
	tests/run.sh $(BUILD)

check: $(if $(NO_DEPS),,deps)
	$(MAKE) all asan unit tools
	tests/run.sh $(BUILD)

# ---- fuzzing.  Each target links the modules it needs from an archive.
$(BUILD)/fuzz/librpcgate.a: $(filter-out $(BUILD)/fuzz/obj/rpcgated.o,$(MODULES:%=$(BUILD)/fuzz/obj/%.o))
	rm -f $@
	ar rcs $@ $^

$(BUILD)/cov/librpcgate.a: $(filter-out $(BUILD)/cov/obj/rpcgated.o,$(MODULES:%=$(BUILD)/cov/obj/%.o))
	rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/librpcgate.a
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(ALL_CPPFLAGS) $(DEPFLAGS) \
		$(LDFLAGS) -o $@ $< $(filter %.o %.a,$^) $(LDLIBS)

$(BUILD)/cov/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/cov/librpcgate.a
	$(FUZZ_CC) $(WARN) $(COV_CFLAGS) -fsanitize=fuzzer $(ALL_CPPFLAGS) $(DEPFLAGS) \
		$(LDFLAGS) -o $@ $< $(filter %.o %.a,$^) $(LDLIBS)

fuzzers: $(FUZZERS:%=$(BUILD)/fuzz/fuzz_%)

# The committed seeds of a target (tests/fuzz/make_seeds.py writes most),
# and for config the project's configuration files (copied, so that
# libFuzzer sees only them).
fuzz_seeds_sh = $$(case $(1) in decoder) echo tests/fuzz/corpus;; \
                config) echo tests/fuzz/corpus-config $(BUILD)/fuzz/seeds/config;; \
                *) echo tests/fuzz/corpus-$(1);; esac)
$(BUILD)/fuzz/seeds/config: $(wildcard tests/config/*.conf) conf/rpcgate.conf
$(BUILD)/fuzz/seeds/%:
	rm -rf $@ && mkdir -p $@ && cp $^ $@/ && touch $@

# Each target for FUZZ_SECONDS, one after the other; new inputs are kept in
# $(BUILD)/fuzz/corpus/NAME, a crash is written to $(BUILD)/fuzz/ and stops
# the run (then add it to the target's committed seeds once fixed).
FUZZ_ENV := LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp
fuzz: fuzzers $(BUILD)/fuzz/seeds/config
	@set -e; for t in $(FUZZERS); do \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		mkdir -p $(BUILD)/fuzz/corpus/$$t; \
		$(FUZZ_ENV) $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-dict=tests/fuzz/$$t.dict -artifact_prefix=$(BUILD)/fuzz/$$t- \
			-print_final_stats=1 $(BUILD)/fuzz/corpus/$$t \
			$(call fuzz_seeds_sh,$$t) >$(BUILD)/fuzz/$$t.log 2>&1 || \
			{ tail -n 40 $(BUILD)/fuzz/$$t.log; \
			  echo "fuzz: $$t failed; the input is $(BUILD)/fuzz/$$t-*"; exit 1; }; \
		grep -E '^(INFO: seed corpus|Done|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added))' \
			$(BUILD)/fuzz/$$t.log; \
	done

# Source coverage of each target over its seeds and the corpus `make fuzz`
# grew; prints the per-file table, and the lines of packet.c the raw-IP
# target misses.  Reports in $(BUILD)/cov/NAME.txt.
fuzz-coverage: $(FUZZERS:%=$(BUILD)/cov/fuzz_%) $(BUILD)/fuzz/seeds/config
	@set -e; for t in $(FUZZERS); do \
		mkdir -p $(BUILD)/fuzz/corpus/$$t; \
		$(FUZZ_ENV) LLVM_PROFILE_FILE=$(BUILD)/cov/$$t.profraw $(BUILD)/cov/fuzz_$$t -runs=0 \
			$(BUILD)/fuzz/corpus/$$t $(call fuzz_seeds_sh,$$t) >/dev/null 2>&1; \
		$(LLVM_PROFDATA) merge -sparse -o $(BUILD)/cov/$$t.profdata $(BUILD)/cov/$$t.profraw; \
		$(LLVM_COV) report $(BUILD)/cov/fuzz_$$t -instr-profile=$(BUILD)/cov/$$t.profdata \
			daemon/ >$(BUILD)/cov/$$t.txt; \
		echo "== fuzz_$$t"; cat $(BUILD)/cov/$$t.txt; \
	done
	@echo "== daemon/packet.c lines the packets target does not reach:"
	@$(LLVM_COV) show $(BUILD)/cov/fuzz_packets -instr-profile=$(BUILD)/cov/packets.profdata \
		daemon/packet.c | grep -E '^ +[0-9]+\| +0\|' || echo "(none)"

# ---- the rest
$(BUILD)/bench_decoder: tests/bench/bench_decoder.c $(PURE:%=$(BUILD)/obj/%.o)
	$(CC) $(WARN) $(CFLAGS) $(ALL_CPPFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(filter %.o %.a,$^) $(LDLIBS)

bench: $(BUILD)/bench_decoder
	$(BUILD)/bench_decoder

# ---- bench-gateway (issue 8): lookups through the router, a static rule
# against rpcgated, in the namespace lab (root).  A benchmark, never a
# test.  Knobs: BENCH_ROUNDS, BENCH_SECONDS, ... (tests/bench/gateway.sh).
.PHONY: bench-gateway
BENCH_GATEWAY_TOOLS := $(BUILD)/bench/epm_load $(BUILD)/bench/epm_serve
$(BUILD)/bench/%: tests/bench/%.c tests/bench/epm_wire.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -o $@ $<

bench-gateway: all $(BENCH_GATEWAY_TOOLS)
	BUILD=$(BUILD) tests/bench/gateway.sh

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
	install -D -m 0644 conf/keepalived.conf.example $(DESTDIR)$(DOCDIR)/examples/keepalived.conf
	install -D -m 0644 conf/conntrackd.conf.example $(DESTDIR)$(DOCDIR)/examples/conntrackd.conf
	install -D -m 0755 conf/rpcgate-ha-notify.sh $(DESTDIR)$(DOCDIR)/examples/rpcgate-ha-notify.sh
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

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
