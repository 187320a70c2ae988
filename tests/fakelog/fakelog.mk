# The fake CT log for tests: build/fakelog (and build/fakelog-asan).
TEST_PROGS += fakelog
fakelog_SRCS := tests/fakelog/fakelog.c tests/fakelog/fl_buf.c \
	tests/fakelog/fl_merkle.c tests/fakelog/fl_pool.c \
	tests/fakelog/fl_entry.c tests/fakelog/fl_corpus.c \
	tests/fakelog/fl_gen.c tests/fakelog/fl_sign.c tests/fakelog/fl_log.c \
	tests/fakelog/fl_gzip.c tests/fakelog/fl_acct.c tests/fakelog/fl_cosig.c \
	tests/fakelog/fl_srv.c tests/fakelog/fl_ctl.c tests/tools/x509_ext.c \
	common/log.c
