# clarion - container image vulnerability scanner.
#
#   make            build/clarion
#   make check      every test: cmocka unit tests, fuzz corpora, pytest
#   make asan       the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       libFuzzer targets (clang) in build/fuzz/
#   make bench      benchmarks; they print figures and never fail
#
# Dependencies are Debian packages; scripts/install-deps installs them.

VERSION := 0.1.0
BUILD   ?= build
CC      ?= cc

# Libraries the binary links, by pkg-config name.
PKGS    := libcrypto jansson libcurl libarchive zlib libzstd libisal sqlite3 libpq rpm libxml-2.0 libfyaml libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes
OPT      ?= -O2 -g
SANITIZE ?=
CFLAGS   ?=
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SANITIZE) -Isrc \
              $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS  ?=
ALL_LDFLAGS := $(SANITIZE) $(LDFLAGS)
LIBS     := $(PKG_LIBS) -lpthread -lm

GIT_REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

LIB_SRC := $(sort $(filter-out src/cli/%,$(shell find src -name '*.c')))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
DEPS    := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/replay/%)
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
REF_BIN   := $(BUILD)/ref/dpkg-ref

PYTEST  ?= /usr/bin/python3 -m pytest

.PHONY: all check unit replay integration asan fuzz bench deps clean
all: $(BUILD)/clarion

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The build identity is compiled into one small object so that a new commit
# relinks the binary without recompiling everything.
$(BUILD)/obj/src/cli/cmd_version.o: ALL_CFLAGS += \
	-DCLR_VERSION='"$(VERSION)"' -DCLR_BUILD='"$(GIT_REV)"'
$(BUILD)/obj/src/cli/cmd_version.o: .FORCE
.PHONY: .FORCE
# scan's SARIF and CycloneDX name the producing tool's version.
$(BUILD)/obj/src/cli/cmd_scan.o: ALL_CFLAGS += -DCLR_VERSION='"$(VERSION)"'

$(BUILD)/libclarion.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/clarion: $(CLI_OBJ) $(BUILD)/libclarion.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libclarion.a $(LIBS)
	ln -sf clarion $(BUILD)/klar

# --- tests -----------------------------------------------------------------

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h tests/unit/store_fixture.h $(BUILD)/libclarion.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libclarion.a \
		$(shell pkg-config --libs cmocka) $(LIBS) $(ALL_LDFLAGS)

# Each fuzz target is also built with a plain main() that replays its corpus,
# so `make check` runs every corpus file through the parser with gcc too.
$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/libclarion.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/libclarion.a \
		$(LIBS) $(ALL_LDFLAGS)

# The reference comparators the differential tests ask: libdpkg (rpm and
# python3-packaging are asked from Python).
$(BUILD)/ref/dpkg-ref: tests/ref/dpkg-ref.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(shell pkg-config --cflags libdpkg) -o $@ $< \
		$(shell pkg-config --libs --static libdpkg)

deps:
	@scripts/install-deps --if-missing

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do $$t; done

replay: $(REPLAY_BIN)
	@set -e; for t in $(REPLAY_BIN); do \
		n=$$(basename $$t); n=$${n#fuzz_}; \
		$$t tests/fuzz/corpus/$$n; done

integration: $(BUILD)/clarion $(REF_BIN)
	CLARION_BIN=$(abspath $(BUILD)/clarion) CLARION_REF_DIR=$(abspath $(BUILD)/ref) \
		$(PYTEST) -q tests/integration

# Unit and integration tests run against a throwaway PostgreSQL as well as
# SQLite; CLARION_REQUIRE_PG makes a missing server a failure, not a skip.
WITH_PG := CLARION_REQUIRE_PG=1 scripts/test-postgres run --

check: deps
	+@$(MAKE) --no-print-directory all
	+@$(WITH_PG) $(MAKE) --no-print-directory unit
	+@$(MAKE) --no-print-directory replay
	+@$(WITH_PG) $(MAKE) --no-print-directory integration

ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
ASAN_MAKE = $(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" \
	SANITIZE="$(ASAN_FLAGS)"
asan: deps
	+@$(ASAN_MAKE) all
	+@$(WITH_PG) $(ASAN_MAKE) unit
	+@$(ASAN_MAKE) replay
	+@$(WITH_PG) $(ASAN_MAKE) integration

# --- fuzzing (clang + libFuzzer) -------------------------------------------

FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
fuzz:
	+@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -g" \
		SANITIZE="$(FUZZ_FLAGS)" build-fuzz/libclarion.a
	@mkdir -p $(BUILD)/fuzz
	@set -e; for s in $(FUZZ_SRC); do n=$$(basename $$s .c); \
		echo "  FUZZ $$n"; \
		clang -std=c11 -D_GNU_SOURCE -O1 -g -Isrc -fsanitize=fuzzer,address,undefined \
			-o $(BUILD)/fuzz/$$n $$s build-fuzz/libclarion.a $(LIBS); done
	@echo "run e.g.: $(BUILD)/fuzz/fuzz_version_dpkg tests/fuzz/corpus/version_dpkg"

# --- benchmarks ------------------------------------------------------------

$(BUILD)/bench/%: bench/%.c $(BUILD)/libclarion.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags libdpkg rpm) -o $@ $< \
		$(BUILD)/libclarion.a $(shell pkg-config --libs --static libdpkg) \
		$(shell pkg-config --libs rpm) $(LIBS) $(ALL_LDFLAGS)

bench: deps $(BUILD)/clarion $(BENCH_BIN)
	@bench/run $(BUILD)

# --- demo (docs/scanning.md) -----------------------------------------------

# Offline: the bundle of real Debian tracker and Red Hat OVAL records in
# demo/ into a fresh embedded database, a Debian 12 and a RHEL 8.0 image
# built from demo/rootfs and demo/rhel8-rootfs, their scans.
.PHONY: demo
demo:
	@scripts/install-deps --build
	+@$(MAKE) --no-print-directory $(BUILD)/clarion >/dev/null
	@demo/run $(abspath $(BUILD)/clarion)

# --- container image (docs/deploy.md) --------------------------------------

# clarion's own OCI image without a Docker engine: $(BUILD)/image/oci and
# $(BUILD)/image/clarion.tar.  SOURCE_DATE_EPOCH (default: the commit's
# time) fixes the image's mtimes and, through gcc, the build date compiled
# into the binary (prerequisites inherit this variable), so the same commit
# gives the same digest.
.PHONY: image
image: export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
image: $(BUILD)/clarion
	scripts/make-image --binary $(BUILD)/clarion --out $(BUILD)/image \
		--version $(VERSION) --revision $(GIT_REV)

clean:
	rm -rf build build-asan build-fuzz

-include $(DEPS)
