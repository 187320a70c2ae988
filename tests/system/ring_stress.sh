#!/bin/sh
# Ring stress: 1 writer + 4 reader processes, random record sizes, a small
# data area so records are overwritten while readers read them. Fails on any
# torn record accepted, sequence violation, lost wake-up or crash.
#   plain build: 1,500,000 records; ASan+UBSan build: 150,000 records;
#   ThreadSanitizer build with reader threads (-T): 50,000 records, failing
#   on any report (every slot field, counter and fence of the protocol).
# Then the connection-limits table (shm/limits.c) under 4 threads: plain,
# and ThreadSanitizer failing on any report (build/limits_stress-tsan).
set -eu
cd "$(dirname "$0")/../.."
for b in build/ring_stress build/ring_stress-asan build/ring_stress-tsan \
    build/limits_stress build/limits_stress-tsan; do
	[ -x "$b" ] || { echo "missing $b (make test-build)"; exit 1; }
done
echo "-- plain, 1,500,000 records, 256 KiB data area, 256 slots"
timeout 40 build/ring_stress -n 1500000 -r 4 -s 256 -d 262144 -t 35
echo "-- plain, 300,000 records, 4 MiB data area, 4096 slots"
timeout 20 build/ring_stress -n 300000 -r 4 -s 4096 -d 4194304 -t 15 -p 0
echo "-- ASan+UBSan, 150,000 records"
ASAN_OPTIONS=abort_on_error=0:halt_on_error=1 \
    timeout 30 build/ring_stress-asan -n 150000 -r 4 -s 256 -d 262144 -t 25
echo "-- ThreadSanitizer, reader threads, 50,000 records"
TSAN_OPTIONS=halt_on_error=1:exitcode=66 \
    timeout 120 build/ring_stress-tsan -T -n 50000 -r 3 -s 256 -d 262144 -t 110 -p 0
echo "-- limits table, 4 threads: plain 100,000 rounds, ThreadSanitizer 30,000"
timeout 30 build/limits_stress -t 4 -n 100000
TSAN_OPTIONS=halt_on_error=1:exitcode=66 \
    timeout 60 build/limits_stress-tsan -t 4 -n 30000
echo "ring_stress: all runs passed"
