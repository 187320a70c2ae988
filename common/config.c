/*
 * Configuration: one table row per key (path, type, field, default, bounds,
 * reloadable); the YAML walker, the environment and the defaults all go
 * through the same setter, so a key behaves the same wherever it is set.
 * Nothing here logs: errors are returned as "FILE:LINE: key: reason".
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "common/log.h"
#include "shm/layout.h"

enum ktype {
	KT_STR,      /* char[] */
	KT_PATH,     /* char[], made absolute against the start directory */
	KT_INT,      /* int, bounds */
	KT_U64,      /* uint64_t, bounds, K/M/G[i][B] suffixes */
	KT_BOOL,     /* int 0/1 */
	KT_DOUBLE,   /* double, bounds */
	KT_LEVEL,    /* char[]: debug|info|warn|error */
	KT_SOURCE,   /* enum config_source: ct|replay */
	KT_WORKERS,  /* int: N or auto (0) */
	KT_LOGTARGET,/* char[]: stderr|syslog|path */
	KT_STRLIST,  /* char[n][elem] + int count */
	KT_LOGLIST,  /* struct config_log[n] + int count */
};

struct ckey {
	const char *key;
	enum ktype type;
	size_t off, size;
	const char *def;
	double min, max;
	int reload;
	size_t cnt_off, elem, nmax;     /* lists */
	const char *alias;              /* certstream-server-rust env name */
};

#define FLD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define ROW(k, t, f, d, lo, hi, r) { k, t, FLD(f), d, lo, hi, r, 0, 0, 0, NULL }
#define ROWA(k, t, f, d, lo, hi, r, a) { k, t, FLD(f), d, lo, hi, r, 0, 0, 0, a }
#define LIST(k, t, f, n, d, r) { k, t, FLD(f), d, 0, 0, r, \
	offsetof(struct config, n), sizeof(((struct config *)0)->f[0]), \
	sizeof(((struct config *)0)->f) / sizeof(((struct config *)0)->f[0]), NULL }

#define IMAX 2147483647.0

static const struct ckey keys[] = {
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

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Relative paths are taken against the directory the daemon started in,
 * captured once: a child re-reading the file after -d's chdir("/") or a
 * SIGHUP gets the same paths the master got. */
static char base_dir[PATH_MAX];

static void
fmt_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void *
field(struct config *cfg, const struct ckey *k)
{
	return (char *)cfg + k->off;
}

static const void *
cfield(const struct config *cfg, const struct ckey *k)
{
	return (const char *)cfg + k->off;
}

static int *
list_count(struct config *cfg, const struct ckey *k)
{
	return (int *)((char *)cfg + k->cnt_off);
}

static const struct ckey *
key_find(const char *path)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].key, path) == 0)
			return &keys[i];
	return NULL;
}

/* Is path a section ("ct_log") some keys live under? */
static int
key_is_section(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < NKEYS; i++)
		if (strncmp(keys[i].key, path, n) == 0 && keys[i].key[n] == '.')
			return 1;
	return 0;
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int
parse_ll(const char *v, long long *out)
{
	char *end;

	errno = 0;
	if (*v == '\0' || isspace((unsigned char)*v))
		return -1;
	*out = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* "256MiB", "1G", "65536": sizes for byte and count keys. */
static int
parse_u64(const char *v, uint64_t *out)
{
	static const struct { const char *sfx; uint64_t mul; } units[] = {
		{ "", 1 }, { "k", 1000 }, { "kb", 1000 }, { "ki", 1024 },
		{ "kib", 1024 }, { "m", 1000000 }, { "mb", 1000000 },
		{ "mi", 1048576 }, { "mib", 1048576 }, { "g", 1000000000 },
		{ "gb", 1000000000 }, { "gi", 1073741824 }, { "gib", 1073741824 },
	};
	unsigned long long n;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*v))
		return -1;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].sfx) == 0) {
			if (n > UINT64_MAX / units[i].mul)
				return -1;
			*out = (uint64_t)n * units[i].mul;
			return 0;
		}
	}
	return -1;
}

