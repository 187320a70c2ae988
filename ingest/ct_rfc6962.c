/*
 * RFC 6962 log poller: get-sth, verify, get-entries windows, in-order publish.
 *
 * Windows: up to fetch_concurrency ranges [start, end] of the verified tree
 * are requested at once; each lands in its own slot. Only the window with
 * the lowest start (the front) is ever published, and only when its
 * response is in, so entries leave strictly in index order whatever order
 * the responses arrive in. A response shorter than asked is published and
 * the window shrinks to the remainder, which is requested again.
 *
 * Entries are bound to the signed tree heads: once the poller has published
 * exactly up to a verified head, the consistency proof to the next head also
 * gives the frontier of that tree (sth_consistency_frontier). From then on
 * every entry's leaf is appended as it is published, and when the frontier
 * reaches a verified head its root must be that head's: a log whose
 * get-entries serves anything but its tree fails. (A catch-up range from
 * before the first such proof is not bound.)
 *
 * Close to a verified head (within HOLD_MAX entries, and what the window
 * slots beyond the fetch concurrency hold), that head becomes the hold
 * target: nothing below it is published until every entry up to it is in
 * and hashes to its root, so entries that are not in the log's tree are
 * never streamed. The target stays put while newer heads come; once
 * reached, the newest head close enough is the next. Further behind,
 * entries stream as they come and are checked on reaching the head, so
 * catching up stays in bounded memory.
 *
 * Memory: every answer held (in or being received) counts against the
 * ingest's one budget (ct_log.memory_budget_bytes, kept by fetch.c). A
 * window is asked for only while the budget has room for what it and the
 * windows in flight are reckoned to bring (win_cost), except the front: it
 * is always asked, and its transfer is never cut for the budget, so the
 * log moves whatever the others hold. A hold whose entries
 * cannot all be in for the budget is not waited for: its front goes out and
 * the entries are checked on reaching the head, as further behind.
 */
#include "ingest/ct_rfc6962.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "common/log.h"
#include "ingest/ct_pace.h"
#include "ingest/fetch.h"

#define MAX_WINDOWS 64
#define HOLD_MAX 2048           /* entries held back for the head's check */
/* What a parsed entry costs beyond its bytes in the body: json-c's object
 * with its 16-slot hash table, two keys and two string objects. */
#define ENTRY_OVERHEAD 1024

struct win {
	int used;
	uint64_t start, end;        /* inclusive, within the verified tree */
	struct fetch_req *req;
	int done, failed;
	json_object *root;          /* the parsed body while done */
	json_object *entries;
	size_t n;
	size_t bytes;               /* counted against the budget while done */
	int attempts;               /* undecodable responses for this start */
	int slot;                   /* holds one of the operator's slots */
	struct r6962 *p;
	/* The hold check's work, kept for publishing so that no leaf is
	 * decoded or hashed twice: entry i < nlv has its leaf_input decoded
	 * at leaves + lv[i].off (lv[i].len, -1 when not base64) and, with
	 * lv[i].hashed, its leaf hash. */
	struct win_leaf {
		size_t off;
		long len;
		int hashed;
		uint8_t h[STH_HASH_LEN];
	} *lv;
	size_t nlv;
	uint8_t *leaves;
	size_t leaves_len, leaves_cap;
};

struct r6962 {
	struct ct_log *l;
	struct ct_pace pace;
	struct fetch_req *sth_req;
	uint64_t tree_size;         /* last verified */
	int have_tree;
	struct sth last;            /* the last verified STH, byte for byte */
	int fresh;                  /* a head verified by this run: fetch */
	struct sth pending;         /* signed, larger, awaiting its proof */
	struct fetch_req *cons_req; /* get-sth-consistency in flight */
	struct sth_frontier fr;     /* of entries 0..l->next-1, when bound */
	int bound;
	uint64_t hold_size;         /* the hold target's size; 0: none */
	uint8_t hold_root[STH_HASH_LEN];
	int hold_checked;           /* all below it in and checked (or not checkable) */
	uint64_t resp_cap;          /* largest short get-entries answer: the log's page */
	uint64_t fetch_next;        /* next index not yet in a window */
	size_t entry_bytes;         /* what the last answer cost an entry; 0: none yet */
	struct win win[MAX_WINDOWS];
	int nwin_max;
	struct ct_rfc6962_scratch scratch;
};

static void fill(struct r6962 *p);

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

