/*
 * The configuration's keys: one row each (path, type, field, default,
 * bounds, reloadable, the certstream-server-rust environment alias), and
 * lookups in it. certstream.conf lists every key at its default.
 */
#include "common/config_priv.h"

#include <string.h>

#include "shm/layout.h"

#define FLD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define ROW(k, t, f, d, lo, hi, r) { k, t, FLD(f), d, lo, hi, r, 0, 0, 0, NULL }
#define ROWA(k, t, f, d, lo, hi, r, a) { k, t, FLD(f), d, lo, hi, r, 0, 0, 0, a }
#define LIST(k, t, f, n, d, r) { k, t, FLD(f), d, 0, 0, r, \
	offsetof(struct config, n), sizeof(((struct config *)0)->f[0]), \
	sizeof(((struct config *)0)->f) / sizeof(((struct config *)0)->f[0]), NULL }

#define IMAX 2147483647.0

const struct ckey config_keys[] = {
	ROW("host", KT_STR, host, "0.0.0.0", 0, 0, 0),
	ROW("port", KT_INT, port, "8080", 1, 65535, 0),
	ROW("log_level", KT_LEVEL, log_level, "info", 0, 0, 1),
	ROW("buffer_size", KT_U64, buffer_size, "65536", 16, 1073741824.0, 0),
	ROW("buffer_bytes", KT_U64, buffer_bytes, "268435456", 1048576.0,
	    68719476736.0, 0),
	ROW("ct_logs_url", KT_STR, ct_logs_url,
	    "https://www.gstatic.com/ct/log_list/v3/all_logs_list.json", 0, 0, 1),
	ROW("workers", KT_WORKERS, workers, "auto", 1, SHM_MAX_WORKERS, 0),
	ROW("source", KT_SOURCE, source, "ct", 0, 0, 0),
	ROW("pidfile", KT_PATH, pidfile, "", 0, 0, 0),
	ROW("shm_name", KT_STR, shm_name, "", 0, 0, 0),
	ROW("user", KT_STR, user, "auto", 0, 0, 0),
	ROW("group", KT_STR, group, "", 0, 0, 0),

	ROWA("protocols.websocket", KT_BOOL, protocols.websocket, "true", 0, 0, 1,
	    "CERTSTREAM_WS_ENABLED"),
	ROWA("protocols.sse", KT_BOOL, protocols.sse, "true", 0, 0, 1,
	    "CERTSTREAM_SSE_ENABLED"),
	ROWA("protocols.metrics", KT_BOOL, protocols.metrics, "true", 0, 0, 1,
	    "CERTSTREAM_METRICS_ENABLED"),
	ROWA("protocols.health", KT_BOOL, protocols.health, "true", 0, 0, 1,
	    "CERTSTREAM_HEALTH_ENABLED"),
	ROWA("protocols.example_json", KT_BOOL, protocols.example_json, "true", 0, 0,
	    1, "CERTSTREAM_EXAMPLE_JSON_ENABLED"),

	ROW("ct_log.state_file", KT_PATH, ct_log.state_file,
	    "certstream_state.json", 0, 0, 0),
	ROW("ct_log.batch_size", KT_INT, ct_log.batch_size, "256", 1, 10000, 1),
	ROW("ct_log.poll_interval_ms", KT_INT, ct_log.poll_interval_ms, "1000", 10,
	    3600000, 1),
	ROW("ct_log.retry_max_attempts", KT_INT, ct_log.retry_max_attempts, "3", 0,
	    100, 1),
	ROW("ct_log.request_timeout_secs", KT_INT, ct_log.request_timeout_secs, "30",
	    1, 3600, 1),
	ROW("ct_log.connect_timeout_secs", KT_INT, ct_log.connect_timeout_secs, "10",
	    1, 600, 1),
	ROW("ct_log.fetch_concurrency", KT_INT, ct_log.fetch_concurrency, "4", 1, 64,
	    1),
	ROW("ct_log.backfill", KT_U64, ct_log.backfill, "0", 0, 1e12, 1),
	ROW("ct_log.max_catchup_lag", KT_U64, ct_log.max_catchup_lag, "0", 0,
	    1e12, 1),
	ROW("ct_log.operator_max_concurrency", KT_INT,
	    ct_log.operator_max_concurrency, "16", 1, 1024, 1),
	ROW("ct_log.operator_requests_per_second", KT_INT,
	    ct_log.operator_requests_per_second, "0", 0, 100000, 1),
	ROW("ct_log.loglist_refresh_secs", KT_INT, ct_log.loglist_refresh_secs,
	    "3600", 0, 604800, 1),
	ROW("ct_log.state_save_interval_secs", KT_INT,
	    ct_log.state_save_interval_secs, "5", 1, 3600, 1),
	ROW("ct_log.max_response_bytes", KT_INT, ct_log.max_response_bytes,
	    "67108864", 65536, IMAX, 1),
	ROW("ct_log.memory_budget_bytes", KT_U64, ct_log.memory_budget_bytes,
	    "268435456", 1048576, 1e12, 1),
	ROW("ct_log.redirects", KT_STR, ct_log.redirects, "same-origin", 0, 0, 1),
	ROW("ct_log.contact", KT_STR, ct_log.contact, "", 0, 0, 1),
	ROW("ct_log.partial_tile_wait_ms", KT_INT, ct_log.partial_tile_wait_ms,
	    "5000", 0, 3600000, 1),
	LIST("ct_log.states", KT_STRLIST, ct_log.states, ct_log.nstates,
	    "usable,qualified,readonly", 1),

	ROW("filters.enabled", KT_BOOL, filters.enabled, "true", 0, 0, 1),
	ROW("filters.max_terms", KT_INT, filters.max_terms, "256", 1, 100000, 1),
	ROW("filters.max_patterns", KT_INT, filters.max_patterns, "50000", 1,
	    10000000, 1),

	ROW("connection_limit.enabled", KT_BOOL, connection_limit.enabled, "true",
	    0, 0, 1),
	ROW("connection_limit.max_connections", KT_INT,
	    connection_limit.max_connections, "10000", 1, 10000000, 1),
	ROW("connection_limit.per_ip_limit", KT_INT, connection_limit.per_ip_limit,
	    "100", 1, 10000000, 1),
	ROW("connection_limit.per_ip_rate", KT_INT, connection_limit.per_ip_rate,
	    "20", 0, 1000000, 1),
	ROW("connection_limit.ipv6_prefix", KT_INT, connection_limit.ipv6_prefix,
	    "64", 1, 128, 1),
	ROW("connection_limit.exempt_loopback", KT_BOOL,
	    connection_limit.exempt_loopback, "true", 0, 0, 1),

	ROW("auth.enabled", KT_BOOL, auth.enabled, "false", 0, 0, 1),
	LIST("auth.tokens", KT_STRLIST, auth.tokens, auth.ntokens, "", 1),
	ROW("auth.header_name", KT_STR, auth.header_name, "Authorization", 0, 0, 1),
	ROW("auth.protect_health", KT_BOOL, auth.protect_health, "false", 0, 0, 1),
	ROW("auth.protect_metrics", KT_BOOL, auth.protect_metrics, "false", 0, 0, 1),
	/* the newest records, as the streams carry them: their token too */
	ROW("auth.protect_data", KT_BOOL, auth.protect_data, "true", 0, 0, 1),

	ROW("hot_reload.enabled", KT_BOOL, hot_reload.enabled, "false", 0, 0, 1),
	ROW("hot_reload.watch_path", KT_PATH, hot_reload.watch_path, "", 0, 0, 1),

	LIST("excluded_logs", KT_STRLIST, excluded_logs, nexcluded_logs, "", 1),
	LIST("excluded_operators", KT_STRLIST, excluded_operators,
	    nexcluded_operators, "", 1),
	LIST("custom_logs", KT_LOGLIST, custom_logs, ncustom_logs, "", 1),
	LIST("static_logs", KT_LOGLIST, static_logs, nstatic_logs, "", 1),

	ROW("replay.file", KT_PATH, replay.file, "tests/data/sample-feed.ndjson", 0,
	    0, 1),
	ROW("replay.rate", KT_DOUBLE, replay.rate, "10", 0, 10000000, 1),
	ROW("replay.loop", KT_BOOL, replay.loop, "true", 0, 0, 1),

	ROW("dedup.enabled", KT_BOOL, dedup.enabled, "true", 0, 0, 1),
	ROW("dedup.ttl_secs", KT_INT, dedup.ttl_secs, "3600", 1, 604800, 1),
	ROW("dedup.max_entries", KT_INT, dedup.max_entries, "500000", 16, 100000000,
	    1),

	ROW("compression.enabled", KT_BOOL, compression.enabled, "true", 0, 0, 0),
	ROW("compression.keyframe_records", KT_INT, compression.keyframe_records,
	    "128", 1, 1000000, 0),
	ROW("compression.keyframe_ms", KT_INT, compression.keyframe_ms, "1000",
	    0, 3600000, 0),
	ROW("compression.level", KT_INT, compression.level, "3", 1, 9, 0),
	ROW("nats.url", KT_STR, nats.url, "nats://127.0.0.1:4222", 0, 0, 0),
	ROW("nats.stream", KT_STR, nats.stream, "CERTSTREAM", 0, 0, 0),
	ROW("nats.subject", KT_STR, nats.subject, "certstream.records", 0, 0, 0),
	ROW("nats.publish", KT_BOOL, nats.publish, "false", 0, 0, 0),
	ROW("nats.user", KT_STR, nats.user, "", 0, 0, 0),
	ROW("nats.password", KT_STR, nats.password, "", 0, 0, 0),
	ROW("nats.token", KT_STR, nats.token, "", 0, 0, 0),
	ROW("nats.creds", KT_PATH, nats.creds, "", 0, 0, 0),
	ROW("nats.tls_ca", KT_PATH, nats.tls_ca, "", 0, 0, 0),
	ROW("nats.tls_cert", KT_PATH, nats.tls_cert, "", 0, 0, 0),
	ROW("nats.tls_key", KT_PATH, nats.tls_key, "", 0, 0, 0),
	ROW("nats.max_age_secs", KT_INT, nats.max_age_secs, "86400", 0, IMAX, 0),
	ROW("nats.max_bytes", KT_U64, nats.max_bytes, "1GiB", 0, 1e15, 0),
	ROW("nats.replicas", KT_INT, nats.replicas, "1", 1, 5, 0),
	ROW("nats.duplicate_window_secs", KT_INT, nats.duplicate_window_secs,
	    "900", 1, 604800, 0),
	ROW("nats.max_pending", KT_INT, nats.max_pending, "65536", 16, 16777216,
	    0),
	ROW("nats.backfill", KT_U64, nats.backfill, "0", 0, 1e12, 0),

	ROW("log.target", KT_LOGTARGET, log.target, "stderr", 0, 0, 1),

	ROW("tls.cert", KT_PATH, tls.cert, "", 0, 0, 0),
	ROW("tls.key", KT_PATH, tls.key, "", 0, 0, 0),

	ROW("server.max_header_bytes", KT_INT, server.max_header_bytes, "16384",
	    1024, 1048576, 1),
	ROW("server.max_frame_bytes", KT_INT, server.max_frame_bytes, "65536", 125,
	    16777216, 1),
	ROW("server.header_timeout_secs", KT_INT, server.header_timeout_secs, "10",
	    1, 3600, 1),
	ROW("server.idle_timeout_secs", KT_INT, server.idle_timeout_secs, "120", 0,
	    86400, 1),
	ROW("server.ping_interval_secs", KT_INT, server.ping_interval_secs, "30", 0,
	    3600, 1),
	ROW("server.heartbeat_interval_secs", KT_INT,
	    server.heartbeat_interval_secs, "10", 0, 3600, 1),
	ROW("server.max_log_silence_secs", KT_INT, server.max_log_silence_secs,
	    "600", 0, 604800, 1),
};

const size_t config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]);

_Static_assert(sizeof(config_keys) / sizeof(config_keys[0]) <=
    CONFIG_NKEYS_MAX, "CONFIG_NKEYS_MAX is too small for the key table");

const struct ckey *
config_key_find(const char *path)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].key, path) == 0)
			return &config_keys[i];
	return NULL;
}

/* Is path a section ("ct_log") some keys live under? */
int
config_key_is_section(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < config_nkeys; i++)
		if (strncmp(config_keys[i].key, path, n) == 0 && config_keys[i].key[n] == '.')
			return 1;
	return 0;
}

int
config_key_count(void)
{
	return (int)config_nkeys;
}

const char *
config_key_name(int i)
{
	return i >= 0 && (size_t)i < config_nkeys ? config_keys[i].key : NULL;
}

int
config_key_reloadable(const char *key)
{
	const struct ckey *k = config_key_find(key);

	return k ? k->reload : -1;
}
