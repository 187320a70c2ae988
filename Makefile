# certstream: one non-recursive Makefile. Each part lists its sources in a
# *.mk beside them (ingest/render/render.mk, ...); this file holds flags and targets.
#
#   make            build ./certstreamd
#   make run        build and run with ./certstream.conf in the foreground
#   make test       install test dependencies, build, run every test
#   make asan       ASan+UBSan build: ./certstreamd-asan
#   make bench      benchmarks, core suite (bench/results.md, results.json);
#                   make bench SUITE=features|all for the others
#   make fuzz       libFuzzer targets (FUZZ_SECONDS each)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        Debian package: build/certstream_<version>_<arch>.deb

.DEFAULT_GOAL := all
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKGS := libevent libevent_openssl libcurl openssl json-c yaml-0.1 zlib libhs libnats
PKG_CHECK := $(shell pkg-config --exists $(PKGS) check 2>/dev/null && echo ok)
ifneq ($(PKG_CHECK),ok)
  ifeq ($(filter clean,$(MAKECMDGOALS)),)
    $(info certstream: installing build dependencies (scripts/install-deps.sh))
    $(shell scripts/install-deps.sh build 1>&2)
  endif
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I. -MMD -MP \
	-DCERTSTREAM_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
# ThreadSanitizer: the ring stress test with reader threads (-T).
TSAN_FLAGS := -O1 -g -fsanitize=thread

# Each *.mk appends to these.
COMMON_SRCS :=
SHM_SRCS :=
INGEST_SRCS :=
BROADCAST_SRCS :=
MASTER_SRCS :=
UNIT_SRCS :=
UNIT_SUITES :=
TEST_PROGS :=
TEST_PROG_SRCS :=

MK_FILES := $(sort $(wildcard common/*.mk shm/*.mk ingest/*.mk ingest/*/*.mk broadcast/*.mk \
	master/*.mk tests/*.mk tests/*/*.mk))
include $(MK_FILES)

LIB_SRCS := $(COMMON_SRCS) $(SHM_SRCS) $(INGEST_SRCS) $(BROADCAST_SRCS)
DAEMON_SRCS := $(LIB_SRCS) $(MASTER_SRCS)

OBJ := build/obj
AOBJ := build/asan
TOBJ := build/tsan

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))
aobjs = $(patsubst %.c,$(AOBJ)/%.o,$(1))
tobjs = $(patsubst %.c,$(TOBJ)/%.o,$(1))

.PHONY: all asan run test test-build test-unit test-integration check-deps clean install bench fuzz deb
all: certstreamd

certstreamd: $(call objs,$(DAEMON_SRCS))
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

certstreamd-asan: $(call aobjs,$(DAEMON_SRCS))
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

asan: certstreamd-asan

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(AOBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

$(TOBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TSAN_FLAGS) -c -o $@ $<

build/ring_stress-tsan: $(call tobjs,$(ring_stress_SRCS) $(COMMON_HELPER_SRCS))
	$(CC) $(ALL_CFLAGS) $(TSAN_FLAGS) -o $@ $^ $(LIBS) -lpthread

# The unit-test runner: one Check binary for every suite (UNIT_SUITES).
# A suite NAME is a function `Suite *NAME_suite(void)`.
build/unit_suites.h: $(MK_FILES) Makefile
	@mkdir -p build
	@printf 'SUITE(%s)\n' $(UNIT_SUITES) > $@.tmp && mv $@.tmp $@

$(OBJ)/tests/unit/check_main.o $(AOBJ)/tests/unit/check_main.o: build/unit_suites.h

build/check_unit: $(call objs,$(LIB_SRCS) $(UNIT_SRCS))
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

build/check_unit-asan: $(call aobjs,$(LIB_SRCS) $(UNIT_SRCS))
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# Test programs (fake CT log, stress tests, load generator): each is
# build/<name> from its own sources plus the library objects it names, plus
# the common helpers (COMMON_HELPER_SRCS) those may call.
define TEST_PROG_RULE
build/$(1): $$(call objs,$$($(1)_SRCS) $$(COMMON_HELPER_SRCS))
	$$(CC) $$(ALL_CFLAGS) -o $$@ $$^ $$(LIBS)
build/$(1)-asan: $$(call aobjs,$$($(1)_SRCS) $$(COMMON_HELPER_SRCS))
	$$(CC) $$(ALL_CFLAGS) $$(ASAN_FLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach p,$(TEST_PROGS),$(eval $(call TEST_PROG_RULE,$(p))))

# From the source tree, the children keep the user that ran make (as root,
# user: auto could not write ./certstream_state.json); CERTSTREAM_USER=auto
# tries the default.
run: certstreamd
	CERTSTREAM_USER=$${CERTSTREAM_USER:-root} ./certstreamd -c certstream.conf

check-deps:
	@scripts/install-deps.sh test

# Everything the test run needs, built once.
test-build: certstreamd certstreamd-asan build/check_unit build/check_unit-asan build/ring_stress-tsan \
	$(addprefix build/,$(TEST_PROGS)) $(addsuffix -asan,$(addprefix build/,$(TEST_PROGS)))

test: check-deps
	@$(MAKE) --no-print-directory -j2 test-build
	@scripts/run-tests.sh

# Benchmarks: figures and ratios against baselines measured in the same run,
# in suites of under 15 minutes each (SUITE=core, the default, or features;
# all runs both); each writes its own section of bench/results.md and its
# own rows of bench/results.json (tests/bench/run.sh says more).
SUITE ?= core
bench:
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory -j2 test-build
	@tests/bench/run.sh $(SUITE)

# Fuzzing (tests/fuzz/fuzz.mk): corpus replay under ASan+UBSan, then each
# libFuzzer target for FUZZ_SECONDS (default 60), no total cap.
fuzz:
	@FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) FUZZ_BUDGET=$(or $(FUZZ_BUDGET),0) \
		FUZZ_SEED=$(or $(FUZZ_SEED),0) \
		tests/system/fuzz_corpus.sh

