# The Check runner, and the helpers more than one test file shares; every
# folder adds its suites in its own *.mk.
UNIT_SRCS += tests/unit/check_main.c tests/unit/fixture.c
