# Replay source: a recorded NDJSON feed published to the ring.
INGEST_SRCS += ingest/replay_feed.c ingest/replay.c \
	ingest/ingest.c
UNIT_SRCS += tests/unit/check_replay_feed.c tests/unit/check_replay.c \
	tests/unit/replay_fixture.c
UNIT_SUITES += replay_feed replay
