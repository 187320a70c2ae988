/*
 * RFC 6962 get-entries windows: asked for, received, published in order.
 *
 * Windows: up to fetch_concurrency ranges [start, end] of the verified tree
 * are requested at once; each lands in its own slot. Only the window with
 * the lowest start (the front) is ever published, and only when its
 * response is in, so entries leave strictly in index order whatever order
 * the responses arrive in. A response shorter than asked is published and
 * the window shrinks to the remainder, which is requested again.
 *
 * Memory: every answer held (in or being received) counts against the
 * ingest's one budget (ct_log.memory_budget_bytes, kept by fetch.c). A
 * window is asked for only while the budget has room for what it and the
 * windows in flight are reckoned to bring (win_cost), except the front: it
 * is always asked, and its transfer is never cut for the budget, so the
 * log moves whatever the others hold. A hold (ct_rfc6962_hold.c) whose
 * entries cannot all be in for the budget is not waited for: its front
 * goes out and the entries are checked on reaching the head, as further
 * behind.
 */
#include "ingest/ct_rfc6962_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* Let go of w's answer, and of its bytes in the budget. */
static void
win_unhold(struct win *w)
{
	json_object_put(w->root);
	w->root = w->entries = NULL;
	free(w->lv);
	free(w->leaves);
	w->lv = NULL;
	w->leaves = NULL;
	w->nlv = w->leaves_len = w->leaves_cap = 0;
	fetch_hold(ct_fetch(), 0, w->bytes);
	w->bytes = 0;
}

void
ct_rfc6962_win_clear(struct win *w)
{
	if (w->slot)
		ct_pace_give(&w->p->pace);
	fetch_cancel(w->req);
	win_unhold(w);
	memset(w, 0, sizeof(*w));
}

static struct win *
front(struct r6962 *p)
{
	struct win *f = NULL;
	int i;

	for (i = 0; i < MAX_WINDOWS; i++)
		if (p->win[i].used && (f == NULL || p->win[i].start < f->start))
			f = &p->win[i];
	return f;
}

static void on_entries(void *arg, const struct fetch_res *res);

static void
issue(struct r6962 *p, struct win *w)
{
	char url[CONFIG_STR + 96];

	snprintf(url, sizeof(url), "%sct/v1/get-entries?start=%" PRIu64
	    "&end=%" PRIu64, p->l->info.url, w->start, w->end);
	/* the operator's budget: asked again by fill() once a slot frees */
	if (!w->slot && !ct_pace_take(&p->pace)) {
		w->failed = 1;
		return;
	}
	w->slot = 1;
	w->failed = 0;
	w->req = fetch_get(ct_fetch(), url, on_entries, w);
	/* the front is never cut: the log must always move */
	fetch_cuttable(w->req, w != front(p));
	if (w->req == NULL) {
		w->failed = 1;
		w->slot = 0;
		ct_pace_give(&p->pace);
		ct_log_error(p->l, "cannot start a request");
		ct_pace_backoff(&p->pace, NULL);
	}
}

struct win *
ct_rfc6962_win_at(struct r6962 *p, uint64_t start)
{
	int i;

	for (i = 0; i < MAX_WINDOWS; i++)
		if (p->win[i].used && p->win[i].start == start)
			return &p->win[i];
	return NULL;
}

struct win *
ct_rfc6962_win_free(struct r6962 *p)
{
	int i;

	for (i = 0; i < MAX_WINDOWS; i++)
		if (!p->win[i].used)
			return &p->win[i];
	return NULL;
}

/* Ask for w now, or mark it for fill() to ask once a pause ends. */
static void
win_ask(struct r6962 *p, struct win *w)
{
	if (ct_pace_paused(&p->pace))
		w->failed = 1;
	else
		issue(p, w);
}

/* Drop w's answer and ask again from start. */
void
ct_rfc6962_win_again(struct r6962 *p, struct win *w, uint64_t start)
{
	win_unhold(w);
	w->n = 0;
	w->done = 0;
	w->start = start;
	win_ask(p, w);
}

/* A short answer: the rest becomes a window of its own, so what came can
 * be held meanwhile. 0, or -1 when no slot is free. */
