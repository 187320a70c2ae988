/*
 * The CT source: the logs watched (from the log list and the config), one
 * poller each, their segment rows, the dedup set, the state file. A log's
 * status and publish path: ct_log.c.
 */
#include "ingest/ct.h"
#include "ingest/ct_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "ingest/ct_rfc6962.h"
#include "ingest/ct_state.h"
#include "ingest/ct_tiles.h"
#include "ingest/fetch.h"
#include "ingest/pipeline.h"
#include "ingest/unique.h"
#include "shm/atomics.h"
#include "shm/dedup.h"
#include "shm/heads.h"

#define CT_MAX_REDIRS 5

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

struct shm_seg *
ct_seg(void)
{
	return C->seg;
}

struct pipeline *
ct_pipeline(void)
{
	return &C->pipe;
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

struct ring_writer *
ct_writer(void)
{
	return C->w;
}

void
ct_log_first_head(struct ct_log *l, uint64_t tree_size)
{
	uint64_t b = C->cfg.ct_log.backfill;

	ct_log_set_next(l, tree_size > b ? tree_size - b : 0);
	log_info("log %s: starting at entry %" PRIu64 " of %" PRIu64,
	    l->info.url, l->next, tree_size);
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
		/* relaxed: the ingest is the slots' only writer */
		if (shm_load(&s->in_use, relaxed)) {
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
	/* relaxed: the ingest is the slot's only writer, and readers take
	 * in_use last (the release below) */
	if (!reused || !(s->flags & CT_SHM_HAVE_NEXT)) {
		shm_store(&s->in_use, 0, relaxed);
		s->flags = 0;
		shm_store(&s->tree_size, 0, relaxed);
		shm_store(&s->next_index, 0, relaxed);
		shm_store(&s->entries, 0, relaxed);
		shm_store(&s->errors, 0, relaxed);
		shm_store(&s->sig_failures, 0, relaxed);
		shm_store(&s->last_success_unix, 0, relaxed);
		heads_clear(s);
		for (int k = 0; k < SHM_DELAY_BUCKETS; k++)
			shm_store(&s->delay_bucket[k], 0, relaxed);
		shm_store(&s->delay_sum_ms, 0, relaxed);
		shm_store(&s->delay_count, 0, relaxed);
		shm_store(&s->delay_last_ms, 0, relaxed);
		shm_store(&s->skipped_entries, 0, relaxed);
		s->last_error[0] = '\0';
		snprintf(s->url, sizeof(s->url), "%.*s", (int)sizeof(s->url) - 1,
		    info->url);
	}
	snprintf(s->name, sizeof(s->name), "%.*s", (int)sizeof(s->name) - 1,
	    info->name);
	s->type = info->type == LOGLIST_STATIC ? 1 : 0;
	shm_store(&s->state, CT_LOG_OK, relaxed);
	/* release: pairs with the acquire of in_use in ep_health.c and
	 * ep_metrics.c, so a reader that sees the slot in use sees its url,
	 * name and zeroed figures */
	shm_store(&s->in_use, 1, release);
	C->logs[C->nlogs++] = lp;

	/* A log id the state file knows at another URL: the log moved. */
	rc = ct_state_follow(&C->state, info->url, info->log_id, err,
	    sizeof(err));
	if (rc != 0)
		log_info("log %s: log id %s%s%s", info->url, info->log_id, rc > 0 ?
		    ", was at " : ": out of memory", rc > 0 ? err : "");

	/* Resume: the segment (an ingest restart), else the state file. */
	if (reused && (s->flags & CT_SHM_HAVE_NEXT)) {
		/* relaxed: the previous ingest wrote it and has been reaped */
		next = shm_load(&s->next_index, relaxed);
		if (C->have_last && strcmp(C->last_url, info->url) == 0 &&
		    C->last_index >= next) {
			/* killed after publishing, before advancing */
			log_info("log %s: entry %" PRIu64 " was published before "
			    "the previous ingest ended", info->url, C->last_index);
			next = C->last_index + 1;
		}
		ct_log_set_next(l, next);
		l->resend_below = shm_load(&s->passed, relaxed);
		log_info("log %s: resuming at entry %" PRIu64 " (shared memory)",
		    info->url, l->next);
	} else if (ct_state_get(&C->state, info->url, &next) == 0) {
		ct_log_set_next(l, next);
		log_info("log %s: resuming at entry %" PRIu64 " (state file)",
		    info->url, next);
	}
	/* A head the previous ingest was writing when it died: cleared (the
	 * one before it stays named). */
	if (reused && heads_reclaim(s))
		log_info("log %s: a tree head being saved when the previous "
		    "ingest ended was dropped", info->url);
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

	/* the segment's point: with a sink (nats.publish), the entries it
	 * has safe only */
	if (l->have_next && ct_state_set(&C->state, l->info.url,
	    shm_load(&l->st->next_index, relaxed)) < 0)
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
		/* relaxed: a reader that misses it shows the log a moment
		 * longer */
		shm_store(&l->st->state, CT_LOG_STOPPED, relaxed);
		shm_store(&l->st->in_use, 0, relaxed);
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
				heads_clear(l->st);
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

			if (shm_load(&s->in_use, relaxed) && !owned(s)) {
				shm_store(&s->state, CT_LOG_STOPPED, relaxed);
				shm_store(&s->in_use, 0, relaxed);
			}
		}
	}
	C->list_applied = 1;
	shm_store(&C->seg->ingest->nlogs, (uint32_t)C->nlogs, relaxed);
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

/* A list read (rc 0) or not (rc < 0, err says why): apply it, or fall
 * back. */
static void
take_list(struct loglist *ll, int rc, const char *err)
{
	if (rc < 0) {
		loglist_free(ll);
		use_fallback(err);
		return;
	}
	apply_list(ll);
	loglist_free(ll);
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
	take_list(&ll, loglist_parse(&ll, res->body, res->len, &C->cfg, err,
	    sizeof(err)), err);
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
	take_list(&ll, loglist_load_file(&ll, C->cfg.ct_logs_url, &C->cfg, err,
	    sizeof(err)), err);
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
		    shm_load(&l->st->tree_size, relaxed), now))
			shm_store(&l->st->state, CT_LOG_FAILING, relaxed);
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

static int
dedup_setup(void)
{
	char name[DEDUP_NAME_MAX];
	int kept = 0;

	dedup_free(C->dedup);
	C->dedup = C->pipe.dedup = NULL;
	shm_store(&C->seg->ingest->dedup_cache_size, 0, relaxed);
	if (!C->cfg.dedup.enabled) {
		dedup_remove(C->seg->name);
		return 0;
	}
	dedup_shm_name(C->seg->name, name);
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
		shm_store(&C->seg->ingest->dedup_cache_size,
		    dedup_size(C->dedup), relaxed);
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
	/* With a sink past the ring (nats.publish) the ring's newest record
	 * may not be safe there yet: the segment's points alone say where to
	 * resume. */
	C->have_last = pipeline_sink() == NULL && ct_last_record(seg,
	    C->last_url, sizeof(C->last_url), &C->last_index) == 0;
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
	/* A clean stop: the next daemon starts with an empty set. */
	if (C->dedup != NULL)
		dedup_remove(C->seg->name);
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
