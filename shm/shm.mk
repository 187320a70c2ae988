# shm/: the shared-memory segment and every protocol in it: the record
# ring, the connection-limits table, the dedup set, the verified tree
# heads, the configuration box, record facts (atomics.h: their atomics;
# mark.h: how each survives kill -9).
SHM_SRCS += shm/segment.c shm/ring.c shm/ring_deflate.c shm/config_box.c \
	shm/facts.c shm/limits.c shm/dedup.c shm/heads.c
UNIT_SRCS += tests/unit/check_ring.c tests/unit/check_facts.c \
	tests/unit/check_limits.c tests/unit/check_dedup.c \
	tests/unit/check_heads.c
UNIT_SUITES += segment ring facts limits dedup heads
UNIT_SRCS += tests/unit/check_ring_deflate.c
UNIT_SUITES += ring_deflate
