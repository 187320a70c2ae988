/*
 * The CT source: log list, one poller per log, publishing, state file.
 */
#include "ingest/ct.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>


#include "common/log.h"
#include "ingest/ct_rfc6962.h"
#include "ingest/ct_state.h"
#include "ingest/ct_tiles.h"
#include "ingest/dedup.h"
#include "ingest/fetch.h"
#include "ingest/pipeline.h"
#include "ingest/unique.h"
#include "ingest/nats_pub.h"

#define CT_MAX_REDIRS 5
#define CT_ERRORS_TO_FAILING 5   /* consecutive transient errors */

struct ct_log_priv {
	struct ct_log pub;
	char logged[SHM_LOG_ERR_MAX];  /* last reason logged: log changes once */
	int consecutive;
	uint64_t progress_next;        /* l->next when last seen moving */
	time_t progress_at;            /* when, or when last caught up */
	int stalled;                   /* behind and not moving: failing */
};

struct ct {
	struct event_base *base;
	struct config cfg;
	struct shm_seg *seg;
	struct ring_writer *w;
	struct fetch *fetch;
	struct dedup *dedup;
	struct pipeline pipe;         /* dedup, render, publish */
	struct unique *unique;         /* ?unique=1: pairs seen */
	struct ct_state state;
	struct ct_log_priv **logs;
	size_t nlogs, cap;
	struct event *save_ev, *refresh_ev;
	struct fetch_req *list_req;
	int list_applied;
	char save_err[256];
	char last_url[CONFIG_STR];  /* newest record in the ring at start */
	uint64_t last_index;
	int have_last;
};

static struct ct *C;

const struct config *
ct_config(void)
{
	return &C->cfg;
}

struct fetch *
ct_fetch(void)
{
	return C->fetch;
}

struct event_base *
ct_base(void)
{
	return C->base;
}

struct shm_ingest_stats *
ct_ingest_stats(void)
{
	return C->seg->ingest;
}

void
ct_fetch_opts(const struct config *cfg, struct fetch_opts *o)
{
	o->connect_timeout_secs = cfg->ct_log.connect_timeout_secs;
	o->timeout_secs = cfg->ct_log.request_timeout_secs;
	o->max_bytes = (size_t)cfg->ct_log.max_response_bytes;
	o->budget_bytes = (size_t)cfg->ct_log.memory_budget_bytes;
	o->max_redirs = CT_MAX_REDIRS;
	o->redirects = strcmp(cfg->ct_log.redirects, "none") == 0 ?
	    FETCH_REDIR_NONE : strcmp(cfg->ct_log.redirects, "https") == 0 ?
	    FETCH_REDIR_HTTPS : FETCH_REDIR_SAME_ORIGIN;
	/* Log operators grant more to clients that say who to contact. */
	if (cfg->ct_log.contact[0] != '\0')
		snprintf(o->user_agent, sizeof(o->user_agent),
		    "certstream/%s (+%s)", CERTSTREAM_VERSION, cfg->ct_log.contact);
	else
		snprintf(o->user_agent, sizeof(o->user_agent), "certstream/%s",
		    CERTSTREAM_VERSION);
}

static void
set_next(struct ct_log *l, uint64_t next)
{
	l->next = next;
	l->have_next = 1;
	atomic_store(&l->st->next_index, next);
	l->st->flags |= CT_SHM_HAVE_NEXT;
}

/* Past entry index. With nats.publish the poller goes on at once but the
 * resume point in the segment waits for the stream's ack (nats_pub.h). */
static void
pass_entry(struct ct_log *l, uint64_t index, const struct ring_rec *r,
    const uint8_t *key)
{
	if (!nats_pub_on()) {
		set_next(l, index + 1);
		return;
	}
	l->next = index + 1;
	l->have_next = 1;
	atomic_store(&l->st->passed, index + 1);
	nats_pub_entry(l->st, index, r, l->info.log_id[0] != '\0' ?
	    l->info.log_id : l->info.url, key);
}

