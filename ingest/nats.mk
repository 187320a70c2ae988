# NATS JetStream: ingest nodes publish to a stream, edges consume it.
INGEST_SRCS += ingest/nats_env.c ingest/nats_conn.c ingest/nats_pub.c \
	ingest/nats_edge.c ingest/nats_win.c
UNIT_SRCS += tests/unit/check_nats_env.c tests/unit/check_nats_win.c
UNIT_SUITES += nats_env nats_win
