/*
 * One watched log's side of the CT source: its status in the segment
 * (ok, lagging, failing; errors, delays) and its publish path: a verified
 * entry through the pipeline (pipeline.c) to the ring, then the log's
 * resume point.
 */
#include "ingest/ct_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ingest/fetch.h"
#include "shm/atomics.h"
#include "shm/dedup.h"
#include "shm/heads.h"

#define CT_ERRORS_TO_FAILING 5   /* consecutive transient errors */

static void
set_next(struct ct_log *l, uint64_t next)
{
	l->next = next;
	l->have_next = 1;
	/* relaxed: the resume point is read alone (the state file's save,
	 * /metrics, an ingest that follows this one once it is reaped) */
	shm_store(&l->st->next_index, next, relaxed);
	l->st->flags |= CT_SHM_HAVE_NEXT;
}

/* Past entry index. With a sink past the ring (pipeline.h) the poller
 * goes on at once but the resume point in the segment is the sink's to
 * move, once it has the entry safe. */
static void
pass_entry(struct ct_log *l, uint64_t index, const struct ring_rec *r,
    const uint8_t *key)
{
	pipeline_sink_fn *sink = pipeline_sink();

	if (sink == NULL) {
		set_next(l, index + 1);
		return;
	}
	l->next = index + 1;
	l->have_next = 1;
	/* relaxed: read by a successor ingest, after this process is gone */
	shm_store(&l->st->passed, index + 1, relaxed);
	sink(l->st, index, r, l->info.log_id[0] != '\0' ? l->info.log_id :
	    l->info.url, key);
}

void
ct_log_set_next(struct ct_log *l, uint64_t next)
{
	set_next(l, next);
}

static void
set_error(struct ct_log *l, const char *why)
{
	/* Readers may see a torn string for a moment; it ends in NUL always. */
	snprintf(l->st->last_error, sizeof(l->st->last_error), "%s", why);
	shm_fetch_add(&l->st->errors, 1, relaxed);      /* a statistic */
}

/* Formats a reason into why (len bytes) and records it as the log's last
 * error: the one format of ct_log_error, ct_log_fail and ct_log_skip. */
static void __attribute__((format(printf, 4, 0)))
vreason(struct ct_log *l, char *why, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(why, len, fmt, ap);
	set_error(l, why);
}

/* The verified heads' protocol is shm/heads.c. */
void
ct_log_verified(struct ct_log *l, uint64_t size,
    const uint8_t root[STH_HASH_LEN])
{
	heads_put(l->st, size, root);
}

int
ct_log_head(const struct ct_log *l, uint64_t *size,
    uint8_t root[STH_HASH_LEN])
{
	return heads_get(l->st, size, root);
}

int
ct_log_stalled(struct ct_log_priv *lp, uint64_t tree_size, time_t now)
{
	struct ct_log *l = &lp->pub;
	time_t window = 2 * (time_t)ct_config()->ct_log.request_timeout_secs;

	if (lp->progress_at == 0 || l->next != lp->progress_next ||
	    tree_size <= l->next) {
		lp->progress_next = l->next;
		lp->progress_at = now;
	}
	if (window < 1)
		window = 1;
	if (now - lp->progress_at < window) {
		if (lp->stalled)
			log_info("log %s: taking entries again", l->info.url);
		lp->stalled = 0;
		return 0;
	}
	if (!lp->stalled)
		log_warnx("log %s: %" PRIu64 " entries behind and none taken for "
		    "%lld s: failing", l->info.url, tree_size - l->next,
		    (long long)(now - lp->progress_at));
	lp->stalled = 1;
	return 1;
}

void
ct_log_ok(struct ct_log *l, uint64_t tree_size)
{
	struct ct_log_priv *lp = (struct ct_log_priv *)l;
	const struct config *cfg = ct_config();
	uint64_t lag_max = (uint64_t)cfg->ct_log.batch_size *
	    (uint64_t)cfg->ct_log.fetch_concurrency * 4;
	time_t now = time(NULL);

	/* relaxed, all: statistics and the log's state, each read alone */
	shm_store(&ct_ingest_stats()->http_requests, fetch_count(ct_fetch()),
	    relaxed);
	shm_store(&ct_ingest_stats()->held_bytes, fetch_mem(ct_fetch()),
	    relaxed);
	shm_store(&l->st->tree_size, tree_size, relaxed);
	shm_store(&l->st->last_success_unix, (int64_t)now, relaxed);
	if (l->failed)
		return;
	if (ct_log_stalled(lp, tree_size, now)) {
		shm_store(&l->st->state, CT_LOG_FAILING, relaxed);
		return;
	}
	if (lp->consecutive > 0 && lp->logged[0] != '\0')
		log_info("log %s: recovered", l->info.url);
	lp->consecutive = 0;
	lp->logged[0] = '\0';
	shm_store(&l->st->state, tree_size - l->next > lag_max ?
	    CT_LOG_LAGGING : CT_LOG_OK, relaxed);
}

