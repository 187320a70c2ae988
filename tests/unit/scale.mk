# Rendering time against certificate size: 10x the content, at most 15x
# the time (quadratic paths in ingest/render/x509_json.c).
UNIT_SRCS += tests/unit/check_x509json_scale.c
UNIT_SUITES += x509json_scale
