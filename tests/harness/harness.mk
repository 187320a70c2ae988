# build/worker_harness: one real worker fed with synthetic records from an
# anonymous segment (no master, no ingest). Driven by
# tests/integration/worker.test.js.
TEST_PROGS += worker_harness
worker_harness_SRCS := tests/harness/worker_harness.c common/log.c \
	common/config.c shm/segment.c shm/heads.c shm/ring.c shm/ring_deflate.c shm/config_box.c broadcast/http.c \
	broadcast/ws.c broadcast/ws_deflate.c broadcast/sse.c broadcast/sse_gzip.c broadcast/worker.c \
	$(WORKER_CLIENT_SRCS) broadcast/auth.c shm/limits.c broadcast/tls.c \
	broadcast/static.c broadcast/filter_parse.c broadcast/filter_db.c broadcast/filter_match.c \
	broadcast/filter_lit.c broadcast/filter_shard.c broadcast/filter_relit.c \
	broadcast/filter_sel.c shm/facts.c \
	build/gen/example_json.c build/gen/www.c
# The configuration is four files (common/config.mk).
worker_harness_SRCS += common/config_keys.c common/config_set.c \
	common/config_yaml.c
