COMMON_SRCS += common/log.c
UNIT_SRCS += tests/unit/check_log.c
UNIT_SUITES += log