void
ct_log_set_next(struct ct_log *l, uint64_t next)
{
	set_next(l, next);
}

struct ring_writer *
ct_writer(void)
{
	return C->w;
}

static void
set_error(struct ct_log *l, const char *why)
{
	/* Readers may see a torn string for a moment; it ends in NUL always. */
	snprintf(l->st->last_error, sizeof(l->st->last_error), "%s", why);
	atomic_fetch_add(&l->st->errors, 1);
}

void
ct_log_verified(struct ct_log *l, uint64_t size,
    const uint8_t root[STH_HASH_LEN])
{
	struct shm_log_status *s = l->st;
	uint64_t g = atomic_load(&s->verified_gen);

	/* the same head as the one the segment names: nothing to write */
	if (g > 0 && s->verified[g & 1].size == size &&
	    memcmp(s->verified[g & 1].root, root, STH_HASH_LEN) == 0)
		return;
	/* fill the slot not named, then name it */
	s->verified[(g + 1) & 1].size = size;
	memcpy(s->verified[(g + 1) & 1].root, root, STH_HASH_LEN);
	atomic_store_explicit(&s->verified_gen, g + 1, memory_order_release);
}

int
ct_log_head(const struct ct_log *l, uint64_t *size,
    uint8_t root[STH_HASH_LEN])
{
	const struct shm_log_status *s = l->st;
	uint64_t g = atomic_load_explicit(&s->verified_gen, memory_order_acquire);

	if (g == 0)
		return -1;
	*size = s->verified[g & 1].size;
	memcpy(root, s->verified[g & 1].root, STH_HASH_LEN);
	return 0;
}

void
ct_log_first_head(struct ct_log *l, uint64_t tree_size)
{
	uint64_t b = C->cfg.ct_log.backfill;

	set_next(l, tree_size > b ? tree_size - b : 0);
	log_info("log %s: starting at entry %" PRIu64 " of %" PRIu64,
	    l->info.url, l->next, tree_size);
}

/* A log whose tree head verifies but whose entries never come (every
 * get-entries failing, say) is failing, not ok: behind and no entry taken
 * for two whole request timeouts. */
static int
ct_log_stalled(struct ct_log_priv *lp, uint64_t tree_size, time_t now)
{
	struct ct_log *l = &lp->pub;
	time_t window = 2 * (time_t)C->cfg.ct_log.request_timeout_secs;

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
	const struct config *cfg = &C->cfg;
	uint64_t lag_max = (uint64_t)cfg->ct_log.batch_size *
	    (uint64_t)cfg->ct_log.fetch_concurrency * 4;
	time_t now = time(NULL);

	atomic_store(&C->seg->ingest->http_requests, fetch_count(C->fetch));
	atomic_store(&C->seg->ingest->held_bytes, fetch_mem(C->fetch));
	atomic_store(&l->st->tree_size, tree_size);
	atomic_store(&l->st->last_success_unix, (int64_t)now);
	if (l->failed)
		return;
	if (ct_log_stalled(lp, tree_size, now)) {
		atomic_store(&l->st->state, CT_LOG_FAILING);
		return;
	}
	if (lp->consecutive > 0 && lp->logged[0] != '\0')
		log_info("log %s: recovered", l->info.url);
	lp->consecutive = 0;
	lp->logged[0] = '\0';
	atomic_store(&l->st->state, tree_size - l->next > lag_max ?
	    CT_LOG_LAGGING : CT_LOG_OK);
}

