#!/bin/sh
# The hostile-client and security integration tests, shortened (a fifth of
# the floods), against the ASan+UBSan daemon: any sanitizer report in the
# daemon's output (memory error, undefined behaviour, a leak at exit) or a
# dirty exit fails them (each test file ends by stopping the daemon with
# SIGTERM and reading its output), as does any test that fails.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
bin="$top/certstreamd-asan"
[ -x "$bin" ] || { echo "missing $bin (make asan)"; exit 1; }
if [ ! -d tests/node/node_modules ]; then
	(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi
# Halt on the first report so it cannot scroll by; the worker dies and the
# tests see it. Leak checking on at exit.
ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
CERTSTREAM_BIN="$bin" HOSTILE_SCALE=0.2 \
    timeout 150 node --test --test-concurrency=1 \
    tests/integration/hostile_clients.test.js tests/integration/security.test.js
echo "hostile_asan: passed"
