# Certificate rendering: CT leaves to certstream JSON (issue 3).
INGEST_SRCS += ingest/leaf.c ingest/x509_json.c ingest/render.c ingest/render_cli.c \
	ingest/facts_json.c
UNIT_SRCS += tests/unit/check_leaf.c
UNIT_SUITES += leaf
UNIT_SRCS += tests/unit/check_render.c
UNIT_SUITES += render
UNIT_SRCS += tests/unit/check_x509json.c
UNIT_SUITES += x509json
