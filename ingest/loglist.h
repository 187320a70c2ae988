/*
 * The set of CT logs to watch: Google's log list v3 JSON
 * (operators[].logs[] are RFC 6962 logs, operators[].tiled_logs[] are
 * static-ct-api logs) filtered by state (cfg->ct_log.states), plus the
 * custom_logs (RFC 6962) and static_logs (static-ct-api) of the config.
 *
 * Each log is identified by its URL, normalised to end in '/', and a
 * listed log also by its log id (RFC 6962 §3.2: SHA-256 of its key, the
 * list's "log_id", computed from "key" when a list omits it): a log whose
 * URL changes keeps its id, and its resume point follows it. For static
 * logs the URL is the monitoring URL (where tiles are read) and origin is
 * the submission URL without scheme and trailing '/' (the checkpoint origin
 * line, static-ct-api §checkpoints). Parsers never log: 0/-1 and err.
 */
#ifndef INGEST_LOGLIST_H
#define INGEST_LOGLIST_H

#include <stddef.h>

#include "common/config.h"

#define LOGLIST_FALLBACK "ingest/data/log_list.json"
#define LOGLIST_MAX_BYTES (16 * 1024 * 1024)

enum loglist_type { LOGLIST_RFC6962 = 0, LOGLIST_STATIC = 1 };

struct loglist_log {
	enum loglist_type type;
	char name[128];             /* description */
	char url[CONFIG_STR];       /* base URL, ends in '/' */
	char origin[CONFIG_STR];    /* static: checkpoint origin */
	char operator_name[128];
	char key[CONFIG_STR];       /* base64 DER SPKI, "" when not given */
	char log_id[48];            /* base64 SHA-256 of the key; "" for the
	                               config's logs */
	char state[16];             /* list state, or "custom" */
};

struct loglist {
	struct loglist_log *logs;
	size_t n, cap;
};

void loglist_init(struct loglist *ll);
void loglist_free(struct loglist *ll);

/* Append the logs of a v3 list whose state is in cfg->ct_log.states
 * (logs without a state are skipped) and that loglist_excluded() does not
 * exclude. Duplicate URLs, and duplicate log ids, are kept once. */
int loglist_parse(struct loglist *ll, const char *json, size_t len,
    const struct config *cfg, char *err, size_t errlen);

/* Read and parse a v3 list from a file. */
int loglist_load_file(struct loglist *ll, const char *path,
    const struct config *cfg, char *err, size_t errlen);

/* Append cfg->custom_logs and cfg->static_logs (a URL already listed is
 * replaced: the config wins). */
int loglist_add_config(struct loglist *ll, const struct config *cfg,
    char *err, size_t errlen);

/*
 * Is a listed log excluded by cfg->excluded_operators (its operator's name,
 * case-insensitive, whole) or cfg->excluded_logs? An excluded_logs entry
 * that is an http(s) URL matches the log's URL (a static log's monitoring
 * or submission URL) exactly, a trailing '/' optional; any other entry
 * matches a log id exactly, or is a case-insensitive substring of the
 * description ("argon" excludes every Argon shard).
 */
int loglist_excluded(const struct config *cfg, const struct loglist_log *l);

/* The log with this (normalised) URL, or NULL. */
const struct loglist_log *loglist_find(const struct loglist *ll,
    const char *url);

/* Is s an http:// or https:// URL (else a file path)? */
int loglist_is_url(const char *s);

#endif
