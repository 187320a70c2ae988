# The Check runner; every folder adds its suites in its own *.mk.
UNIT_SRCS += tests/unit/check_main.c
