COMMON_SRCS += common/log.c
UNIT_SRCS += tests/unit/check_log.c
UNIT_SUITES += log

# One copy of each helper for every process: base64, UTF-8, /proc, the
# error buffer. They call nothing of the project's, and every test program
# links them too (Makefile, TEST_PROG_RULE), since any library file may
# call them.
COMMON_HELPER_SRCS := common/base64.c common/utf8.c common/proc.c \
	common/errbuf.c
COMMON_SRCS += $(COMMON_HELPER_SRCS)
UNIT_SRCS += tests/unit/check_base64.c tests/unit/check_utf8.c \
	tests/unit/check_proc.c
UNIT_SUITES += base64 utf8 proc