int
ct_rfc6962_split(struct r6962 *p, struct win *w)
{
	struct win *rest = ct_rfc6962_win_free(p);

	if (rest == NULL)
		return -1;
	rest->used = 1;
	rest->p = p;
	rest->start = w->start + w->n;
	rest->end = w->end;
	w->end = rest->start - 1;
	if (fetch_budget_full(ct_fetch()))
		rest->failed = 1;       /* fill() asks once there is room */
	else
		win_ask(p, rest);
	return 0;
}

/* Publish complete windows from the front. */
void
ct_rfc6962_drain(struct r6962 *p)
{
	struct ct_log *l = p->l;
	struct win *w;
	int published = 0;

	while ((w = front(p)) != NULL && w->done) {
		uint64_t want = w->end - w->start + 1;
		size_t i;

		if (ct_rfc6962_hold_wait(p) != 0)
			goto out;       /* -1: the log failed */

		for (i = 0; i < w->n; i++) {
			json_object *ent = json_object_array_get_idx(w->entries, i);
			const struct win_leaf *v = i < w->nlv ? &w->lv[i] : NULL;
			const uint8_t *leaf;
			struct leaf_entry e;
			long leaf_len = -1;
			int rc;

			if (v != NULL) {        /* the hold check decoded it */
				leaf = w->leaves + v->off;
				leaf_len = v->len;
				rc = ct_rfc6962_decode_with_leaf(ent, &p->scratch, leaf,
				    leaf_len, &e);
			} else {
				rc = ct_rfc6962_decode(ent, &p->scratch, &e,
				    &leaf_len);
				leaf = p->scratch.leaf;  /* grown by the decode */
			}

			if (rc != LEAF_OK &&
			    w->attempts < ct_config()->ct_log.retry_max_attempts) {
				/* Likely a damaged response: fetch again from here,
				 * and only pass the entry (counted) if it stays bad. */
				w->attempts++;
				ct_log_error(l, "entry %" PRIu64 ": %s", w->start + i,
				    leaf_strerror(rc));
				p->hold_checked = 0;    /* the new answer is checked again */
				ct_pace_backoff(&p->pace, NULL);
				ct_rfc6962_win_again(p, w, w->start + i);
				goto out;
			}
			ct_rfc6962_bind_leaf(p, w->start + i, leaf, leaf_len,
			    v != NULL && v->hashed ? v->h : NULL);
			if (rc != LEAF_OK) {
				ct_log_skip(l, "entry %" PRIu64 " undecodable after %d "
				    "attempts: %s", w->start + i, w->attempts + 1,
				    leaf_strerror(rc));
			} else {
				e.index = w->start + i;
				ct_publish(l, &e);
				published++;
			}
			w->attempts = 0;
			if (ct_rfc6962_check_bound(p) < 0)
				goto out;
		}
		if (w->n < want) {
			/* short response: continue from the last index received */
			ct_rfc6962_win_again(p, w, w->start + w->n);
		} else {
			ct_rfc6962_win_clear(w);
		}
	}
out:
	if (published)
		ct_flush();
	if (!l->failed)
		ct_log_ok(l, p->tree_size);
}

static void
on_entries(void *arg, const struct fetch_res *res)
{
	struct win *w = arg;
	struct r6962 *p = w->p;
	struct ct_log *l = p->l;
	json_object *root = NULL, *arr;
	uint64_t want = w->end - w->start + 1;
	char why[256];
	size_t n;

	w->req = NULL;
	w->slot = 0;
	ct_pace_give(&p->pace);
	if (res->over_budget) {
		/* Not the log's fault: asked again once there is room (the
		 * front at once: it may have become the front in flight). A
		 * front held for the head's check no longer waits for it. */
		w->failed = 1;
		ct_rfc6962_drain(p);
		if (!l->failed)
			ct_rfc6962_fill(p);
		return;
	}
	if (!res->ok || res->status != 200) {
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(l, "get-entries %" PRIu64 "-%" PRIu64 ": %s", w->start,
		    w->end, why);
		w->failed = 1;
		ct_pace_backoff(&p->pace, res);
		return;
	}
	if (ct_rfc6962_parse(res->body, res->len, &root, &arr) < 0) {
		ct_log_error(l, "get-entries %" PRIu64 "-%" PRIu64 ": malformed "
		    "JSON", w->start, w->end);
		w->failed = 1;
		ct_pace_backoff(&p->pace, NULL);
		return;
	}
	n = json_object_array_length(arr);
	if (n > want) {
		json_object_put(root);
		ct_log_fail(l, 0, "get-entries %" PRIu64 "-%" PRIu64 " returned %zu "
		    "entries for %" PRIu64 " asked", w->start, w->end, n, want);
		ct_rfc6962_halt(p);
		return;
	}
	if (n == 0) {
		json_object_put(root);
		ct_log_error(l, "get-entries %" PRIu64 "-%" PRIu64 ": no entries "
		    "within the signed tree", w->start, w->end);
		w->failed = 1;
		ct_pace_backoff(&p->pace, NULL);
		return;
	}
	w->root = root;
	w->entries = arr;
	w->n = n;
	w->done = 1;
	w->bytes = res->len + n * ENTRY_OVERHEAD;
	fetch_hold(ct_fetch(), w->bytes, 0);
	p->entry_bytes = w->bytes / n + 1;
	if (n < want && n > p->resp_cap)
		p->resp_cap = n;
	else if (n == want && n > p->resp_cap)
		p->resp_cap = 0;        /* answered more: that was no page limit */
	ct_rfc6962_hold_begin(p);
	if (n < want && w->start < p->hold_size)
		(void)ct_rfc6962_split(p, w);      /* else precheck() tries again */
	ct_pace_ok(&p->pace);
	ct_rfc6962_drain(p);
	if (!l->failed)
		ct_rfc6962_fill(p);
}

