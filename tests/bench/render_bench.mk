# Rendering cost against bare d2i_X509 (issue 3): build/render_bench.
TEST_PROGS += render_bench
render_bench_SRCS := tests/bench/render_bench.c ingest/leaf.c ingest/x509_json.c ingest/render.c \
	ingest/facts_json.c shm/facts.c
