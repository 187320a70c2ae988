# Fuzz targets. Every tests/fuzz/fuzz_NAME.c that defines
# LLVMFuzzerTestOneInput is picked up by itself, and builds as:
#
#   build/fuzz/NAME-replay  gcc, ASan+UBSan, linked with replay_main.c: runs
#                           every file of the directories (or files) given
#                           on its command line once. No clang needed; this
#                           is what `make test` runs over the corpus.
#   build/fuzz/NAME-fuzz    clang -fsanitize=fuzzer,address,undefined: the
#                           libFuzzer binary (`make fuzz`).
#
# Seeds and regression cases live in tests/fuzz/corpus/NAME/ (one input
# per file). A target that needs sources beyond the library (LIB_SRCS) lists
# them in FUZZ_EXTRA_NAME (e.g. FUZZ_EXTRA_leaf := tests/fuzz/leaf_util.c).
#
# The clang objects go to build/fuzzobj/ so they never mix with gcc's
# build/obj and build/asan. LIB_SRCS, AOBJ and aobjs are defined by the
# Makefile after this fragment is read, hence the secondary expansion ($$).
#
# Knobs (make variables or environment, read by tests/system/fuzz_corpus.sh):
#   FUZZ_SECONDS  seconds of libFuzzer per target (default 10 under
#                 `make test`, 60 for `make fuzz`)
#   FUZZ_BUDGET   cap on the whole libFuzzer phase in seconds, split between
#                 targets (default 100 under `make test`, 0 = no cap)
#   FUZZ_TARGETS  names to run (default: all)
#   FUZZ_CC       clang binary (default clang)

FUZZ_CC ?= clang
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAYS := $(addprefix build/fuzz/,$(addsuffix -replay,$(FUZZ_NAMES)))
FUZZ_FUZZERS := $(addprefix build/fuzz/,$(addsuffix -fuzz,$(FUZZ_NAMES)))
FUZZOBJ := build/fuzzobj
# clang warns about other things than gcc: keep the warnings, not -Werror.
FUZZ_CFLAGS = $(filter-out -Werror,$(ALL_CFLAGS)) -O1 -g \
	-fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined
fuzzobjs = $(patsubst %.c,$(FUZZOBJ)/%.o,$(1))

.PHONY: fuzz-build fuzz-replay-build
fuzz-replay-build: $(FUZZ_REPLAYS)
fuzz-build: $(FUZZ_REPLAYS) $(FUZZ_FUZZERS)

$(FUZZOBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# Objects reached only through the pattern rules below would count as
# intermediate and be deleted after each link; keep them (and the ASan
# objects the rest of the build shares).
.PRECIOUS: $(FUZZOBJ)/%.o build/asan/%.o build/gen/%.c

.SECONDEXPANSION:
build/fuzz/%-replay: $$(AOBJ)/tests/fuzz/fuzz_%.o \
	$$(AOBJ)/tests/fuzz/replay_main.o \
	$$(call aobjs,$$(LIB_SRCS) $$(FUZZ_EXTRA_$$*))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

build/fuzz/%-fuzz: $$(FUZZOBJ)/tests/fuzz/fuzz_%.o \
	$$(call fuzzobjs,$$(LIB_SRCS) $$(FUZZ_EXTRA_$$*))
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)
