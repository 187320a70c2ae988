/*
 * Configuration: certstream.conf (YAML), then CERTSTREAM_* environment
 * variables, then command-line flags, later ones winning.
 *
 * Keys are a table in config.c (key path, type, field, default, bounds,
 * reloadable); every key has an environment name: CERTSTREAM_ and the key
 * path upper-cased with '_' between parts (ct_log.poll_interval_ms ->
 * CERTSTREAM_CT_LOG_POLL_INTERVAL_MS; lists comma-separated).
 */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_TOKENS 64
#define CONFIG_MAX_CUSTOM_LOGS 64
#define CONFIG_MAX_STATES 8
#define CONFIG_MAX_EXCLUDED 64
#define CONFIG_STR 512

enum config_source { SOURCE_CT = 0, SOURCE_REPLAY = 1 };

struct config_log {
	char name[128];
	char url[CONFIG_STR];
	char key[CONFIG_STR];       /* base64 DER SubjectPublicKeyInfo, optional */
	char operator_name[128];
};

struct config {
	char path[CONFIG_STR];      /* file it was read from, "" for defaults */

	char host[256];             /* host */
	int port;                   /* port */
	char log_level[16];         /* log_level: debug|info|warn|error */
	uint64_t buffer_size;       /* buffer_size: ring records (slots) */
	uint64_t buffer_bytes;      /* buffer_bytes: ring data area */
	char ct_logs_url[CONFIG_STR];
	int workers;                /* workers: N, or 0 for auto */
	enum config_source source;  /* source: ct|replay */
	char pidfile[CONFIG_STR];   /* pidfile ("" none) */
	char shm_name[64];          /* shm_name ("" = /certstream-<port>) */
	char user[64];              /* children's user: auto, root ("" too) or a name */
	char group[64];             /* group */

	struct {
		int websocket, sse, metrics, health, example_json;
	} protocols;

	struct {
		char state_file[CONFIG_STR];
		int batch_size;
		int poll_interval_ms;
		int retry_max_attempts;
		int request_timeout_secs;
		int connect_timeout_secs;
		int fetch_concurrency;
		uint64_t backfill;
		int loglist_refresh_secs;
		int state_save_interval_secs;
		int max_response_bytes;     /* cap on one HTTP body */
		uint64_t memory_budget_bytes;  /* all the ingest holds of logs' answers */
		char redirects[16];         /* same-origin | https | none */
		char contact[256];          /* in the User-Agent, for log operators */
		int partial_tile_wait_ms;   /* a tile unfinished this long: fetch its partial */
		char states[CONFIG_MAX_STATES][16];  /* log states watched */
		int nstates;
	} ct_log;

	struct {
		int enabled;
		int max_connections;
		int per_ip_limit;
		int per_ip_rate;            /* new connections per IP per second, 0 = off */
		int ipv6_prefix;            /* an IPv6 peer is its /ipv6_prefix */
		int exempt_loopback;        /* loopback peers: total limit only */
	} connection_limit;

	struct {
		int enabled;                /* server-side filters on streams */
		int max_terms;              /* filter terms per client (400 past it) */
		int max_patterns;           /* terms of distinct filters per worker (503) */
	} filters;

	struct {
		int enabled;
		char tokens[CONFIG_MAX_TOKENS][128];
		int ntokens;
		char header_name[64];
		int protect_health;         /* health endpoints need a token too */
		int protect_metrics;
		int protect_data;           /* /latest.json, /example.json too */
	} auth;

	struct {
		int enabled;
		char watch_path[CONFIG_STR];
	} hot_reload;

	/* Logs of the log list not watched (loglist_excluded() says how an
	 * entry matches); custom_logs and static_logs are always watched. */
	char excluded_logs[CONFIG_MAX_EXCLUDED][CONFIG_STR];
	int nexcluded_logs;
	char excluded_operators[CONFIG_MAX_EXCLUDED][128];
	int nexcluded_operators;

	struct config_log custom_logs[CONFIG_MAX_CUSTOM_LOGS];
	int ncustom_logs;
	struct config_log static_logs[CONFIG_MAX_CUSTOM_LOGS];
	int nstatic_logs;

	struct {
		char file[CONFIG_STR];
		double rate;                /* records per second, 0 = as fast as possible */
		int loop;
	} replay;

	struct {
		int enabled;
		int ttl_secs;
		int max_entries;
	} dedup;

	struct {
		char target[CONFIG_STR];    /* stderr | syslog | path */
	} log;

	struct {
		char cert[CONFIG_STR];
		char key[CONFIG_STR];
	} tls;

	struct {
		int max_header_bytes;       /* request head limit (431 past it) */
		int max_frame_bytes;        /* client frame/message limit (1009) */
		int header_timeout_secs;    /* slowloris: whole head must arrive */
		int idle_timeout_secs;      /* client silent this long: close 1001 */
		int ping_interval_secs;
		int heartbeat_interval_secs;
		int max_log_silence_secs;   /* /health false when no log succeeded */
	} server;
};

/* Fill cfg with every default. */
void config_defaults(struct config *cfg);

/*
 * Read path (YAML) over the defaults, then the environment. On error returns
 * -1 and err holds "FILE:LINE: key: reason". cfg is only fully valid on 0.
 */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* Apply CERTSTREAM_* variables from environ (config_load calls it). */
int config_apply_env(struct config *cfg, char *err, size_t errlen);

/* Cross-field validation (called by config_load). */
int config_validate(const struct config *cfg, char *err, size_t errlen);

/* Number of workers to start (resolves auto). */
int config_workers(const struct config *cfg);

/*
 * For a reload: copy into next every non-reloadable key (port, host, shm,
 * workers, ...) whose value differs from cur, so only what can change live
 * changes. Returns how many were kept; keys_out lists them ("port, host").
 */
int config_keep_static(struct config *next, const struct config *cur,
    char *keys_out, size_t outlen);

/* The key table, for tests and tools: count, i-th key path, and whether a
 * key can change on reload (1, 0, or -1 if unknown). */
int config_key_count(void);
const char *config_key_name(int i);
int config_key_reloadable(const char *key);

#endif