void
ct_log_error(struct ct_log *l, const char *fmt, ...)
{
	struct ct_log_priv *lp = (struct ct_log_priv *)l;
	char why[SHM_LOG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vreason(l, why, sizeof(why), fmt, ap);
	va_end(ap);
	/* relaxed, all: statistics and the log's state, each read alone */
	shm_fetch_add(&ct_ingest_stats()->http_errors, 1, relaxed);
	shm_store(&ct_ingest_stats()->http_requests, fetch_count(ct_fetch()),
	    relaxed);
	if (++lp->consecutive >= CT_ERRORS_TO_FAILING && !l->failed)
		shm_store(&l->st->state, CT_LOG_FAILING, relaxed);
	/* tree heads may be polled seldom while errors back off: the errors
	 * themselves tell whether the log is stuck */
	if (!l->failed && ct_log_stalled(lp,
	    shm_load(&l->st->tree_size, relaxed), time(NULL)))
		shm_store(&l->st->state, CT_LOG_FAILING, relaxed);
	if (strcmp(lp->logged, why) != 0) {
		log_warnx("log %s: %s", l->info.url, why);
		snprintf(lp->logged, sizeof(lp->logged), "%s", why);
	}
}

void
ct_log_fail(struct ct_log *l, int sig, const char *fmt, ...)
{
	char why[SHM_LOG_ERR_MAX];
	va_list ap;

	if (l->failed)
		return;
	l->failed = 1;
	va_start(ap, fmt);
	vreason(l, why, sizeof(why), fmt, ap);
	va_end(ap);
	/* relaxed, all: statistics and the log's state, each read alone */
	if (sig) {
		shm_fetch_add(&l->st->sig_failures, 1, relaxed);
		shm_fetch_add(&ct_ingest_stats()->sig_failures, 1, relaxed);
	}
	shm_store(&l->st->state, CT_LOG_FAILING, relaxed);
	log_error("log %s: %s; log stopped", l->info.url, why);
}

void
ct_log_skip(struct ct_log *l, const char *fmt, ...)
{
	char why[SHM_LOG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vreason(l, why, sizeof(why), fmt, ap);
	va_end(ap);
	/* relaxed: a statistic */
	shm_fetch_add(&ct_ingest_stats()->parse_failures, 1, relaxed);
	log_warnx("log %s: %s; entry passed", l->info.url, why);
	pass_entry(l, l->next, NULL, NULL);
}

/* Count one streamed entry's ingest delay: now minus its CT timestamp.
 * The log's clock and ours differ, so a timestamp ahead of us is 0. */
static void
record_delay(struct shm_log_status *st, int64_t now_us, uint64_t ts_ms)
{
	uint64_t now_ms = now_us > 0 ? (uint64_t)now_us / 1000 : 0;
	uint64_t d = now_ms > ts_ms ? now_ms - ts_ms : 0;
	int k = 0;

	while (k < SHM_DELAY_BUCKETS - 1 &&
	    d > (uint64_t)shm_delay_bounds_s[k] * 1000)
		k++;
	/* relaxed: statistics */
	shm_fetch_add(&st->delay_bucket[k], 1, relaxed);
	shm_fetch_add(&st->delay_sum_ms, d, relaxed);
	shm_fetch_add(&st->delay_count, 1, relaxed);
	shm_store(&st->delay_last_ms, d, relaxed);
}

int
ct_publish(struct ct_log *l, const struct leaf_entry *e)
{
	struct pipeline *p = ct_pipeline();
	struct render_source src;
	struct timespec ts;
	char err[256];
	int64_t seen_us;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	seen_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	src.url = l->info.url;
	src.name = l->info.name;
	src.operator_name = l->info.operator_name;
	src.type = l->info.type == LOGLIST_STATIC ? "static" : "rfc6962";
	/* dedup, render, publish: ingest/pipeline.c. A duplicate the set may
	 * hold from an ingest killed before the sink had it safe goes to the
	 * sink again (which drops what it has), not the ring. */
	p->render_dups = pipeline_sink() != NULL && e->index < l->resend_below;
	switch (pipeline_entry(p, &src, (uint16_t)(l->st - ct_seg()->logs), e,
	    seen_us, err, sizeof(err))) {
	case PIPE_BAD:
		ct_log_skip(l, "entry %" PRIu64 ": %s", e->index, err);
		return 0;
	case PIPE_DUPLICATE:
		shm_fetch_add(&ct_ingest_stats()->duplicates, 1, relaxed);
		break;
	case PIPE_TOO_BIG:
		set_error(l, "record larger than a quarter of the ring");
		shm_fetch_add(&ct_ingest_stats()->parse_failures, 1, relaxed);
		log_warnx("log %s: entry %" PRIu64 ": %s; passed", l->info.url,
		    e->index, err);
		rc = -1;
		break;
	case PIPE_PUBLISHED:
		/* statistics: relaxed, read by /metrics with shm_stat */
		shm_fetch_add(&l->st->entries, 1, relaxed);
		shm_fetch_add(&ct_ingest_stats()->records, 1, relaxed);
		record_delay(l->st, seen_us, e->timestamp_ms);
		break;
	}
	if (p->dedup != NULL)
		shm_store(&ct_ingest_stats()->dedup_cache_size,
		    dedup_size(p->dedup), relaxed);
	/* Only now: a successor resumes after the last published record. */
	pass_entry(l, e->index, p->have_rec ? &p->rec : NULL, p->sha);
	return rc;
}

void
ct_flush(void)
{
	ring_wake(ct_writer());
}

int
ct_last_record(const struct shm_seg *seg, char *url, size_t urllen,
    uint64_t *index)
{
	struct ring_meta m;
	uint64_t head = ring_head(seg);

	if (head == 0 || ring_peek_meta(seg, head - 1, &m) < 0 ||
	    m.log >= SHM_MAX_LOGS)
		return -1;
	/* the slot names the log the record came from: slots are claimed
	 * by URL and kept while a log is watched */
	snprintf(url, urllen, "%s", seg->logs[m.log].url);
	*index = m.index;
	if (!ring_still_valid(seg, head - 1) || url[0] == '\0')
		return -1;
	return 0;
}
