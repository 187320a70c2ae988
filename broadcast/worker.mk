# Workers: the libevent loop, clients (WebSocket/SSE streaming from the
# ring), HTTP endpoints, token auth, TLS through OpenSSL, server-side
# filters (parsing, matching through Hyperscan), and the bundled
# /example.json. The connection-limits table is shm/limits.c.

# A client's connection and the plain answers (also linked into
# tests/harness/worker_harness).
WORKER_CLIENT_SRCS := broadcast/client.c broadcast/client_tls.c \
	broadcast/request.c broadcast/stream_out.c broadcast/ws_session.c \
	broadcast/routes.c broadcast/endpoints.c broadcast/ep_health.c \
	broadcast/ep_metrics.c broadcast/ep_json.c
BROADCAST_SRCS += broadcast/worker.c $(WORKER_CLIENT_SRCS) \
	broadcast/auth.c broadcast/tls.c \
	broadcast/filter_parse.c broadcast/filter_db.c broadcast/filter_match.c \
	broadcast/filter_lit.c broadcast/filter_shard.c broadcast/filter_relit.c \
	broadcast/filter_sel.c \
	build/gen/example_json.c
UNIT_SRCS += tests/unit/check_endpoints.c tests/unit/check_client.c \
	tests/unit/check_filter.c
UNIT_SUITES += endpoints client filter

# broadcast/example.json is compiled in as a NUL-terminated byte array.
# (The rule must not become the default goal: restore it afterwards.)
worker_mk_goal := $(.DEFAULT_GOAL)
build/gen/example_json.c: broadcast/example.json broadcast/worker.mk
	@mkdir -p build/gen
	@{ printf '/* generated from broadcast/example.json */\n#include "broadcast/endpoints.h"\nconst char endpoints_example_json[] = {\n'; \
	  od -An -v -tx1 broadcast/example.json | sed -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  printf '0x00 };\nconst unsigned long endpoints_example_json_len = sizeof(endpoints_example_json) - 1;\n'; } > $@.tmp && mv $@.tmp $@
.DEFAULT_GOAL := $(worker_mk_goal)
