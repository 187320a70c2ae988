# Rendering cost against bare d2i_X509 (issue 3): build/render_bench.
TEST_PROGS += render_bench
render_bench_SRCS := tests/bench/render_bench.c ingest/leaf.c ingest/render/x509_buf.c ingest/render/x509_der.c ingest/render/x509_names.c ingest/render/x509_exts.c ingest/render/x509_json.c ingest/render/render.c \
	ingest/facts_json.c shm/facts.c