clean:
	rm -rf build certstreamd certstreamd-asan

# The Debian package (debian/), built by dpkg-buildpackage in a copy of the
# tree (build/deb/), so the tree's own build is left as it is.
DEB_TREE := Makefile VERSION README.md certstream.conf common shm ingest \
	broadcast master docs scripts debian
deb:
	@scripts/install-deps.sh deb
	@v=$$(dpkg-parsechangelog -l debian/changelog -S Version); \
	[ "$$v" = "$(VERSION)" ] || { echo "deb: debian/changelog is at $$v, VERSION at $(VERSION): add a changelog entry (dch -v $(VERSION))" >&2; exit 1; }
	rm -rf build/deb && mkdir -p build/deb/certstream-$(VERSION)
	tar -cf - --exclude='*.o' --exclude='*.d' $(DEB_TREE) | \
		tar -xf - -C build/deb/certstream-$(VERSION)
	cd build/deb/certstream-$(VERSION) && DEB_BUILD_OPTIONS="parallel=2 $$DEB_BUILD_OPTIONS" \
		dpkg-buildpackage -b -us -uc --no-pre-clean >../build.log 2>&1 || \
		{ tail -40 ../build.log >&2; exit 1; }
	cp build/deb/certstream_$(VERSION)_*.deb build/
	@ls build/certstream_$(VERSION)_*.deb

# Binary, configuration, init script, systemd unit and logrotate file.
# The configuration is not overwritten when it exists (an operator's edits);
# its state file goes to /var/lib/certstream. Installed as root on the
# live system (no DESTDIR), the system user certstream is created (user:
# auto runs the ingest and workers as it) and owns /var/lib/certstream.
install: certstreamd
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/etc/certstream \
		$(DESTDIR)/etc/init.d $(DESTDIR)$(PREFIX)/lib/systemd/system \
		$(DESTDIR)/etc/logrotate.d $(DESTDIR)$(PREFIX)/share/certstream
	install -m 0755 certstreamd $(DESTDIR)$(PREFIX)/sbin/certstreamd
	[ -e $(DESTDIR)$(PREFIX)/etc/certstream/certstream.conf ] || \
		sed 's#^\(  state_file: \)"certstream_state.json"#\1"/var/lib/certstream/state.json"#' \
		certstream.conf > $(DESTDIR)$(PREFIX)/etc/certstream/certstream.conf
	install -m 0644 ingest/data/log_list.json $(DESTDIR)$(PREFIX)/share/certstream/log_list.json
	sed 's#^PREFIX=.*#PREFIX=$${PREFIX:-$(PREFIX)}#' scripts/certstream.init > $(DESTDIR)/etc/init.d/certstream
	chmod 0755 $(DESTDIR)/etc/init.d/certstream
	sed 's#/usr/local#$(PREFIX)#g' scripts/certstream.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/certstream.service
	install -m 0644 scripts/certstream.logrotate $(DESTDIR)/etc/logrotate.d/certstream
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		getent passwd certstream >/dev/null || \
		adduser --system --group --quiet --no-create-home \
			--home /var/lib/certstream certstream; \
		install -d -o certstream -g certstream -m 0750 /var/lib/certstream; \
	fi

-include $(shell find build -path build/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
