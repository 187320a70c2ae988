#!/bin/sh
# Fuzzing in `make test` and `make fuzz`.
#   1. builds build/fuzz/NAME-replay (gcc, ASan+UBSan) for every
#      tests/fuzz/fuzz_NAME.c and runs it over tests/fuzz/corpus/NAME/
#      (seeds plus regression cases): every input, no libFuzzer needed;
#   2. builds build/fuzz/NAME-fuzz (clang libFuzzer) and runs each for
#      FUZZ_SECONDS, from the corpus plus build/fuzz/work/NAME/ (what earlier
#      runs found), with tests/fuzz/NAME.dict as dictionary if present.
#      A crash, leak, timeout or OOM fails the script, and the
#      input is copied into tests/fuzz/corpus/NAME/ as regression-*: fix the
#      bug and commit the case with the fix.
# Knobs (environment):
#   FUZZ_SECONDS  libFuzzer seconds per target (default 5; 0 skips step 2)
#   FUZZ_BUDGET   cap in seconds on the whole of step 2, shared between the
#                 targets (default 60, so `make test` stays bounded however
#                 many targets exist; 0 = no cap, as `make fuzz` uses)
#   FUZZ_TARGETS  space-separated names to run (default: every target)
#   FUZZ_MAX_LEN  libFuzzer -max_len (default 65536)
#   FUZZ_SEED     libFuzzer -seed (default 1: `make test` explores the same
#                 way every run, so a CI result does not hang on chance;
#                 `make fuzz` passes 0, a new random seed each run)
# Exit 0 = all inputs ran clean.
set -u
cd "$(dirname "$0")/../.." || exit 1
FUZZ_SECONDS=${FUZZ_SECONDS:-5}
FUZZ_BUDGET=${FUZZ_BUDGET:-60}
FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-65536}
FUZZ_SEED=${FUZZ_SEED:-1}
names=${FUZZ_TARGETS:-$(for f in tests/fuzz/fuzz_*.c; do
	[ -f "$f" ] && basename "$f" .c | sed 's/^fuzz_//'; done)}
if [ -z "$names" ]; then
	echo "fuzz: no targets in tests/fuzz/"
	exit 1
fi
count=$(echo $names | wc -w)
fail=0

# -- 1. regression corpus under ASan+UBSan ---------------------------------
replays=""
for n in $names; do replays="$replays build/fuzz/$n-replay"; done
# shellcheck disable=SC2086
if ! make --no-print-directory -j2 $replays >build/fuzz-build.log 2>&1; then
	tail -n 30 build/fuzz-build.log
	echo "fuzz: building the replay binaries failed"
	exit 1
fi
for n in $names; do
	dir=tests/fuzz/corpus/$n
	if [ ! -d "$dir" ] || [ -z "$(ls -A "$dir")" ]; then
		echo "fuzz: $n: no seed corpus in $dir"
		fail=1
		continue
	fi
	if timeout 120 "build/fuzz/$n-replay" "$dir" >"build/fuzz/$n-replay.log" 2>&1; then
		echo "fuzz: $n: $(tail -n 1 "build/fuzz/$n-replay.log")"
	else
		echo "fuzz: $n: corpus replay FAILED"
		tail -n 30 "build/fuzz/$n-replay.log"
		fail=1
	fi
done
[ "$FUZZ_SECONDS" -gt 0 ] || exit $fail

# -- 2. libFuzzer, bounded ------------------------------------------------
per=$FUZZ_SECONDS
if [ "$FUZZ_BUDGET" -gt 0 ] && [ $((per * count)) -gt "$FUZZ_BUDGET" ]; then
	per=$((FUZZ_BUDGET / count))
	[ "$per" -ge 1 ] || per=1
fi
fuzzers=""
for n in $names; do fuzzers="$fuzzers build/fuzz/$n-fuzz"; done
# shellcheck disable=SC2086
if ! make --no-print-directory -j2 $fuzzers >build/fuzz-build.log 2>&1; then
	tail -n 30 build/fuzz-build.log
	echo "fuzz: building the libFuzzer binaries failed (clang, libclang-rt-14-dev?)"
	exit 1
fi
for n in $names; do
	work=build/fuzz/work/$n
	art=build/fuzz/artifacts/$n
	log=build/fuzz/$n-fuzz.log
	mkdir -p "$work" "$art"
	rm -f "$art"/*
	dict=""
	[ -f "tests/fuzz/$n.dict" ] && dict="-dict=tests/fuzz/$n.dict"
	# the hard timeout only guards against a hung fuzzer
	timeout $((per + 60)) "build/fuzz/$n-fuzz" -max_total_time="$per" \
	    -timeout=10 -rss_limit_mb=2048 -max_len="$FUZZ_MAX_LEN" -seed="$FUZZ_SEED" \
	    -print_final_stats=1 -artifact_prefix="$art/" $dict \
	    "$work" "tests/fuzz/corpus/$n" >"$log" 2>&1
	rc=$?
	runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
	if [ $rc -eq 0 ]; then
		echo "fuzz: $n: ${runs:-?} runs in ${per}s, no crash"
		continue
	fi
	fail=1
	echo "fuzz: $n: libFuzzer FAILED (exit $rc)"
	grep -E 'ERROR|runtime error|invariant failed|SUMMARY' "$log" | head -10
	for a in "$art"/*; do
		[ -f "$a" ] || continue
		cp "$a" "tests/fuzz/corpus/$n/regression-$(basename "$a")"
		echo "fuzz: $n: added tests/fuzz/corpus/$n/regression-$(basename "$a")"
	done
done
exit $fail