static int
set_string(char *dst, size_t size, const char *v, char *why, size_t wlen)
{
	size_t n = strlen(v);

	if (n >= size) {
		fmt_err(why, wlen, "too long (%zu bytes, at most %zu)", n, size - 1);
		return -1;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

static int
set_path(char *dst, size_t size, const char *v, char *why, size_t wlen)
{
	char buf[PATH_MAX + CONFIG_STR];

	if (*v == '\0' || *v == '/' || base_dir[0] == '\0')
		return set_string(dst, size, v, why, wlen);
	snprintf(buf, sizeof(buf), "%s/%s",
	    strcmp(base_dir, "/") == 0 ? "" : base_dir, v);
	return set_string(dst, size, buf, why, wlen);
}

static int
check_bounds(const struct ckey *k, double x, char *why, size_t wlen)
{
	if (x < k->min || x > k->max) {
		fmt_err(why, wlen, "out of range [%.15g, %.15g]", k->min,
		    k->max);
		return -1;
	}
	return 0;
}

static int
strlist_add(struct config *cfg, const struct ckey *k, const char *v,
    size_t len, char *why, size_t wlen)
{
	int *n = list_count(cfg, k);
	char *slot;

	trim(&v, &len);
	if (len == 0)
		return 0;
	if ((size_t)*n >= k->nmax) {
		fmt_err(why, wlen, "too many entries (at most %zu)", k->nmax);
		return -1;
	}
	if (len >= k->elem) {
		fmt_err(why, wlen, "entry too long (%zu bytes, at most %zu)", len,
		    k->elem - 1);
		return -1;
	}
	slot = (char *)field(cfg, k) + (size_t)*n * k->elem;
	memcpy(slot, v, len);
	slot[len] = '\0';
	(*n)++;
	return 0;
}

static struct config_log *
loglist_add(struct config *cfg, const struct ckey *k, char *why, size_t wlen)
{
	int *n = list_count(cfg, k);
	struct config_log *l;

	if ((size_t)*n >= k->nmax) {
		fmt_err(why, wlen, "too many logs (at most %zu)", k->nmax);
		return NULL;
	}
	l = (struct config_log *)field(cfg, k) + *n;
	memset(l, 0, sizeof(*l));
	(*n)++;
	return l;
}

static void
list_clear(struct config *cfg, const struct ckey *k)
{
	*list_count(cfg, k) = 0;
	memset(field(cfg, k), 0, k->size);
}

/*
 * Set key k from the text v (a YAML scalar, an environment value or the
 * default). Lists take comma-separated items; a log list from text is a
 * list of URLs, each its own name.
 */
static int
key_set(struct config *cfg, const struct ckey *k, const char *v, char *why,
    size_t wlen)
{
	void *f = field(cfg, k);
	long long ll;
	uint64_t u;
	double d;
	char *end;
	int b;

	switch (k->type) {
	case KT_STR:
		return set_string(f, k->size, v, why, wlen);
	case KT_PATH:
		return set_path(f, k->size, v, why, wlen);
	case KT_INT:
		if (parse_ll(v, &ll) < 0) {
			fmt_err(why, wlen, "not an integer: \"%s\"", v);
			return -1;
		}
		if (check_bounds(k, (double)ll, why, wlen) < 0)
			return -1;
		*(int *)f = (int)ll;
		return 0;
	case KT_U64:
		if (parse_u64(v, &u) < 0) {
			fmt_err(why, wlen, "not a size: \"%s\"", v);
			return -1;
		}
		if (check_bounds(k, (double)u, why, wlen) < 0)
			return -1;
		*(uint64_t *)f = u;
		return 0;
	case KT_BOOL:
		if (parse_bool(v, &b) < 0) {
			fmt_err(why, wlen, "not a boolean (true/false): \"%s\"", v);
			return -1;
		}
		*(int *)f = b;
		return 0;
	case KT_DOUBLE:
		errno = 0;
		d = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno != 0 || !isfinite(d)) {
			fmt_err(why, wlen, "not a number: \"%s\"", v);
			return -1;
		}
		if (check_bounds(k, d, why, wlen) < 0)
			return -1;
		*(double *)f = d;
		return 0;
	case KT_LEVEL: {
		enum log_level lvl;
		static const char *const names[] = { "debug", "info", "warn",
			"error" };

		if (log_level_parse(v, &lvl) < 0) {
			fmt_err(why, wlen,
			    "not a log level (debug, info, warn, error): \"%s\"", v);
			return -1;
		}
		return set_string(f, k->size, names[lvl], why, wlen);
	}
	case KT_SOURCE:
		if (strcasecmp(v, "ct") == 0)
			*(enum config_source *)f = SOURCE_CT;
		else if (strcasecmp(v, "replay") == 0)
			*(enum config_source *)f = SOURCE_REPLAY;
		else {
			fmt_err(why, wlen, "not a source (ct, replay): \"%s\"", v);
			return -1;
		}
		return 0;
	case KT_WORKERS:
		if (strcasecmp(v, "auto") == 0) {
			*(int *)f = 0;
			return 0;
		}
		if (parse_ll(v, &ll) < 0) {
			fmt_err(why, wlen, "not a number or \"auto\": \"%s\"", v);
			return -1;
		}
		if (check_bounds(k, (double)ll, why, wlen) < 0)
			return -1;
		*(int *)f = (int)ll;
		return 0;
	case KT_LOGTARGET:
		if (*v == '\0') {
			fmt_err(why, wlen, "empty (stderr, syslog or a file path)");
			return -1;
		}
		if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0)
			return set_string(f, k->size, v, why, wlen);
		return set_path(f, k->size, v, why, wlen);
	case KT_STRLIST:
		list_clear(cfg, k);
		for (const char *p = v; *p;) {
			const char *c = strchr(p, ',');
			size_t n = c ? (size_t)(c - p) : strlen(p);

			if (strlist_add(cfg, k, p, n, why, wlen) < 0)
				return -1;
			p += n + (c ? 1 : 0);
		}
		return 0;
	case KT_LOGLIST:
		list_clear(cfg, k);
		for (const char *p = v; *p;) {
			const char *c = strchr(p, ',');
			size_t n = c ? (size_t)(c - p) : strlen(p);
			const char *s = p;
			struct config_log *l;

			p += n + (c ? 1 : 0);
			trim(&s, &n);
			if (n == 0)
				continue;
			if ((l = loglist_add(cfg, k, why, wlen)) == NULL)
				return -1;
			if (n >= sizeof(l->url) || n >= sizeof(l->name)) {
				fmt_err(why, wlen, "URL too long");
				return -1;
			}
			memcpy(l->url, s, n);
			memcpy(l->name, s, n);
		}
		return 0;
	}
	fmt_err(why, wlen, "unhandled type");
	return -1;
}