static void
win_clear(struct win *w)
{
	if (w->slot)
		ct_pace_give(&w->p->pace);
	fetch_cancel(w->req);
	win_unhold(w);
	memset(w, 0, sizeof(*w));
}

/* Cancel everything: the log failed. */
static void
halt(struct r6962 *p)
{
	int i;

	fetch_cancel(p->sth_req);
	p->sth_req = NULL;
	fetch_cancel(p->cons_req);
	p->cons_req = NULL;
	for (i = 0; i < MAX_WINDOWS; i++)
		if (p->win[i].used)
			win_clear(&p->win[i]);
	p->hold_size = 0;
	ct_pace_halt(&p->pace);
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

/* Entry idx is about to be published or passed: add its leaf to the
 * frontier. A leaf that cannot be hashed (not even base64) ends the binding
 * until the next proof. */
static void
bind_leaf(struct r6962 *p, uint64_t idx, const uint8_t *leaf, long leaf_len,
    const uint8_t *hashed)
{
	uint8_t lh[STH_HASH_LEN];

	if (!p->bound)
		return;
	if (p->fr.size != idx) {
		log_warnx("log %s: frontier at %" PRIu64 ", entry %" PRIu64
		    ": entries no longer checked until the next tree head",
		    p->l->info.url, p->fr.size, idx);
		p->bound = 0;
	} else if (leaf_len < 0) {
		log_warnx("log %s: entry %" PRIu64 " has no leaf to hash: "
		    "entries no longer checked until the next tree head",
		    p->l->info.url, idx);
		p->bound = 0;
	} else if (hashed != NULL) {
		if (sth_frontier_append(&p->fr, hashed) < 0)
			p->bound = 0;
	} else if (leaf_hash_bytes(leaf, (size_t)leaf_len, 0, lh) < 0 ||
	    sth_frontier_append(&p->fr, lh) < 0) {
		p->bound = 0;
	}
}

/* The entries below the last verified head do not hash to it. */
static void
fail_tree(struct r6962 *p, uint64_t size, const char *what)
{
	ct_log_fail(p->l, 0, "the entries below %" PRIu64 " do not hash to the "
	    "signed tree head of that size: get-entries served entries that are "
	    "not in the log's tree%s", size, what);
	halt(p);
}

/* The frontier reached the last verified head: its root must be the
 * head's. -1 (and the log failed) when the log served entries that are not
 * its tree. */
static int
check_bound(struct r6962 *p)
{
	uint8_t root[STH_HASH_LEN];

	if (!p->bound || p->fr.size != p->last.tree_size)
		return 0;
	if (sth_frontier_root(&p->fr, root) < 0) {
		p->bound = 0;
		return 0;
	}
	if (memcmp(root, p->last.root_hash, STH_HASH_LEN) != 0) {
		fail_tree(p, p->last.tree_size, "");
		return -1;
	}
	return 0;
}

/* How far below a verified head entries may be held for its check: the
 * window slots beyond the fetch concurrency hold that many pieces of the
 * size the log answers (held windows are in, not in flight, so fill() does
 * not count them). */
static uint64_t
hold_limit(struct r6962 *p)
{
	const struct config *cfg = ct_config();
	uint64_t piece = (uint64_t)cfg->ct_log.batch_size, lim;
	int spare = MAX_WINDOWS - cfg->ct_log.fetch_concurrency;

	if (p->resp_cap != 0 && p->resp_cap < piece)
		piece = p->resp_cap;
	if (spare <= 0)
		return 0;
	lim = piece * (uint64_t)spare;
	return lim < HOLD_MAX ? lim : HOLD_MAX;
}

/* End a reached (or no longer checkable) hold target; take the last
 * verified head as the next one when it is close enough. */
static void
hold_begin(struct r6962 *p)
{
	uint64_t head = p->last.tree_size;

	if (p->hold_size != 0 && (!p->bound || p->fr.size >= p->hold_size))
		p->hold_size = 0;
	if (p->hold_size != 0 || !p->bound || p->fr.size >= head ||
	    head - p->fr.size > hold_limit(p))
		return;
	p->hold_size = head;
	memcpy(p->hold_root, p->last.root_hash, STH_HASH_LEN);
	p->hold_checked = 0;
}

static struct win *
win_at(struct r6962 *p, uint64_t start)
{
	int i;

	for (i = 0; i < MAX_WINDOWS; i++)
		if (p->win[i].used && p->win[i].start == start)
			return &p->win[i];
	return NULL;
}

static struct win *
win_free(struct r6962 *p)
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
static void
win_again(struct r6962 *p, struct win *w, uint64_t start)
{
	win_unhold(w);
	w->n = 0;
	w->done = 0;
	w->start = start;
	win_ask(p, w);
}

/* A short answer: the rest becomes a window of its own, so what came can
 * be held meanwhile. 0, or -1 when no slot is free. */
static int
split(struct r6962 *p, struct win *w)
{
	struct win *rest = win_free(p);

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

/* Entry i of w decoded (leaf_input) and hashed, once: kept for drain().
 * Entries are taken in order (i <= w->nlv). NULL when out of memory. */
static const struct win_leaf *
keep_leaf(struct win *w, size_t i)
{
	struct win_leaf *v;

	if (i < w->nlv)
		return &w->lv[i];
	if (w->lv == NULL && (w->lv = calloc(w->n, sizeof(*w->lv))) == NULL)
		return NULL;
	v = &w->lv[i];
	v->off = w->leaves_len;
	v->len = ct_rfc6962_b64_append(json_object_array_get_idx(w->entries, i),
	    "leaf_input", &w->leaves, &w->leaves_len, &w->leaves_cap);
	v->hashed = v->len >= 0 && leaf_hash_bytes(w->leaves + v->off,
	    (size_t)v->len, 0, v->h) == 0;
	w->nlv = i + 1;
	return v;
}

/* Every entry below the hold target in: hash them onto a copy of the
 * frontier and compare with the target's root. 1 while some are still to
 * come, 0 when they match, 2 when they cannot be checked now (no window
 * slot free, the memory budget used up before all are in, or a leaf that
 * stays unhashable: the front window goes out and the check is tried
 * again before the next), -1 when they do not match (the log failed; none
 * of them was published). */
static int
precheck(struct r6962 *p)
{
	uint64_t pos;
	uint8_t root[STH_HASH_LEN];
	struct sth_frontier fr;
	struct win *w;
	size_t i;

	for (pos = p->fr.size; pos < p->hold_size; pos += w->n) {
		if ((w = win_at(p, pos)) == NULL)     /* fill() requests it */
			return p->fetch_next <= pos && win_free(p) != NULL &&
			    !fetch_budget_full(ct_fetch()) ? 1 : 2;
		if (!w->done)   /* one waiting for room may wait long */
			return w->req == NULL &&
			    fetch_budget_full(ct_fetch()) ? 2 : 1;
		if (w->n < w->end - w->start + 1)
			return split(p, w) == 0 ? 1 : 2;
	}
	fr = p->fr;
	for (pos = fr.size; pos < p->hold_size; pos += w->n) {
		w = win_at(p, pos);
		for (i = 0; i < w->n && pos + i < p->hold_size; i++) {
			const struct win_leaf *v = keep_leaf(w, i);

			if (v == NULL)
				return 2;
			if (v->hashed && sth_frontier_append(&fr, v->h) == 0)
				continue;
			if (v->len >= 0 || w->attempts >=
			    ct_config()->ct_log.retry_max_attempts)
				return 2;
			/* Likely a damaged answer: the whole window again
			 * (nothing of it went out). */
			w->attempts++;
			ct_log_error(p->l, "entry %" PRIu64 ": %s", pos + i,
			    leaf_strerror(LEAF_ETRUNC));
			ct_pace_backoff(&p->pace, NULL);
			win_again(p, w, w->start);
			return 1;
		}
	}
	if (sth_frontier_root(&fr, root) < 0)
		return 2;
	if (memcmp(root, p->hold_root, STH_HASH_LEN) != 0) {
		fail_tree(p, p->hold_size, " (none of them was streamed)");
		return -1;
	}
	return 0;
}

/* Before publishing the front window: 1 to wait, 0 to go on, -1 failed. */
static int
hold_wait(struct r6962 *p)
{
	int r;

	hold_begin(p);
	if (p->hold_size == 0 || p->hold_checked)
		return 0;
	if ((r = precheck(p)) == 0)
		p->hold_checked = 1;
	return r == 2 ? 0 : r;
}

/* Publish complete windows from the front. */
static void
drain(struct r6962 *p)
{
	struct ct_log *l = p->l;
	struct win *w;
	int published = 0;

	while ((w = front(p)) != NULL && w->done) {
		uint64_t want = w->end - w->start + 1;
		size_t i;

		if (hold_wait(p) != 0)
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
				win_again(p, w, w->start + i);
				goto out;
			}
			bind_leaf(p, w->start + i, leaf, leaf_len,
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
			if (check_bound(p) < 0)
				goto out;
		}
		if (w->n < want) {
			/* short response: continue from the last index received */
			win_again(p, w, w->start + w->n);
		} else {
			win_clear(w);
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
		drain(p);
		if (!l->failed)
			fill(p);
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
		halt(p);
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
	hold_begin(p);
	if (n < want && w->start < p->hold_size)
		(void)split(p, w);      /* else precheck() tries again */
	ct_pace_ok(&p->pace);
	drain(p);
	if (!l->failed)
		fill(p);
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
static void
fill(struct r6962 *p)
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
	hold_begin(p);
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
		struct win *w = win_free(p);
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
				win_clear(&p->win[i]);
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
	drain(p);       /* held windows may wait for nothing more */
	if (!l->failed)
		fill(p);
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
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(l, "get-sth: %s", why);
		ct_pace_backoff(&p->pace, res);
		ct_pace_poll_later(&p->pace);
		return;
	}
	if (sth_parse(res->body, res->len, &sth, why, sizeof(why)) < 0) {
		ct_log_error(l, "%s", why);
		ct_pace_backoff(&p->pace, NULL);
		ct_pace_poll_later(&p->pace);
		return;
	}
	/* An STH identical to the last verified one needs no second check:
	 * idle logs then cost a request and a compare per poll. */
	if (l->has_key && !(p->have_tree && memcmp(&sth, &p->last,
	    sizeof(sth)) == 0) && sth_verify(&sth, &l->key, why,
	    sizeof(why)) < 0) {
		ct_log_fail(l, 1, "tree head %" PRIu64 ": %s", sth.tree_size, why);
		halt(p);
		return;
	}
	if (p->have_tree && sth.tree_size < p->tree_size) {
		ct_log_fail(l, 0, "tree shrank from %" PRIu64 " to %" PRIu64,
		    p->tree_size, sth.tree_size);
		halt(p);
		return;
	}
	if (l->have_next && sth.tree_size < l->next) {
		ct_log_fail(l, 0, "tree size %" PRIu64 " is below the %" PRIu64
		    " entries already streamed", sth.tree_size, l->next);
		halt(p);
		return;
	}
	if (p->have_tree && sth.tree_size == p->tree_size &&
	    memcmp(sth.root_hash, p->last.root_hash, STH_HASH_LEN) != 0) {
		ct_log_fail(l, 0, "two tree heads of size %" PRIu64 " with "
		    "different roots", sth.tree_size);
		halt(p);
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
		if (p->cons_req == NULL) {
			ct_log_error(l, "cannot start a request");
			ct_pace_backoff(&p->pace, NULL);
			ct_pace_poll_later(&p->pace);
		}
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
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(l, "get-sth-consistency: %s", why);
		ct_pace_backoff(&p->pace, res);
		ct_pace_poll_later(&p->pace);
		return;
	}
	n = sth_consistency_parse(res->body, res->len, proof, STH_PROOF_MAX, why,
	    sizeof(why));
	if (n < 0) {
		ct_log_error(l, "%s", why);
		ct_pace_backoff(&p->pace, NULL);
		ct_pace_poll_later(&p->pace);
		return;
	}
	if (sth_consistency_verify(p->last.tree_size, p->last.root_hash,
	    p->pending.tree_size, p->pending.root_hash, proof, (size_t)n, why,
	    sizeof(why)) < 0) {
		ct_log_fail(l, 0, "tree %" PRIu64 " does not extend tree %" PRIu64
		    ": %s", p->pending.tree_size, p->last.tree_size, why);
		halt(p);
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
	if (p->sth_req == NULL) {
		ct_log_error(p->l, "cannot start a request");
		ct_pace_backoff(&p->pace, NULL);
		ct_pace_poll_later(&p->pace);
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct r6962 *p = arg;

	(void)fd;
	(void)what;
	if (ct_pace_retry_later(&p->pace))
		return;
	fill(p);
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
	halt(p);
	ct_pace_fini(&p->pace);
	ct_rfc6962_scratch_fini(&p->scratch);
	free(p);
	l->poller = NULL;
}
