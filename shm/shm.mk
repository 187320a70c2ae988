# shm/: the shared-memory segment and the record ring.
SHM_SRCS += shm/segment.c shm/ring.c
