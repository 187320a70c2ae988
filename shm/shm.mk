# shm/: the shared-memory segment and the record ring.
SHM_SRCS += shm/segment.c shm/ring.c shm/ring_deflate.c shm/config_box.c shm/facts.c
UNIT_SRCS += tests/unit/check_ring.c tests/unit/check_facts.c
UNIT_SUITES += segment ring facts
UNIT_SRCS += tests/unit/check_ring_deflate.c
UNIT_SUITES += ring_deflate
