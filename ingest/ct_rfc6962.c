/*
 * RFC 6962 log poller: its life (start, poll, stop) and its tree heads:
 * get-sth, the signature, get-sth-consistency, and the head accepted.
 *
 * Entries are bound to the signed tree heads: once the poller has published
 * exactly up to a verified head, the consistency proof to the next head also
 * gives the frontier of that tree (sth_consistency_frontier); from then on
 * ct_rfc6962_hold.c checks every entry published against the heads. A
 * verified head's entries are fetched and published by ct_rfc6962_win.c.
 */
#include "ingest/ct_rfc6962_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"

/* Cancel everything: the log failed. */
void
ct_rfc6962_halt(struct r6962 *p)
{
	int i;

	fetch_cancel(p->sth_req);
	p->sth_req = NULL;
	fetch_cancel(p->cons_req);
	p->cons_req = NULL;
	for (i = 0; i < MAX_WINDOWS; i++)
		if (p->win[i].used)
			ct_rfc6962_win_clear(&p->win[i]);
	p->hold_size = 0;
	ct_pace_halt(&p->pace);
}

/* A tree head request that gave nothing to check (why): logged, backed
 * off, and polled again later. */
static void
head_again(struct r6962 *p, const char *why)
{
	ct_log_error(p->l, "%s", why);
	ct_pace_backoff(&p->pace, NULL);
	ct_pace_poll_later(&p->pace);
}

/* The same for an answer that is the log's error (HTTP, transfer): its
 * Retry-After is honoured. */
static void
head_failed(struct r6962 *p, const char *what, const struct fetch_res *res)
{
	char why[256];

	ct_pace_describe(why, sizeof(why), res);
	ct_log_error(p->l, "%s: %s", what, why);
	ct_pace_backoff(&p->pace, res);
	ct_pace_poll_later(&p->pace);
}

/* A verified head (signature, and consistency with the last one): the
 * entries below its size may now be fetched. */
static void
accept_head(struct r6962 *p, const struct sth *sth)
{
	struct ct_log *l = p->l;

	p->tree_size = sth->tree_size;
	p->have_tree = 1;
	p->fresh = 1;
	p->last = *sth;
	ct_log_verified(l, sth->tree_size, sth->root_hash);
	if (!l->have_next)
		ct_log_first_head(l, sth->tree_size);
	if (ct_log_catchup(l, sth->tree_size)) {
		/* skipped ahead: nothing below the new resume point is kept */
		for (int i = 0; i < MAX_WINDOWS; i++)
			if (p->win[i].used)
				ct_rfc6962_win_clear(&p->win[i]);
		p->fetch_next = l->next;
		p->bound = 0;
		p->hold_size = 0;
	}
	/* From entry 0 the frontier is the empty tree: bound at once. */
	if (!p->bound && l->next == 0) {
		memset(&p->fr, 0, sizeof(p->fr));
		p->bound = 1;
		log_info("log %s: entries from 0 on are checked against the "
		    "signed tree heads", l->info.url);
	}
	if (p->fetch_next < l->next)
		p->fetch_next = l->next;
	ct_log_ok(l, p->tree_size);
	ct_rfc6962_drain(p);       /* held windows may wait for nothing more */
	if (!l->failed)
		ct_rfc6962_fill(p);
	ct_pace_poll_later(&p->pace);
}

static void on_consistency(void *arg, const struct fetch_res *res);

static void
on_sth(void *arg, const struct fetch_res *res)
{
	struct r6962 *p = arg;
	struct ct_log *l = p->l;
	struct sth sth;
	char why[256];

	p->sth_req = NULL;
	if (!res->ok || res->status != 200) {
		head_failed(p, "get-sth", res);
		return;
	}
	if (sth_parse(res->body, res->len, &sth, why, sizeof(why)) < 0) {
		head_again(p, why);
		return;
	}
	/* An STH identical to the last verified one needs no second check:
	 * idle logs then cost a request and a compare per poll. */
	if (l->has_key && !(p->have_tree && memcmp(&sth, &p->last,
	    sizeof(sth)) == 0) && sth_verify(&sth, &l->key, why,
	    sizeof(why)) < 0) {
		ct_log_fail(l, 1, "tree head %" PRIu64 ": %s", sth.tree_size, why);
		ct_rfc6962_halt(p);
		return;
	}
	if (p->have_tree && sth.tree_size < p->tree_size) {
		ct_log_fail(l, 0, "tree shrank from %" PRIu64 " to %" PRIu64,
		    p->tree_size, sth.tree_size);
		ct_rfc6962_halt(p);
		return;
	}
	if (l->have_next && sth.tree_size < l->next) {
		ct_log_fail(l, 0, "tree size %" PRIu64 " is below the %" PRIu64
		    " entries already streamed", sth.tree_size, l->next);
		ct_rfc6962_halt(p);
		return;
	}
	if (p->have_tree && sth.tree_size == p->tree_size &&
	    memcmp(sth.root_hash, p->last.root_hash, STH_HASH_LEN) != 0) {
		ct_log_fail(l, 0, "two tree heads of size %" PRIu64 " with "
		    "different roots", sth.tree_size);
		ct_rfc6962_halt(p);
		return;
	}
	if (p->have_tree && p->tree_size > 0 && sth.tree_size > p->tree_size) {
		/* The new tree must extend the one already streamed from. */
		char url[CONFIG_STR + 96];

		p->pending = sth;
		snprintf(url, sizeof(url), "%sct/v1/get-sth-consistency?first=%"
		    PRIu64 "&second=%" PRIu64, l->info.url, p->tree_size,
		    sth.tree_size);
		p->cons_req = fetch_get(ct_fetch(), url, on_consistency, p);
		if (p->cons_req == NULL)
			head_again(p, "cannot start a request");
		return;
	}
	accept_head(p, &sth);
}

