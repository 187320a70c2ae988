# Multi-process stress test of the shared-memory ring (tests/system/ring_stress.sh).
TEST_PROGS += ring_stress
ring_stress_SRCS := tests/stress/ring_stress.c shm/segment.c shm/heads.c shm/ring.c shm/ring_deflate.c common/log.c
