# Configuration: YAML (libyaml) + CERTSTREAM_* environment, one table of keys.
COMMON_SRCS += common/config.c
COMMON_SRCS += common/config_keys.c common/config_set.c common/config_yaml.c
UNIT_SRCS += tests/unit/check_config.c
UNIT_SUITES += config