static void
on_consistency(void *arg, const struct fetch_res *res)
{
	struct r6962 *p = arg;
	struct ct_log *l = p->l;
	uint8_t proof[STH_PROOF_MAX][STH_HASH_LEN];
	char why[256];
	int n;

	p->cons_req = NULL;
	if (!res->ok || res->status != 200) {
		head_failed(p, "get-sth-consistency", res);
		return;
	}
	n = sth_consistency_parse(res->body, res->len, proof, STH_PROOF_MAX, why,
	    sizeof(why));
	if (n < 0) {
		head_again(p, why);
		return;
	}
	if (sth_consistency_verify(p->last.tree_size, p->last.root_hash,
	    p->pending.tree_size, p->pending.root_hash, proof, (size_t)n, why,
	    sizeof(why)) < 0) {
		ct_log_fail(l, 0, "tree %" PRIu64 " does not extend tree %" PRIu64
		    ": %s", p->pending.tree_size, p->last.tree_size, why);
		ct_rfc6962_halt(p);
		return;
	}
	/* Published exactly up to the last head: bind from here on. */
	if (!p->bound && l->have_next && l->next == p->last.tree_size &&
	    p->last.tree_size > 0 &&
	    sth_consistency_frontier(p->last.tree_size, p->last.root_hash,
	    p->pending.tree_size, p->pending.root_hash, proof, (size_t)n, &p->fr,
	    why, sizeof(why)) == 0) {
		p->bound = 1;
		log_info("log %s: entries from %" PRIu64 " on are checked against "
		    "the signed tree heads", l->info.url, l->next);
	}
	accept_head(p, &p->pending);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct r6962 *p = arg;
	char url[CONFIG_STR + 32];

	(void)fd;
	(void)what;
	if (p->l->failed || p->sth_req != NULL || p->cons_req != NULL)
		return;
	if (ct_pace_paused(&p->pace)) {
		ct_pace_poll_later(&p->pace);
		return;
	}
	snprintf(url, sizeof(url), "%sct/v1/get-sth", p->l->info.url);
	p->sth_req = fetch_get(ct_fetch(), url, on_sth, p);
	if (p->sth_req == NULL)
		head_again(p, "cannot start a request");
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct r6962 *p = arg;

	(void)fd;
	(void)what;
	if (ct_pace_retry_later(&p->pace))
		return;
	ct_rfc6962_fill(p);
}

int
ct_rfc6962_start(struct ct_log *l)
{
	struct r6962 *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		log_warn("%s: calloc", __func__);
		return -1;
	}
	p->l = l;
	if (ct_pace_init(&p->pace, ct_base(), on_poll, on_retry, p) < 0) {
		free(p);
		return -1;
	}
	if (ct_pace_join(&p->pace, l->info.operator_name) < 0) {
		ct_pace_fini(&p->pace);
		free(p);
		return -1;
	}
	l->poller = p;
	if (ct_log_head(l, &p->last.tree_size, p->last.root_hash) == 0) {
		/* The head verified before a restart: the first one now must
		 * be the same or proven to extend it, like any later one. */
		p->have_tree = 1;
		p->tree_size = p->last.tree_size;
		p->fetch_next = l->next;
	}
	return 0;
}

void
ct_rfc6962_stop(struct ct_log *l)
{
	struct r6962 *p = l->poller;

	if (p == NULL)
		return;
	ct_rfc6962_halt(p);
	ct_pace_fini(&p->pace);
	ct_rfc6962_scratch_fini(&p->scratch);
	free(p);
	l->poller = NULL;
}
