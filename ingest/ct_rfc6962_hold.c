/*
 * RFC 6962 entries checked against the signed tree heads.
 *
 * Once bound (ct_rfc6962.c), every entry's leaf is appended to the
 * frontier as it is published, and when the frontier reaches a verified
 * head its root must be that head's: a log whose get-entries serves
 * anything but its tree fails. (A catch-up range from before the first
 * such proof is not bound.)
 *
 * Close to a verified head (within HOLD_MAX entries, and what the window
 * slots beyond the fetch concurrency hold), that head becomes the hold
 * target: nothing below it is published until every entry up to it is in
 * and hashes to its root, so entries that are not in the log's tree are
 * never streamed. The target stays put while newer heads come; once
 * reached, the newest head close enough is the next. Further behind,
 * entries stream as they come and are checked on reaching the head, so
 * catching up stays in bounded memory.
 */
#include "ingest/ct_rfc6962_priv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* Entry idx is about to be published or passed: add its leaf to the
 * frontier. A leaf that cannot be hashed (not even base64) ends the binding
 * until the next proof. */
void
ct_rfc6962_bind_leaf(struct r6962 *p, uint64_t idx, const uint8_t *leaf,
    long leaf_len, const uint8_t *hashed)
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
	ct_rfc6962_halt(p);
}

/* The frontier reached the last verified head: its root must be the
 * head's. -1 (and the log failed) when the log served entries that are not
 * its tree. */
int
ct_rfc6962_check_bound(struct r6962 *p)
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
void
ct_rfc6962_hold_begin(struct r6962 *p)
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
		if ((w = ct_rfc6962_win_at(p, pos)) == NULL)     /* fill() requests it */
			return p->fetch_next <= pos && ct_rfc6962_win_free(p) != NULL &&
			    !fetch_budget_full(ct_fetch()) ? 1 : 2;
		if (!w->done)   /* one waiting for room may wait long */
			return w->req == NULL &&
			    fetch_budget_full(ct_fetch()) ? 2 : 1;
		if (w->n < w->end - w->start + 1)
			return ct_rfc6962_split(p, w) == 0 ? 1 : 2;
	}
	fr = p->fr;
	for (pos = fr.size; pos < p->hold_size; pos += w->n) {
		w = ct_rfc6962_win_at(p, pos);
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
			ct_rfc6962_win_again(p, w, w->start);
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
int
ct_rfc6962_hold_wait(struct r6962 *p)
{
	int r;

	ct_rfc6962_hold_begin(p);
	if (p->hold_size == 0 || p->hold_checked)
		return 0;
	if ((r = precheck(p)) == 0)
		p->hold_checked = 1;
	return r == 2 ? 0 : r;
}
