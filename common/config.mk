# Configuration: YAML (libyaml) + CERTSTREAM_* environment, one table of keys.
COMMON_SRCS += common/config.c
UNIT_SRCS += tests/unit/check_config.c
UNIT_SUITES += config