/* The bytes a window of entries start..end is reckoned to bring: as many
 * as the last answer's per entry, or the body cap before any came. */
static size_t
win_cost(const struct r6962 *p, uint64_t start, uint64_t end)
{
	size_t cap = (size_t)ct_config()->ct_log.max_response_bytes;
	uint64_t n = end - start + 1;

	if (p->entry_bytes == 0 || n > cap / p->entry_bytes)
		return cap;
	return (size_t)n * p->entry_bytes;
}

/* Request what the verified tree holds beyond what is in flight, while the
 * memory budget has room for what those in flight and the next one are
 * reckoned to bring; the front window always. */
void
ct_rfc6962_fill(struct r6962 *p)
{
	const struct config *cfg = ct_config();
	uint64_t batch = (uint64_t)cfg->ct_log.batch_size;
	struct fetch *f = ct_fetch();
	struct win *fw;
	size_t coming = 0;          /* reckoned bytes of the windows in flight */
	int i, nused = 0;

	/* nothing before this run has verified a head itself: a head kept
	 * from before a restart only checks the next one */
	if (p->l->failed || !p->fresh || ct_pace_paused(&p->pace))
		return;
	ct_rfc6962_hold_begin(p);
	fw = front(p);
	for (i = 0; i < MAX_WINDOWS; i++) {
		struct win *w = &p->win[i];

		if (!w->used)
			continue;
		if (!w->done || w->start >= p->hold_size)
			nused++;        /* held windows are in, not in flight */
		if (w == fw)
			fetch_cuttable(w->req, 0);      /* the front since it was asked */
		if (w->failed && w->req == NULL && !w->done &&
		    (w == fw || fetch_budget_room(f, coming +
		    win_cost(p, w->start, w->end))))
			issue(p, w);
		if (w->req != NULL)
			coming += win_cost(p, w->start, w->end);
		if (ct_pace_paused(&p->pace))
			return;
	}
	p->nwin_max = cfg->ct_log.fetch_concurrency;
	if (p->nwin_max > MAX_WINDOWS)
		p->nwin_max = MAX_WINDOWS;
	while (nused < p->nwin_max && p->fetch_next < p->tree_size) {
		struct win *w = ct_rfc6962_win_free(p);
		uint64_t end = p->tree_size - 1;

		if (end - p->fetch_next + 1 > batch)
			end = p->fetch_next + batch - 1;
		if (w == NULL || (fw != NULL && !fetch_budget_room(f, coming +
		    win_cost(p, p->fetch_next, end))))
			break;
		memset(w, 0, sizeof(*w));
		w->used = 1;
		w->p = p;
		w->start = p->fetch_next;
		w->end = p->tree_size - 1;
		if (w->end - w->start + 1 > batch)
			w->end = w->start + batch - 1;
		if (w->start < p->hold_size && w->end >= p->hold_size)
			w->end = p->hold_size - 1;      /* none straddles it */
		p->fetch_next = w->end + 1;
		nused++;
		issue(p, w);
		coming += win_cost(p, w->start, w->end);
		fw = front(p);
		if (ct_pace_paused(&p->pace))
			return;
	}
}
