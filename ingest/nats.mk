# NATS JetStream: ingest nodes publish to a stream, edges consume it.
INGEST_SRCS += ingest/nats_env.c ingest/nats_conn.c ingest/nats_pub.c \
	ingest/nats_edge.c
UNIT_SRCS += tests/unit/check_nats_env.c
UNIT_SUITES += nats_env