void
config_defaults(struct config *cfg)
{
	char why[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++) {
		/* Defaults are constants of this file: they cannot fail. */
		key_set(cfg, &keys[i], keys[i].def, why, sizeof(why));
	}
}

/* ---- YAML ---- */

struct yctx {
	yaml_document_t *doc;
	struct config *cfg;
	const char *file;
	int *lines;             /* per key: line it was set on (1-based), 0 */
	char *err;
	size_t errlen;
};

static int
yerr(struct yctx *y, const yaml_node_t *n, const char *key, const char *why)
{
	fmt_err(y->err, y->errlen, "%s:%lu: %s: %s", y->file,
	    (unsigned long)n->start_mark.line + 1, key, why);
	return -1;
}

static const char *
yscalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain `key:` with nothing, or ~ / null. */
static int
yis_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE)
		return 0;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = yscalar(n);
	return *v == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

static int
ylog_entry(struct yctx *y, const struct ckey *k, const char *path,
    yaml_node_t *n)
{
	char why[256];
	struct config_log *l;
	yaml_node_pair_t *p;

	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, path, "each log must be a mapping (name, url)");
	if ((l = loglist_add(y->cfg, k, why, sizeof(why))) == NULL)
		return yerr(y, n, path, why);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		char sub[256];
		char *dst;
		size_t size;
		const char *name;

		if (kn == NULL || vn == NULL || kn->type != YAML_SCALAR_NODE)
			return yerr(y, n, path, "keys must be scalars");
		name = yscalar(kn);
		if ((size_t)snprintf(sub, sizeof(sub), "%s.%s", path, name) >=
		    sizeof(sub))
			return yerr(y, kn, path, "key too long");
		if (strcmp(name, "name") == 0) {
			dst = l->name;
			size = sizeof(l->name);
		} else if (strcmp(name, "url") == 0) {
			dst = l->url;
			size = sizeof(l->url);
		} else if (strcmp(name, "key") == 0) {
			dst = l->key;
			size = sizeof(l->key);
		} else if (strcmp(name, "operator") == 0) {
			dst = l->operator_name;
			size = sizeof(l->operator_name);
		} else {
			return yerr(y, kn, sub,
			    "unknown key (name, url, key, operator)");
		}
		if (vn->type != YAML_SCALAR_NODE)
			return yerr(y, vn, sub, "expected a string");
		if (set_string(dst, size, yscalar(vn), why, sizeof(why)) < 0)
			return yerr(y, vn, sub, why);
	}
	if (l->url[0] == '\0')
		return yerr(y, n, path, "a log needs a url");
	if (strncmp(l->url, "http://", 7) != 0 &&
	    strncmp(l->url, "https://", 8) != 0)
		return yerr(y, n, path, "url must be http:// or https://");
	if (l->name[0] == '\0')
		snprintf(l->name, sizeof(l->name), "%.*s", (int)sizeof(l->name) - 1,
		    l->url);
	return 0;
}

