# CT ingest: log list, verification, fetching, pollers, state, dedup.
INGEST_SRCS += ingest/sth.c ingest/checkpoint.c
UNIT_SRCS += tests/unit/check_sth.c tests/unit/check_checkpoint.c
UNIT_SUITES += sth checkpoint
