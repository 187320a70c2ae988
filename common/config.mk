# Configuration: YAML (libyaml) + CERTSTREAM_* environment, one table of keys.
COMMON_SRCS += common/config.c