static int
yvalue(struct yctx *y, const struct ckey *k, const char *path, yaml_node_t *n)
{
	char why[256];
	yaml_node_item_t *it;

	y->lines[k - keys] = (int)n->start_mark.line + 1;
	if (k->type == KT_STRLIST || k->type == KT_LOGLIST) {
		if (yis_null(n)) {
			list_clear(y->cfg, k);
			return 0;
		}
		if (n->type == YAML_SCALAR_NODE) {
			if (k->type == KT_LOGLIST)
				return yerr(y, n, path,
				    "expected a list of logs (name, url)");
			if (key_set(y->cfg, k, yscalar(n), why, sizeof(why)) < 0)
				return yerr(y, n, path, why);
			return 0;
		}
		if (n->type != YAML_SEQUENCE_NODE)
			return yerr(y, n, path, "expected a list");
		list_clear(y->cfg, k);
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			yaml_node_t *e = yaml_document_get_node(y->doc, *it);

			if (e == NULL)
				return yerr(y, n, path, "bad list item");
			if (k->type == KT_LOGLIST) {
				if (ylog_entry(y, k, path, e) < 0)
					return -1;
				continue;
			}
			if (e->type != YAML_SCALAR_NODE)
				return yerr(y, e, path, "list items must be strings");
			if (strlist_add(y->cfg, k, yscalar(e), strlen(yscalar(e)),
			    why, sizeof(why)) < 0)
				return yerr(y, e, path, why);
		}
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE)
		return yerr(y, n, path, n->type == YAML_MAPPING_NODE ?
		    "expected a value, not a mapping" :
		    "expected a value, not a list");
	if (yis_null(n) && k->type != KT_STR && k->type != KT_PATH)
		return yerr(y, n, path, "missing value");
	if (key_set(y->cfg, k, yis_null(n) ? "" : yscalar(n), why,
	    sizeof(why)) < 0)
		return yerr(y, n, path, why);
	return 0;
}

static int
ymapping(struct yctx *y, const char *prefix, yaml_node_t *m)
{
	yaml_node_pair_t *p;

	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		const struct ckey *k;
		char path[256];

		if (kn == NULL || vn == NULL)
			return yerr(y, m, prefix[0] ? prefix : "(top)", "bad node");
		if (kn->type != YAML_SCALAR_NODE)
			return yerr(y, kn, prefix[0] ? prefix : "(top)",
			    "keys must be scalars");
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] ? "." : "", yscalar(kn)) >= sizeof(path))
			return yerr(y, kn, prefix, "key too long");
		/* YAML lets the last of two equal keys win silently: an
		 * operator editing one copy would see no effect. */
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *qn = yaml_document_get_node(y->doc, q->key);
			char why[64];

			if (qn && qn->type == YAML_SCALAR_NODE &&
			    strcmp(yscalar(qn), yscalar(kn)) == 0) {
				snprintf(why, sizeof(why),
				    "duplicate key (first on line %lu)",
				    (unsigned long)qn->start_mark.line + 1);
				return yerr(y, kn, path, why);
			}
		}
		if ((k = key_find(path)) != NULL) {
			if (yvalue(y, k, path, vn) < 0)
				return -1;
			continue;
		}
		if (!key_is_section(path))
			return yerr(y, kn, path, "unknown key");
		if (yis_null(vn))
			continue;
		if (vn->type != YAML_MAPPING_NODE)
			return yerr(y, vn, path, "expected a mapping");
		if (ymapping(y, path, vn) < 0)
			return -1;
	}
	return 0;
}

