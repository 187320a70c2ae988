# Test tools: build/mkfeed writes replay feeds of real certificates
# (tests/tools/feedgen.c, also linked into the unit tests).
TEST_PROGS += mkfeed
FEEDGEN_SRCS := tests/tools/feedgen.c tests/tools/x509_ext.c
RENDER_LIB_SRCS := ingest/render/x509_buf.c ingest/render/x509_der.c \
	ingest/render/x509_names.c ingest/render/x509_exts.c \
	ingest/render/x509_json.c ingest/render/render.c ingest/facts_json.c \
	shm/facts.c
mkfeed_SRCS := tests/tools/mkfeed.c $(FEEDGEN_SRCS) $(RENDER_LIB_SRCS)
UNIT_SRCS += $(FEEDGEN_SRCS)
