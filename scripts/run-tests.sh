#!/bin/sh
# Run every test: Check unit tests (plain, ASan+UBSan, valgrind), system tests
# (tests/system/*.sh), integration tests with real clients (node --test
# tests/integration/). Called by `make test` after the build. Prints one
# closing line: "N passed, N failed in S s"; each phase line shows the
# seconds since the start.
#   TESTS_ONLY=unit|system|integration   run one phase
#   INTEGRATION_BIN=./certstreamd-asan    one integration run, with this daemon
#                                         (default: ./certstreamd, then again
#                                         with ./certstreamd-asan)
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
out=build/test-logs
mkdir -p "$out"
pass=0
fail=0
failed_names=""

ok() { pass=$((pass + $1)); }
bad() { fail=$((fail + $1)); failed_names="$failed_names $2"; }
phase() { [ -z "${TESTS_ONLY:-}" ] || [ "$TESTS_ONLY" = "$1" ]; }
# "== what [seconds since the start]": the whole run must stay under 25 min (18 on a clean clone here)
t0=$(date +%s)
say() { echo "== $1 [$(($(date +%s) - t0)) s]"; }

# Check prints "NN%: Checks: N, Failures: F, Errors: E"
check_count() {
	line=$(grep -E '^[0-9]+%: Checks: ' "$2" | tail -1)
	if [ -z "$line" ]; then
		bad 1 "$1"
		return
	fi
	n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
	f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
	e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
	ok $((n - f - e))
	[ $((f + e)) -gt 0 ] && bad $((f + e)) "$1"
	return 0
}

if phase unit; then
	say "unit tests"
	build/check_unit >"$out/unit.log" 2>&1
	check_count unit "$out/unit.log"
	tail -n 1 "$out/unit.log"
	grep -E ':[EF]:' "$out/unit.log" | head -20
	say "unit tests (ASan+UBSan)"
	build/check_unit-asan >"$out/unit-asan.log" 2>&1
	rc=$?
	check_count unit-asan "$out/unit-asan.log"
	[ $rc -ne 0 ] && grep -q 'ERROR: AddressSanitizer\|runtime error' "$out/unit-asan.log" && bad 1 unit-asan-report
	tail -n 1 "$out/unit-asan.log"
	say "unit tests (valgrind, leaks)"
	CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect \
	    build/check_unit >"$out/unit-valgrind.log" 2>&1
	rc=$?
	if [ $rc -eq 99 ]; then
		bad 1 valgrind
		grep -E '==[0-9]+==' "$out/unit-valgrind.log" | head -30
	else
		ok 1
	fi
fi

if phase system; then
	for t in tests/system/*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		say "system: $name"
		if sh "$t" >"$out/system-$name.log" 2>&1; then
			ok 1
		else
			bad 1 "system:$name"
			tail -n 20 "$out/system-$name.log"
		fi
	done
fi

# integration NAME BIN: node --test over tests/integration/ against BIN
integration() {
	say "integration tests (node, real clients; $1 daemon)"
	log="$out/integration-$1.log"
	CERTSTREAM_BIN="$2" \
	    node --test --test-concurrency=1 tests/integration/ >"$log" 2>&1
	p=$(grep -E '^# pass ' "$log" | awk '{print $3}')
	f=$(grep -E '^# fail ' "$log" | awk '{print $3}')
	# a test cancelled by its timeout (a hang) is a failure too
	k=$(grep -E '^# cancelled ' "$log" | awk '{print $3}')
	f=$(( ${f:-0} + ${k:-0} ))
	ok "${p:-0}"
	if [ -z "$p" ]; then
		bad 1 "integration-$1"
		tail -n 40 "$log"
	elif [ "${f:-0}" -gt 0 ]; then
		bad "$f" "integration-$1"
		# each failing test (at any depth) with its diagnostics block
		awk '/^ *not ok /{n=30} n>0{print; n--}' "$log" | head -120
	fi
	grep -E '^# (tests|pass|fail|cancelled)' "$log"
	# the slowest tests, to keep an eye on the run's length
	awk '/^(ok|not ok) [0-9]+ - /{ n = $0 } /^  duration_ms:/{ if (n != "") printf "%6.1f s  %s\n", $2 / 1000, substr(n, 1, 100); n = "" }' \
	    "$log" | sort -rn | head -3
}

if phase integration; then
	if [ ! -d tests/node/node_modules ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
		(cd tests/node && npm ci --no-audit --no-fund --loglevel=error) || bad 1 npm-ci
	fi
	if ls tests/integration/*.test.js >/dev/null 2>&1; then
		integration plain "${INTEGRATION_BIN:-$top/certstreamd}"
		# The whole suite again against the ASan+UBSan daemon: every
		# sanitizer report (memory error, undefined behaviour, a leak at
		# exit) goes to a file, and any such file fails the run.
		if [ -z "${INTEGRATION_BIN:-}" ]; then
			rm -rf "$out/sanitizer"
			mkdir -p "$out/sanitizer"
			ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$top/$out/sanitizer/asan" \
			UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$top/$out/sanitizer/ubsan" \
			    integration asan "$top/certstreamd-asan"
			# A file with a report fails the run. One without (empty,
			# or only LeakSanitizer's "Unable to get registers from
			# thread"): a process killed by a test or by its master
			# while it ran its exit-time leak check; shown, not failed.
			reports=$(grep -lE 'ERROR: [A-Za-z]+Sanitizer|runtime error|WARNING: [A-Za-z]+Sanitizer' \
			    "$out/sanitizer/"* 2>/dev/null)
			if [ -n "$reports" ]; then
				bad 1 sanitizer-reports
				head -n 40 $reports
			else
				ok 1
			fi
			for f in "$out/sanitizer/"*; do
				[ -e "$f" ] || continue
				echo "$reports" | grep -qxF "$f" && continue
				echo "sanitizer output without a report (an exit-time check cut short): $f: $(head -c 200 "$f")"
			done
		fi
	fi
fi

[ -n "$failed_names" ] && echo "failed:$failed_names (logs in $out/)"
echo "$pass passed, $fail failed in $(($(date +%s) - t0)) s"
[ "$fail" -eq 0 ]
