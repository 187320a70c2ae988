/*
 * certstreamd --backfill: one range of one log written as NDJSON of full
 * certificate_update messages, each entry proven part of a signed tree
 * head before anything of it is written. A separate command, not a
 * process of the daemon: it never opens the state file or the segment.
 *
 * backfill.c: arguments, log choice, the output file and resuming it,
 * progress, rendering; backfill_src.c: fetching and proving the entries
 * of an RFC 6962 or static-ct-api log with the live ingest's primitives.
 */
#ifndef INGEST_BACKFILL_H
#define INGEST_BACKFILL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "common/config.h"
#include "ingest/issuer_cache.h"
#include "ingest/leaf.h"
#include "ingest/loglist.h"
#include "ingest/render/render.h"
#include "ingest/sth.h"

struct backfill_opts {
	const char *log;            /* URL, description or log id */
	const char *start, *end;    /* decimal, end inclusive */
	const char *out;            /* NULL: stdout */
};

/* Run a backfill with the log list of cfg: 0 done, 1 failed (one line on
 * stderr says why), 2 bad arguments. */
int backfill_main(const struct config *cfg, const struct backfill_opts *o);

/* ---- shared by backfill.c and backfill_src.c ---- */

struct fetch;

struct backfill {
	const struct config *cfg;
	struct event_base *base;
	struct fetch *fetch;
	struct loglist_log info;
	struct sth_key key;
	uint64_t next, end;         /* next index to write; last one */
	uint64_t first;             /* where this run started */
	FILE *out;
	struct render_out rout;
	struct issuer_cache issuers;
	int tty;
	int64_t shown_ms, began_ms;
	uint64_t skipped;           /* entries that could not be rendered */
};

/* A body fetched with retries (backfill_src.c). */
struct backfill_body {
	long status;
	char *body;
	size_t len;
};

/* GET url, retrying transient failures (429, 5xx, timeouts) with back-off
 * and Retry-After. 0 and *out (free body), or -1 and err. A status other
 * than 200 after the retries, or one of accept (0: none), is returned as
 * it is. */
int backfill_get(struct backfill *b, const char *url, long accept,
    struct backfill_body *out, char *err, size_t errlen);

/* Render entry e and write it as one line; e->index == b->next. 0 or -1
 * (write error, err filled). An entry that cannot be rendered is passed
 * with a warning, as live ingest passes it. */
int backfill_emit(struct backfill *b, const struct leaf_entry *e, char *err,
    size_t errlen);

/* Fetch, prove and emit b->next .. b->end. 0, or -1 and err. */
int backfill_rfc6962(struct backfill *b, char *err, size_t errlen);
int backfill_tiles(struct backfill *b, char *err, size_t errlen);

#endif
