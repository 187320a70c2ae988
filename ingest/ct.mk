# CT ingest: log list, verification, fetching, pollers, state, leaf
# decoding (the dedup set: shm/dedup.c).
INGEST_SRCS += ingest/leaf.c ingest/sth.c ingest/checkpoint.c ingest/loglist.c \
	ingest/ct_state.c ingest/fetch.c ingest/ct.c ingest/ct_log.c \
	ingest/pipeline.c \
	ingest/ct_pace.c ingest/ct_rfc6962.c ingest/ct_rfc6962_decode.c \
	ingest/ct_tiles.c ingest/ct_tiles_hash.c ingest/issuer_cache.c \
	ingest/backfill.c ingest/backfill_src.c ingest/unique.c \
	ingest/ct_skip.c
# The pollers' files beyond their first (each file one job).
INGEST_SRCS += ingest/ct_tiles_data.c ingest/ct_tiles_issuer.c
INGEST_SRCS += ingest/ct_rfc6962_win.c ingest/ct_rfc6962_hold.c
UNIT_SRCS += tests/unit/check_leaf.c
UNIT_SUITES += leaf
UNIT_SRCS += tests/unit/check_sth.c tests/unit/check_checkpoint.c \
	tests/unit/check_loglist.c tests/unit/check_ct_state.c \
	tests/unit/check_fetch.c \
	tests/unit/check_ct_tiles.c tests/unit/check_ct.c \
	tests/unit/check_issuer_cache.c tests/unit/check_unique.c
UNIT_SUITES += sth checkpoint loglist ct_state fetch ct_tiles ct issuer_cache unique
