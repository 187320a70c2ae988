# Ring benchmark: 1 writer, 2 readers woken by eventfd (build/ring_bench).
TEST_PROGS += ring_bench
ring_bench_SRCS := tests/bench/ring_bench.c shm/segment.c shm/heads.c shm/ring.c shm/ring_deflate.c common/log.c
# Compression figures on the replay feed (issue 15): build/compress_bench.
TEST_PROGS += compress_bench
compress_bench_SRCS = tests/bench/compress_bench.c $(LIB_SRCS)