static int
config_read_file(struct config *cfg, const char *file, int *lines, char *err,
    size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct yctx y = { &doc, cfg, file, lines, err, errlen };
	FILE *fp;
	int rc = -1, have_parser = 0, have_doc = 0;

	if ((fp = fopen(file, "r")) == NULL) {
		fmt_err(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		fmt_err(err, errlen, "%s: out of memory", file);
		goto out;
	}
	have_parser = 1;
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		fmt_err(err, errlen, "%s:%lu: %s%s%s", file,
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "YAML error",
		    parser.context ? " " : "",
		    parser.context ? parser.context : "");
		goto out;
	}
	have_doc = 1;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || yis_null(root)) {
		rc = 0;         /* empty file: defaults */
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		yerr(&y, root, "(top)", "the file must be a mapping of keys");
		goto out;
	}
	rc = ymapping(&y, "", root);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	fclose(fp);
	return rc;
}

/* ---- environment ---- */

static void
env_name(const struct ckey *k, char *out, size_t outlen)
{
	size_t i = 0;
	int n = snprintf(out, outlen, "CERTSTREAM_");

	for (const char *p = k->key; *p && (size_t)n + i + 1 < outlen; p++, i++)
		out[n + i] = *p == '.' ? '_' :
		    (char)toupper((unsigned char)*p);
	out[n + i] = '\0';
}

static int
env_apply_one(struct config *cfg, const struct ckey *k, const char *name,
    char *err, size_t errlen)
{
	const char *v = getenv(name);
	char why[256];

	if (v == NULL)
		return 0;
	if (key_set(cfg, k, v, why, sizeof(why)) < 0) {
		fmt_err(err, errlen, "environment %s: %s: %s", name, k->key, why);
		return -1;
	}
	return 0;
}

