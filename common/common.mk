COMMON_SRCS += common/log.c
UNIT_SRCS += tests/unit/check_log.c
UNIT_SUITES += log

# Base64 and UTF-8: one copy of each for every process.
COMMON_SRCS += common/base64.c
UNIT_SRCS += tests/unit/check_base64.c
UNIT_SUITES += base64
COMMON_SRCS += common/utf8.c
UNIT_SRCS += tests/unit/check_utf8.c
UNIT_SUITES += utf8

# /proc readings (resident memory) for /metrics and /health/deep.
COMMON_SRCS += common/proc.c
UNIT_SRCS += tests/unit/check_proc.c
UNIT_SUITES += proc
