# The render library: certificate bytes to the certstream JSON forms, used by
# the ingest, replay and `certstreamd --render` (no shared memory, no process).
INGEST_SRCS += ingest/render/x509_buf.c ingest/render/x509_der.c \
	ingest/render/x509_names.c ingest/render/x509_exts.c \
	ingest/render/x509_json.c ingest/render/render.c \
	ingest/render/render_cli.c ingest/facts_json.c
UNIT_SRCS += tests/unit/check_render.c
UNIT_SUITES += render
UNIT_SRCS += tests/unit/check_x509json.c
UNIT_SUITES += x509json
