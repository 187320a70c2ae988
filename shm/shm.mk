# shm/: the shared-memory segment and the record ring.
SHM_SRCS += shm/segment.c shm/ring.c shm/config_box.c
UNIT_SRCS += tests/unit/check_ring.c
UNIT_SUITES += segment ring