int
config_apply_env(struct config *cfg, char *err, size_t errlen)
{
	char name[128];

	for (size_t i = 0; i < NKEYS; i++) {
		/* The rust alias first, so our own name wins when both are set. */
		if (keys[i].alias &&
		    env_apply_one(cfg, &keys[i], keys[i].alias, err, errlen) < 0)
			return -1;
		env_name(&keys[i], name, sizeof(name));
		if (env_apply_one(cfg, &keys[i], name, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* ---- validation ---- */

/* Cross-field checks; on error *key names the key at fault. */
static int
validate(const struct config *cfg, const char **key, char *why, size_t wlen)
{
	if (cfg->host[0] == '\0') {
		*key = "host";
		fmt_err(why, wlen, "empty");
		return -1;
	}
	if (cfg->shm_name[0] != '\0' &&
	    (cfg->shm_name[0] != '/' || strchr(cfg->shm_name + 1, '/') != NULL ||
	    cfg->shm_name[1] == '\0')) {
		*key = "shm_name";
		fmt_err(why, wlen, "must be \"/name\" with no other '/'");
		return -1;
	}
	if (cfg->source == SOURCE_REPLAY && cfg->replay.file[0] == '\0') {
		*key = "replay.file";
		fmt_err(why, wlen, "source is replay but no replay.file is set");
		return -1;
	}
	if (cfg->auth.enabled && cfg->auth.ntokens == 0) {
		*key = "auth.tokens";
		fmt_err(why, wlen, "auth.enabled is true but no token is set");
		return -1;
	}
	if (cfg->auth.header_name[0] == '\0') {
		*key = "auth.header_name";
		fmt_err(why, wlen, "empty");
		return -1;
	}
	if ((cfg->tls.cert[0] == '\0') != (cfg->tls.key[0] == '\0')) {
		*key = cfg->tls.cert[0] ? "tls.key" : "tls.cert";
		fmt_err(why, wlen, "tls.cert and tls.key go together");
		return -1;
	}
	if (cfg->group[0] != '\0' &&
	    (cfg->user[0] == '\0' || strcmp(cfg->user, "root") == 0)) {
		*key = "group";
		fmt_err(why, wlen, "group needs user");
		return -1;
	}
	if (cfg->ct_logs_url[0] == '\0') {
		*key = "ct_logs_url";
		fmt_err(why, wlen, "empty");
		return -1;
	}
	if (strcmp(cfg->ct_log.redirects, "same-origin") != 0 &&
	    strcmp(cfg->ct_log.redirects, "https") != 0 &&
	    strcmp(cfg->ct_log.redirects, "none") != 0) {
		*key = "ct_log.redirects";
		fmt_err(why, wlen, "must be same-origin, https or none");
		return -1;
	}
	for (const char *c = cfg->ct_log.contact; *c != '\0'; c++) {
		if (*c < 0x20 || *c > 0x7e) {
			*key = "ct_log.contact";
			fmt_err(why, wlen, "printable ASCII only (it goes into the "
			    "User-Agent header)");
			return -1;
		}
	}
	if (cfg->buffer_bytes / 4 < 65536) {
		*key = "buffer_bytes";
		fmt_err(why, wlen, "too small: a record may take a quarter of it");
		return -1;
	}
	return 0;
}

int
config_validate(const struct config *cfg, char *err, size_t errlen)
{
	const char *key = "";
	char why[256];

	if (validate(cfg, &key, why, sizeof(why)) < 0) {
		fmt_err(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	int lines[NKEYS];
	const char *key = "";
	char why[256];
	const struct ckey *k;

	if (base_dir[0] == '\0' && getcwd(base_dir, sizeof(base_dir)) == NULL)
		base_dir[0] = '\0';
	config_defaults(cfg);
	memset(lines, 0, sizeof(lines));
	if (path != NULL && *path != '\0') {
		char why2[256];

		if (set_path(cfg->path, sizeof(cfg->path), path, why2,
		    sizeof(why2)) < 0) {
			fmt_err(err, errlen, "%s: %s", path, why2);
			return -1;
		}
		if (config_read_file(cfg, path, lines, err, errlen) < 0)
			return -1;
	}
	if (config_apply_env(cfg, err, errlen) < 0)
		return -1;
	if (validate(cfg, &key, why, sizeof(why)) < 0) {
		k = key_find(key);
		if (k != NULL && lines[k - keys] > 0)
			fmt_err(err, errlen, "%s:%d: %s: %s", path,
			    lines[k - keys], key, why);
		else if (path != NULL && *path != '\0')
			fmt_err(err, errlen, "%s: %s: %s", path, key, why);
		else
			fmt_err(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

int
config_workers(const struct config *cfg)
{
	cpu_set_t set;
	long n;

	if (cfg->workers > 0)
		return cfg->workers;
	/* The cores this process may run on (taskset, cpusets), else all. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > SHM_MAX_WORKERS)
		n = SHM_MAX_WORKERS;
	return (int)n;
}

static int
key_equal(const struct config *a, const struct config *b, const struct ckey *k)
{
	switch (k->type) {
	case KT_STR:
	case KT_PATH:
	case KT_LEVEL:
	case KT_LOGTARGET:
		return strncmp(cfield(a, k), cfield(b, k), k->size) == 0;
	case KT_STRLIST:
	case KT_LOGLIST:
		if (*(const int *)((const char *)a + k->cnt_off) !=
		    *(const int *)((const char *)b + k->cnt_off))
			return 0;
		return memcmp(cfield(a, k), cfield(b, k), k->size) == 0;
	default:
		return memcmp(cfield(a, k), cfield(b, k), k->size) == 0;
	}
}

int
config_keep_static(struct config *next, const struct config *cur, char *keys_out,
    size_t outlen)
{
	int n = 0;
	size_t used = 0;

	if (keys_out && outlen)
		keys_out[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		const struct ckey *k = &keys[i];

		if (k->reload || key_equal(next, cur, k))
			continue;
		memcpy((char *)next + k->off, cfield(cur, k), k->size);
		if (k->cnt_off)
			memcpy((char *)next + k->cnt_off,
			    (const char *)cur + k->cnt_off, sizeof(int));
		if (keys_out && used < outlen) {
			int w = snprintf(keys_out + used, outlen - used, "%s%s",
			    n ? ", " : "", k->key);
			if (w > 0)
				used += (size_t)w;
		}
		n++;
	}
	return n;
}

int
config_key_count(void)
{
	return (int)NKEYS;
}

const char *
config_key_name(int i)
{
	return i >= 0 && (size_t)i < NKEYS ? keys[i].key : NULL;
}

int
config_key_reloadable(const char *key)
{
	const struct ckey *k = key_find(key);

	return k ? k->reload : -1;
}
