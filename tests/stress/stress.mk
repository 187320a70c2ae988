# Multi-process stress test of the shared-memory ring (tests/system/ring_stress.sh).
TEST_PROGS += ring_stress
ring_stress_SRCS := tests/stress/ring_stress.c shm/segment.c shm/heads.c shm/ring.c shm/ring_deflate.c common/log.c

# Thread stress of the connection-limits table, for ThreadSanitizer
# (tests/system/ring_stress.sh runs build/limits_stress-tsan).
TEST_PROGS += limits_stress
limits_stress_SRCS := tests/stress/limits_stress.c shm/limits.c
build/limits_stress-tsan: build/tsan/tests/stress/limits_stress.o build/tsan/shm/limits.o
	$(CC) $(ALL_CFLAGS) $(TSAN_FLAGS) -o $@ $^ $(LIBS) -lpthread
test-build: build/limits_stress-tsan
