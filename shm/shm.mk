# shm/: the shared-memory segment and the record ring.
SHM_SRCS += shm/segment.c shm/ring.c shm/facts.c
UNIT_SRCS += tests/unit/check_ring.c tests/unit/check_facts.c
UNIT_SUITES += segment ring facts
