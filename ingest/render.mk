# Certificate rendering: CT leaves to certstream JSON (issue 3).
INGEST_SRCS += ingest/leaf.c
UNIT_SRCS += tests/unit/check_leaf.c
UNIT_SUITES += leaf