void
ct_log_error(struct ct_log *l, const char *fmt, ...)
{
	struct ct_log_priv *lp = (struct ct_log_priv *)l;
	char why[SHM_LOG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	set_error(l, why);
	atomic_fetch_add(&C->seg->ingest->http_errors, 1);
	atomic_store(&C->seg->ingest->http_requests, fetch_count(C->fetch));
	if (++lp->consecutive >= CT_ERRORS_TO_FAILING && !l->failed)
		atomic_store(&l->st->state, CT_LOG_FAILING);
	/* tree heads may be polled seldom while errors back off: the errors
	 * themselves tell whether the log is stuck */
	if (!l->failed && ct_log_stalled(lp, atomic_load(&l->st->tree_size),
	    time(NULL)))
		atomic_store(&l->st->state, CT_LOG_FAILING);
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
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	l->failed = 1;
	set_error(l, why);
	if (sig) {
		atomic_fetch_add(&l->st->sig_failures, 1);
		atomic_fetch_add(&C->seg->ingest->sig_failures, 1);
	}
	atomic_store(&l->st->state, CT_LOG_FAILING);
	log_error("log %s: %s; log stopped", l->info.url, why);
}

void
ct_log_skip(struct ct_log *l, const char *fmt, ...)
{
	char why[SHM_LOG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	set_error(l, why);
	atomic_fetch_add(&C->seg->ingest->parse_failures, 1);
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
	atomic_fetch_add(&st->delay_bucket[k], 1);
	atomic_fetch_add(&st->delay_sum_ms, d);
	atomic_fetch_add(&st->delay_count, 1);
	atomic_store(&st->delay_last_ms, d);
}

int
ct_publish(struct ct_log *l, const struct leaf_entry *e)
{
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
	 * hold from an ingest killed before the stream acknowledged it goes
	 * to the stream again (its Msg-Id drops it if there), not the ring. */
	/* Passed before the dedup set can hold it: a successor after a kill
	 * in between resends it rather than take it for a duplicate. */
	if (nats_pub_on())
		atomic_store(&l->st->passed, e->index + 1);
	C->pipe.render_dups = nats_pub_on() && e->index < l->resend_below;
	switch (pipeline_entry(&C->pipe, &src, (uint16_t)(l->st - C->seg->logs),
	    e, seen_us, err, sizeof(err))) {
	case PIPE_BAD:
		ct_log_skip(l, "entry %" PRIu64 ": %s", e->index, err);
		return 0;
	case PIPE_DUPLICATE:
		atomic_fetch_add(&C->seg->ingest->duplicates, 1);
		break;
	case PIPE_TOO_BIG:
		set_error(l, "record larger than a quarter of the ring");
		atomic_fetch_add(&C->seg->ingest->parse_failures, 1);
		log_warnx("log %s: entry %" PRIu64 ": %s; passed", l->info.url,
		    e->index, err);
		rc = -1;
		break;
	case PIPE_PUBLISHED:
		atomic_fetch_add(&l->st->entries, 1);
		atomic_fetch_add(&C->seg->ingest->records, 1);
		record_delay(l->st, seen_us, e->timestamp_ms);
		break;
	}
	if (C->dedup != NULL)
		atomic_store(&C->seg->ingest->dedup_cache_size,
		    dedup_size(C->dedup));
	/* Only now: a successor resumes after the last published record. */
	pass_entry(l, e->index, C->pipe.have_rec ? &C->pipe.rec : NULL,
	    C->pipe.sha);
	return rc;
}

void
ct_flush(void)
{
	ring_wake(C->w);
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

/* ---- logs ---- */

static struct shm_log_status *
claim_slot(const char *url, int *reused)
{
	struct shm_log_status *free_slot = NULL, *s;
	int i;

	*reused = 0;
	for (i = 0; i < SHM_MAX_LOGS; i++) {
		s = &C->seg->logs[i];
		if (atomic_load(&s->in_use)) {
			/* the slot holds at most sizeof(url) - 1 bytes of it */
			if (strncmp(s->url, url, sizeof(s->url) - 1) == 0) {
				*reused = 1;
				return s;
			}
		} else if (free_slot == NULL) {
			free_slot = s;
		}
	}
	return free_slot;
}

static int
owned(const struct shm_log_status *s)
{
	size_t i;

	for (i = 0; i < C->nlogs; i++)
		if (C->logs[i]->pub.st == s)
			return 1;
	return 0;
}

static void
log_start(const struct loglist_log *info)
{
	struct ct_log_priv *lp;
	struct ct_log *l;
	struct shm_log_status *s;
	char err[256];
	uint64_t next, hsize;
	uint8_t hroot[STH_HASH_LEN];
	int reused, rc;

	if (C->nlogs == C->cap) {
		size_t ncap = C->cap ? C->cap * 2 : 64;
		struct ct_log_priv **nl = realloc(C->logs, ncap * sizeof(*nl));

		if (nl == NULL) {
			log_warn("%s: realloc", __func__);
			return;
		}
		C->logs = nl;
		C->cap = ncap;
	}
	s = claim_slot(info->url, &reused);
	if (s == NULL) {
		log_warnx("log %s: no free status slot (%d logs max); not watched",
		    info->url, SHM_MAX_LOGS);
		return;
	}
	lp = calloc(1, sizeof(*lp));
	if (lp == NULL) {
		log_warn("%s: calloc", __func__);
		return;
	}
	l = &lp->pub;
	l->info = *info;
	l->st = s;
	if (!reused || !(s->flags & CT_SHM_HAVE_NEXT)) {
		atomic_store(&s->in_use, 0);
		s->flags = 0;
		atomic_store(&s->tree_size, 0);
		atomic_store(&s->next_index, 0);
		atomic_store(&s->entries, 0);
		atomic_store(&s->errors, 0);
		atomic_store(&s->sig_failures, 0);
		atomic_store(&s->last_success_unix, 0);
		atomic_store(&s->verified_gen, 0);
		for (int k = 0; k < SHM_DELAY_BUCKETS; k++)
			atomic_store(&s->delay_bucket[k], 0);
		atomic_store(&s->delay_sum_ms, 0);
		atomic_store(&s->delay_count, 0);
		atomic_store(&s->delay_last_ms, 0);
		atomic_store(&s->skipped_entries, 0);
		s->last_error[0] = '\0';
		snprintf(s->url, sizeof(s->url), "%.*s", (int)sizeof(s->url) - 1,
		    info->url);
	}
	snprintf(s->name, sizeof(s->name), "%.*s", (int)sizeof(s->name) - 1,
	    info->name);
	s->type = info->type == LOGLIST_STATIC ? 1 : 0;
	atomic_store(&s->state, CT_LOG_OK);
	atomic_store(&s->in_use, 1);
	C->logs[C->nlogs++] = lp;

	/* A log id the state file knows at another URL: the log moved. */
	rc = ct_state_follow(&C->state, info->url, info->log_id, err,
	    sizeof(err));
	if (rc != 0)
		log_info("log %s: log id %s%s%s", info->url, info->log_id, rc > 0 ?
		    ", was at " : ": out of memory", rc > 0 ? err : "");

	/* Resume: the segment (an ingest restart), else the state file. */
	if (reused && (s->flags & CT_SHM_HAVE_NEXT)) {
		next = atomic_load(&s->next_index);
		if (C->have_last && strcmp(C->last_url, info->url) == 0 &&
		    C->last_index >= next) {
			/* killed after publishing, before advancing */
			log_info("log %s: entry %" PRIu64 " was published before "
			    "the previous ingest ended", info->url, C->last_index);
			next = C->last_index + 1;
		}
		set_next(l, next);
		l->resend_below = atomic_load(&s->passed);
		log_info("log %s: resuming at entry %" PRIu64 " (shared memory)",
		    info->url, l->next);
	} else if (ct_state_get(&C->state, info->url, &next) == 0) {
		set_next(l, next);
		log_info("log %s: resuming at entry %" PRIu64 " (state file)",
		    info->url, next);
	}
	/* The segment (kept across an ingest restart or a kill -9) names the
	 * last verified head; else the state file's goes into it at once, so
	 * an ingest that dies before verifying another still hands it on. */
	if (ct_log_head(l, &hsize, hroot) == -1 &&
	    ct_state_get_head(&C->state, info->url, &hsize, hroot) == 0)
		ct_log_verified(l, hsize, hroot);
	if (ct_log_head(l, &hsize, hroot) == 0)
		log_info("log %s: its next tree head must extend the one of size "
		    "%" PRIu64 " verified before", info->url, hsize);
	if (info->key[0] == '\0') {
		s->flags |= CT_SHM_UNVERIFIED;
		log_warnx("log %s: no key given: its tree heads cannot be verified",
		    info->url);
	} else if (sth_key_init(&l->key, info->key, err, sizeof(err)) < 0) {
		ct_log_fail(l, 0, "log key: %s", err);
		return;
	} else {
		l->has_key = 1;
	}
	rc = info->type == LOGLIST_STATIC ? ct_tiles_start(l) :
	    ct_rfc6962_start(l);
	if (rc < 0)
		ct_log_fail(l, 0, "cannot start its poller");
}

static void
log_remember(struct ct_log *l)
{
	uint64_t size;
	uint8_t root[STH_HASH_LEN];

	/* the segment's point: with nats.publish, acknowledged entries only */
	if (l->have_next && ct_state_set(&C->state, l->info.url,
	    atomic_load(&l->st->next_index)) < 0)
		log_warnx("%s: out of memory", __func__);
	if (l->have_next && l->info.log_id[0] != '\0')
		(void)ct_state_set_id(&C->state, l->info.url, l->info.log_id);
	if (l->have_next && ct_log_head(l, &size, root) == 0)
		(void)ct_state_set_head(&C->state, l->info.url, size, root);
}

static void
log_stop(struct ct_log_priv *lp, int release)
{
	struct ct_log *l = &lp->pub;

	if (l->info.type == LOGLIST_STATIC)
		ct_tiles_stop(l);
	else
		ct_rfc6962_stop(l);
	log_remember(l);
	if (release) {
		atomic_store(&l->st->state, CT_LOG_STOPPED);
		atomic_store(&l->st->in_use, 0);
	}
	if (l->has_key)
		sth_key_fini(&l->key);
	free(lp);
}

static void
save_state(void)
{
	char err[256];
	size_t i;

	if (C->cfg.ct_log.state_file[0] == '\0')
		return;
	for (i = 0; i < C->nlogs; i++)
		log_remember(&C->logs[i]->pub);
	if (ct_state_save(&C->state, C->cfg.ct_log.state_file, err,
	    sizeof(err)) < 0) {
		if (strcmp(err, C->save_err) != 0)
			log_warnx("state file: %s", err);
		snprintf(C->save_err, sizeof(C->save_err), "%s", err);
	} else {
		C->save_err[0] = '\0';
	}
}

/* Make the running logs match ll: start the new, stop the removed. */
static void
apply_list(struct loglist *ll)
{
	size_t i, j, started = 0, stopped = 0;
	char err[256];
	int k;

	if (loglist_add_config(ll, &C->cfg, err, sizeof(err)) < 0) {
		log_error("log list: %s", err);
		return;
	}
	for (i = 0; i < C->nlogs;) {
		struct ct_log *l = &C->logs[i]->pub;
		const struct loglist_log *nl = loglist_find(ll, l->info.url);

		if (nl == NULL || nl->type != l->info.type ||
		    strcmp(nl->key, l->info.key) != 0 ||
		    strcmp(nl->origin, l->info.origin) != 0) {
			/* Gone, or another key or kind: a changed log starts
			 * afresh below, from where it stopped; another kind of
			 * log is another tree, so its verified head goes. */
			log_info("log %s: %s; stopped", l->info.url, nl == NULL ?
			    "no longer listed, or excluded" : "key or type changed");
			if (nl != NULL)
				atomic_store(&l->st->verified_gen, 0);
			log_stop(C->logs[i], 1);
			if (nl != NULL)
				ct_state_clear_head(&C->state, nl->url);
			C->logs[i] = C->logs[--C->nlogs];
			stopped++;
			continue;
		}
		if (strcmp(nl->name, l->info.name) != 0 ||
		    strcmp(nl->operator_name, l->info.operator_name) != 0) {
			memcpy(l->info.name, nl->name, sizeof(l->info.name));
			memcpy(l->info.operator_name, nl->operator_name,
			    sizeof(l->info.operator_name));
			snprintf(l->st->name, sizeof(l->st->name), "%.*s",
			    (int)sizeof(l->st->name) - 1, l->info.name);
		}
		i++;
	}
	for (i = 0; i < ll->n; i++) {
		for (j = 0; j < C->nlogs; j++)
			if (strcmp(C->logs[j]->pub.info.url, ll->logs[i].url) == 0)
				break;
		if (j == C->nlogs) {
			log_start(&ll->logs[i]);
			started++;
		}
	}
	if (!C->list_applied) {
		/* Slots of logs a previous ingest watched and we do not. */
		for (k = 0; k < SHM_MAX_LOGS; k++) {
			struct shm_log_status *s = &C->seg->logs[k];

			if (atomic_load(&s->in_use) && !owned(s)) {
				atomic_store(&s->state, CT_LOG_STOPPED);
				atomic_store(&s->in_use, 0);
			}
		}
	}
	C->list_applied = 1;
	atomic_store(&C->seg->ingest->nlogs, (uint32_t)C->nlogs);
	if (started || stopped)
		log_info("watching %zu logs (%zu started, %zu stopped)", C->nlogs,
		    started, stopped);
}

/* The shipped copy: beside the working directory's source tree, beside
 * the binary's, or where `make install` would put it. */
static const char *
fallback_path(char *buf, size_t len)
{
	static const char *const fixed[] = {
		"/usr/local/share/certstream/log_list.json",
		"/usr/share/certstream/log_list.json",
	};
	ssize_t n;
	char *slash;
	size_t i;

	if (access(LOGLIST_FALLBACK, R_OK) == 0)
		return LOGLIST_FALLBACK;
	n = readlink("/proc/self/exe", buf, len - 1);
	if (n > 0) {
		buf[n] = '\0';
		if ((slash = strrchr(buf, '/')) != NULL &&
		    (size_t)(slash - buf) + sizeof(LOGLIST_FALLBACK) + 1 < len) {
			snprintf(slash + 1, len - (size_t)(slash + 1 - buf), "%s",
			    LOGLIST_FALLBACK);
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (access(fixed[i], R_OK) == 0)
			return fixed[i];
	return LOGLIST_FALLBACK;
}

static void
use_fallback(const char *why)
{
	struct loglist ll;
	char err[256], buf[4096];
	const char *path;

	if (C->list_applied) {
		log_warnx("log list: %s; keeping the current list", why);
		return;
	}
	path = fallback_path(buf, sizeof(buf));
	log_warnx("log list: %s; using the shipped copy %s", why, path);
	loglist_init(&ll);
	if (loglist_load_file(&ll, path, &C->cfg, err, sizeof(err)) < 0) {
		log_error("log list: %s; only configured logs are watched", err);
		loglist_free(&ll);
		loglist_init(&ll);
	}
	apply_list(&ll);
	loglist_free(&ll);
}

static void
on_list(void *arg, const struct fetch_res *res)
{
	struct loglist ll;
	char err[CONFIG_STR + 256];

	(void)arg;
	C->list_req = NULL;
	if (!res->ok || res->status != 200) {
		if (!res->ok)
			snprintf(err, sizeof(err), "%s: %s", C->cfg.ct_logs_url,
			    res->error);
		else
			snprintf(err, sizeof(err), "%s: HTTP %ld", C->cfg.ct_logs_url,
			    res->status);
		use_fallback(err);
		return;
	}
	loglist_init(&ll);
	if (loglist_parse(&ll, res->body, res->len, &C->cfg, err,
	    sizeof(err)) < 0) {
		loglist_free(&ll);
		use_fallback(err);
		return;
	}
	apply_list(&ll);
	loglist_free(&ll);
}

static void
load_list(void)
{
	struct loglist ll;
	char err[256];

	if (loglist_is_url(C->cfg.ct_logs_url)) {
		if (C->list_req != NULL)
			return;
		C->list_req = fetch_get(C->fetch, C->cfg.ct_logs_url, on_list, NULL);
		if (C->list_req == NULL)
			use_fallback("cannot start the request");
		return;
	}
	loglist_init(&ll);
	if (loglist_load_file(&ll, C->cfg.ct_logs_url, &C->cfg, err,
	    sizeof(err)) < 0) {
		loglist_free(&ll);
		use_fallback(err);
		return;
	}
	apply_list(&ll);
	loglist_free(&ll);
}

static void
arm_secs(struct event *ev, int secs)
{
	struct timeval tv = { secs, 0 };

	if (secs > 0)
		evtimer_add(ev, &tv);
}

static void
on_save(evutil_socket_t fd, short what, void *arg)
{
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	(void)arg;
	/* a stuck log shows even when nothing at all happens on it */
	for (size_t i = 0; i < C->nlogs; i++) {
		struct ct_log *l = &C->logs[i]->pub;

		if (!l->failed && ct_log_stalled(C->logs[i],
		    atomic_load(&l->st->tree_size), now))
			atomic_store(&l->st->state, CT_LOG_FAILING);
	}
	save_state();
	arm_secs(C->save_ev, C->cfg.ct_log.state_save_interval_secs);
}

static void
on_refresh(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	load_list();
	arm_secs(C->refresh_ev, C->cfg.ct_log.loglist_refresh_secs);
}

/* The dedup set's shared memory, named after the segment, so that a
 * replacement ingest remembers what the killed one streamed. "" for an
 * anonymous segment (the set is then private). */
static void
dedup_name(char *buf, size_t len)
{
	if (C->seg->name[0] == '\0')
		buf[0] = '\0';
	else
		snprintf(buf, len, "%s-dedup", C->seg->name);
}

static int
dedup_setup(void)
{
	char name[sizeof(C->seg->name) + 8];
	int kept = 0;

	dedup_free(C->dedup);
	C->dedup = C->pipe.dedup = NULL;
	atomic_store(&C->seg->ingest->dedup_cache_size, 0);
	dedup_name(name, sizeof(name));
	if (!C->cfg.dedup.enabled) {
		if (name[0] != '\0')
			shm_unlink(name);
		return 0;
	}
	C->dedup = name[0] != '\0' ? dedup_open(name,
	    (size_t)C->cfg.dedup.max_entries, C->cfg.dedup.ttl_secs, &kept) :
	    dedup_new((size_t)C->cfg.dedup.max_entries, C->cfg.dedup.ttl_secs);
	C->pipe.dedup = C->dedup;
	if (C->dedup == NULL) {
		log_warnx("dedup: cannot allocate %d entries%s%s",
		    C->cfg.dedup.max_entries, name[0] ? " in " : "", name);
		return -1;
	}
	if (kept) {
		atomic_store(&C->seg->ingest->dedup_cache_size,
		    dedup_size(C->dedup));
		log_info("dedup: %zu certificates remembered from the previous "
		    "ingest", dedup_size(C->dedup));
	}
	return 0;
}

int
ct_start(struct event_base *base, const struct config *cfg,
    struct shm_seg *seg, struct ring_writer *w)
{
	struct fetch_opts fo;
	char err[256];

	if (C != NULL) {
		log_warnx("%s: already running", __func__);
		return -1;
	}
	C = calloc(1, sizeof(*C));
	if (C == NULL) {
		log_warn("%s: calloc", __func__);
		return -1;
	}
	C->base = base;
	C->cfg = *cfg;
	C->seg = seg;
	C->w = w;
	if (pipeline_init(&C->pipe, w) < 0) {
		log_error("%s: out of memory", __func__);
		free(C);
		C = NULL;
		return -1;
	}
	ct_state_init(&C->state);
	/* With nats.publish the ring's newest record may be unacknowledged:
	 * the segment's points alone say where to resume. */
	C->have_last = !cfg->nats.publish && ct_last_record(seg, C->last_url,
	    sizeof(C->last_url), &C->last_index) == 0;
	ct_fetch_opts(cfg, &fo);
	C->fetch = fetch_new(base, &fo, err, sizeof(err));
	if (C->fetch == NULL) {
		log_error("fetch: %s", err);
		goto fail;
	}
	if (dedup_setup() < 0)
		goto fail;
	C->unique = unique_new((size_t)cfg->dedup.max_entries,
	    cfg->dedup.ttl_secs);
	if (C->unique == NULL)
		log_warnx("unique: cannot allocate %d entries: ?unique=1 sends "
		    "both of a pair", cfg->dedup.max_entries);
	C->pipe.unique = C->unique;
	if (cfg->ct_log.state_file[0] != '\0' && ct_state_load(&C->state,
	    cfg->ct_log.state_file, err, sizeof(err)) < 0) {
		/* Starting over from the heads would skip entries silently. */
		log_error("state file: %s; move it away to start from the log "
		    "heads", err);
		goto fail;
	}
	C->save_ev = evtimer_new(base, on_save, NULL);
	C->refresh_ev = evtimer_new(base, on_refresh, NULL);
	if (C->save_ev == NULL || C->refresh_ev == NULL) {
		log_error("%s: evtimer_new failed", __func__);
		goto fail;
	}
	arm_secs(C->save_ev, cfg->ct_log.state_save_interval_secs);
	arm_secs(C->refresh_ev, cfg->ct_log.loglist_refresh_secs);
	load_list();
	return 0;
fail:
	ct_stop();
	return -1;
}

void
ct_stop(void)
{
	size_t i;

	if (C == NULL)
		return;
	if (C->list_applied)
		save_state();
	for (i = 0; i < C->nlogs; i++)
		log_stop(C->logs[i], 0);
	free(C->logs);
	fetch_free(C->fetch);  /* cancels the list request too */
	if (C->save_ev != NULL)
		event_free(C->save_ev);
	if (C->refresh_ev != NULL)
		event_free(C->refresh_ev);
	unique_free(C->unique);
	dedup_free(C->dedup);
	if (C->dedup != NULL) {
		/* A clean stop: the next daemon starts with an empty set. */
		char name[sizeof(C->seg->name) + 8];

		dedup_name(name, sizeof(name));
		if (name[0] != '\0')
			shm_unlink(name);
	}
	pipeline_fini(&C->pipe);
	ct_state_free(&C->state);
	free(C);
	C = NULL;
}

int
ct_reload(const struct config *cfg)
{
	struct fetch_opts fo;
	int dedup_changed;

	if (C == NULL)
		return -1;
	dedup_changed = cfg->dedup.enabled != C->cfg.dedup.enabled ||
	    cfg->dedup.max_entries != C->cfg.dedup.max_entries ||
	    cfg->dedup.ttl_secs != C->cfg.dedup.ttl_secs;
	/* Fields that need a restart keep their running values. */
	{
		char state_file[CONFIG_STR];

		memcpy(state_file, C->cfg.ct_log.state_file, sizeof(state_file));
		C->cfg = *cfg;
		memcpy(C->cfg.ct_log.state_file, state_file, sizeof(state_file));
	}
	ct_fetch_opts(&C->cfg, &fo);
	fetch_set_opts(C->fetch, &fo);
	if (dedup_changed && dedup_setup() < 0)
		return -1;
	evtimer_del(C->refresh_ev);
	arm_secs(C->refresh_ev, C->cfg.ct_log.loglist_refresh_secs);
	load_list();
	return 0;
}
