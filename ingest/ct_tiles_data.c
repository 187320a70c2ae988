/*
 * static-ct-api data tiles: asked for from the newest checkpoint (every
 * full tile below it, and the partial tile at its edge only when no tile
 * has completed for ct_log.partial_tile_wait_ms: never the same width
 * twice, and only the new bytes when the log answers Range), then
 * published in index order.
 *
 * A partial tile that answers 404 is gone because its full tile exists
 * (tlog-tiles lets a log delete partials): the full tile is asked instead.
 *
 * A tile is published in passes: decode every leaf (count, leaf_index),
 * prove its leaf hashes in the tree, fetch any issuer not cached (only for
 * a proven tile), then resolve the chains and publish.
 */
#include "ingest/ct_tiles_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "shm/atomics.h"

/* Free w's body, and its bytes in the memory budget. */
static void
win_unhold(struct twin *w)
{
	if (w->body != NULL)
		fetch_hold(ct_fetch(), 0, w->len);
	free(w->body);
	w->body = NULL;
}

void
ct_tiles_win_clear(struct twin *w)
{
	if (w->slot)
		ct_pace_give(&w->t->pace);
	fetch_cancel(w->req);
	win_unhold(w);
	memset(w, 0, sizeof(*w));
}

void
ct_tiles_edge_free(struct tiles *t)
{
	if (t->edge.body != NULL)
		fetch_hold(ct_fetch(), 0, t->edge.len);
	free(t->edge.body);
	memset(&t->edge, 0, sizeof(t->edge));
}

static struct twin *
front(struct tiles *t)
{
	struct twin *f = NULL;
	int i;

	for (i = 0; i < CT_TILES_MAX_WINDOWS; i++)
		if (t->win[i].used && (f == NULL || t->win[i].from < f->from))
			f = &t->win[i];
	return f;
}

static void on_tile(void *arg, const struct fetch_res *res);

static void
issue(struct tiles *t, struct twin *w)
{
	char url[CONFIG_STR + 96], path[64];

	ct_tiles_path(w->tile, path, sizeof(path));
	if (w->width < CT_TILE_WIDTH)
		snprintf(url, sizeof(url), "%stile/data/%s.p/%" PRIu64,
		    t->l->info.url, path, w->width);
	else
		snprintf(url, sizeof(url), "%stile/data/%s", t->l->info.url, path);
	/* the operator's budget: asked again by fill() once a slot frees */
	if (!w->slot && !ct_pace_take(&t->pace)) {
		w->failed = 1;
		return;
	}
	w->slot = 1;
	w->failed = 0;
	/* The bytes of this tile's last partial are a prefix of this one:
	 * ask only for what follows them. */
	w->base = 0;
	if (!t->no_range && t->edge.body != NULL && t->edge.tile == w->tile &&
	    t->edge.width < w->width)
		w->base = t->edge.len;
	if (w->base > 0)
		w->req = fetch_get_from(ct_fetch(), url, w->base, on_tile, w);
	else
		w->req = fetch_get(ct_fetch(), url, on_tile, w);
	/* the front is never cut: the log must always move */
	fetch_cuttable(w->req, w != front(t));
	if (w->req == NULL) {
		w->failed = 1;
		w->slot = 0;
		ct_pace_give(&t->pace);
		ct_log_error(t->l, "cannot start a request");
		ct_pace_backoff(&t->pace, NULL);
	} else {
		/* relaxed: a statistic */
		shm_fetch_add(&ct_ingest_stats()->tiles_fetched, 1, relaxed);
	}
}

/*
 * Pass 1 over a tile: count and leaf_index. 1 when it decodes as the tile
 * it should be, -1 when the log failed or the tile must be fetched again.
 */
static int
check_tile(struct tiles *t, struct twin *w)
{
	struct ct_log *l = t->l;
	uint64_t base = w->tile * CT_TILE_WIDTH, k = 0;
	size_t off = 0;
	int rc;

	while (off < w->len) {
		struct leaf_entry e;

		rc = leaf_decode_tile(w->body, w->len, &off, NULL, NULL, &e);
		if (rc == LEAF_EEXT && k < w->width) {
			ct_log_fail(l, 0, "data tile %" PRIu64 " entry %" PRIu64
			    ": %s", w->tile, base + k, leaf_strerror(rc));
			return -1;
		}
		if (rc != LEAF_OK) {
			if (++w->attempts <= ct_config()->ct_log.retry_max_attempts) {
				ct_log_error(l, "data tile %" PRIu64 ": %s", w->tile,
				    leaf_strerror(rc));
				win_unhold(w);
				w->len = 0;
				w->done = 0;
				w->failed = 1;
				/* the kept prefix may be what is wrong */
				if (w->base > 0)
					t->no_range = 1;
				ct_pace_backoff(&t->pace, NULL);
				return -1;
			}
			ct_log_fail(l, 0, "data tile %" PRIu64 " undecodable: %s",
			    w->tile, leaf_strerror(rc));
			return -1;
		}
		if (k >= w->width)
			break;
		if (!e.has_index || e.index != base + k) {
			ct_log_fail(l, 0, "data tile %" PRIu64 ": leaf %" PRIu64
			    " says index %" PRIu64, w->tile, base + k, e.index);
			return -1;
		}
		k++;
	}
	if (k != w->width || off != w->len) {
		ct_log_fail(l, 0, "data tile %" PRIu64 " holds %s%" PRIu64
		    " entries, the checkpoint says %" PRIu64, w->tile,
		    off != w->len ? "more than " : "", k, w->width);
		return -1;
	}
	return 1;
}

/* Are the leaves of data tile w in the proven tree? 1, 0 (waiting for a
 * tree that holds them, or for hash tiles), -1 (the log failed). */
static int
verify_tile(struct tiles *t, struct twin *w)
{
	const uint8_t *h0;
	uint8_t lh[STH_HASH_LEN];
	uint64_t k;
	size_t off = 0;
	int rc;

	if (!t->have_tree || t->tree.size < w->tile * CT_TILE_WIDTH + w->width)
		return 0;
	if ((rc = ct_tiles_verify_root(t, t->tree.size, t->tree.root)) <= 0)
		return rc;
	rc = ct_tiles_bound(t, 0, w->tile, t->tree.size, &h0);
	if (rc < 0) {
		ct_log_fail(t->l, 0, "hash tiles above data tile %" PRIu64 " do "
		    "not match the tree", w->tile);
		return -1;
	}
	if (rc == 0)
		return 0;
	for (k = 0; k < w->width; k++) {
		struct leaf_entry e;

		if (leaf_decode_tile(w->body, w->len, &off, NULL, NULL, &e) !=
		    LEAF_OK || leaf_hash(&e, lh) < 0)
			return 0;  /* pass 1 decoded it: cannot happen */
		if (memcmp(lh, h0 + k * STH_HASH_LEN, STH_HASH_LEN) != 0) {
			ct_log_fail(t->l, 0, "data tile %" PRIu64 " entry %" PRIu64
			    " does not match the tree", w->tile,
			    w->tile * CT_TILE_WIDTH + k);
			return -1;
		}
	}
	return 1;
}

/* Ask for the issuers of the entries to publish; 0 when all are in. */
static int
want_issuers(struct tiles *t, struct twin *w)
{
	uint64_t base = w->tile * CT_TILE_WIDTH, k;
	size_t off = 0, j;
	int missing = 0;

	for (k = 0; k < w->width; k++) {
		struct leaf_entry e;

		if (leaf_decode_tile(w->body, w->len, &off, NULL, NULL, &e) !=
		    LEAF_OK)
			break;
		if (base + k >= t->l->next)
			for (j = 0; j < e.nchain_fp; j++)
				missing += ct_tiles_need_issuer(t,
				    e.chain_fp + j * LEAF_FP_LEN);
	}
	return missing;
}

/* The published partial's bytes are kept to extend it by range; a full
 * tile makes them useless. Takes w's body when it is kept. */
static void
keep_edge(struct tiles *t, struct twin *w)
{
	if (t->edge.body != NULL && t->edge.tile <= w->tile)
		ct_tiles_edge_free(t);
	if (w->width < CT_TILE_WIDTH) {
		t->edge.tile = w->tile;
		t->edge.width = w->width;
		t->edge.body = w->body;
		t->edge.len = w->len;
		w->body = NULL;
	}
}

void
ct_tiles_drain(struct tiles *t)
{
	struct ct_log *l = t->l;
	struct twin *w;
	int published = 0, rc;

	while (!l->failed && (w = front(t)) != NULL && w->done) {
		uint64_t base = w->tile * CT_TILE_WIDTH, k;
		size_t off = 0;

		if (!w->checked) {
			if (check_tile(t, w) < 0) {
				if (l->failed)
					ct_tiles_halt(t);
				break;
			}
			w->checked = 1;
		}
		if (!w->verified) {
			rc = verify_tile(t, w);
			if (rc < 0)
				ct_tiles_halt(t);
			if (rc <= 0)
				break;  /* a tree or hash tiles on their way */
			w->verified = 1;
		}
		if (want_issuers(t, w) > 0)
			break;
		for (k = 0; k < w->width; k++) {
			struct leaf_entry e;

			/* Chains are resolved only for the entries published:
			 * issuers of earlier ones were never fetched. */
			rc = leaf_decode_tile(w->body, w->len, &off, NULL, NULL, &e);
			if (rc != LEAF_OK)
				break;  /* cannot happen: pass 1 decoded it */
			if (base + k < l->next)
				continue;
			if (leaf_resolve_chain(&e, issuer_cache_lookup,
			    &t->cache) != LEAF_OK)
				break;  /* an issuer was evicted: the next pass asks */
			ct_publish(l, &e);
			published++;
		}
		if (k < w->width)
			break;
		keep_edge(t, w);
		ct_tiles_win_clear(w);
	}
	if (published)
		ct_flush();
}

/* A range answer is the kept partial followed by the new bytes. NULL when
 * the kept partial changed meanwhile, or (*bad set) when the answer is not
 * the range asked for. */
static uint8_t *
join_edge(struct tiles *t, struct twin *w, const struct fetch_res *res,
    int *bad)
{
	uint8_t *b;

	*bad = 0;
	if (t->edge.body == NULL || t->edge.tile != w->tile ||
	    t->edge.len != w->base)
		return NULL;
	if (res->encoded || res->range_start != (long long)w->base) {
		*bad = 1;
		return NULL;
	}
	if ((b = malloc(w->base + res->len + 1)) == NULL) {
		*bad = 1;
		return NULL;
	}
	memcpy(b, t->edge.body, w->base);
	memcpy(b + w->base, res->body, res->len);
	w->len = w->base + res->len;
	return b;
}

static void
on_tile(void *arg, const struct fetch_res *res)
{
	struct twin *w = arg;
	struct tiles *t = w->t;
	char why[256];
	int bad;

	w->req = NULL;
	w->slot = 0;
	ct_pace_give(&t->pace);
	if (res->over_budget) {
		/* Not the log's fault: asked again once there is room (the
		 * front at once: it may have become the front in flight). */
		w->failed = 1;
		ct_tiles_fill(t);
		return;
	}
	if (res->ok && res->status == 404 && w->width < CT_TILE_WIDTH) {
		/* A partial is deleted once its full tile exists: ask for
		 * that; it is published once a checkpoint covers it. */
		log_debug("log %s: data tile %" PRIu64 ".p/%" PRIu64 " is gone; "
		    "asking for the full tile", t->l->info.url, w->tile, w->width);
		w->width = CT_TILE_WIDTH;
		if (t->fetch_next < (w->tile + 1) * CT_TILE_WIDTH)
			t->fetch_next = (w->tile + 1) * CT_TILE_WIDTH;
		issue(t, w);
		return;
	}
	if (!res->ok || (res->status != 200 && res->status != 206) ||
	    (res->status == 206 && w->base == 0)) {
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(t->l, "data tile %" PRIu64 "%s: %s", w->tile,
		    w->width < CT_TILE_WIDTH ? " (partial)" : "", why);
		w->failed = 1;
		ct_pace_backoff(&t->pace, res);
		return;
	}
	if (res->status == 206) {
		if ((w->body = join_edge(t, w, res, &bad)) == NULL) {
			/* not the bytes asked for: whole tiles from now on */
			if (bad)
				t->no_range = 1;
			issue(t, w);
			return;
		}
	} else {
		w->body = malloc(res->len ? res->len : 1);
		if (w->body != NULL) {
			memcpy(w->body, res->body, res->len);
			w->len = res->len;
		}
	}
	if (w->body != NULL) {
		fetch_hold(ct_fetch(), w->len, 0);
		if (w->width == CT_TILE_WIDTH)
			t->tile_bytes = w->len;
	}
	if (w->body == NULL) {
		ct_log_error(t->l, "out of memory");
		w->failed = 1;
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	w->done = 1;
	ct_pace_ok(&t->pace);
	ct_tiles_progress(t);
}

static struct twin *
new_window(struct tiles *t, uint64_t from, uint64_t width)
{
	int i;

	for (i = 0; i < CT_TILES_MAX_WINDOWS; i++) {
		struct twin *w = &t->win[i];

		if (!w->used) {
			memset(w, 0, sizeof(*w));
			w->used = 1;
			w->t = t;
			w->tile = from / CT_TILE_WIDTH;
			w->width = width;
			w->from = from;
			return w;
		}
	}
	return NULL;
}

/*
 * The partial at the edge of `latest` is worth asking for: no tile has
 * completed for partial_tile_wait_ms (a busy log completes one every few
 * seconds, and its full tiles cost nothing twice), it is wider than the
 * last one asked for, and no earlier window is still to come.
 */
static int
partial_due(struct tiles *t, uint64_t tile, uint64_t width)
{
	int64_t wait = ct_config()->ct_log.partial_tile_wait_ms;
	int64_t since = t->tile_done_at > t->edge_at ? t->tile_done_at :
	    t->edge_at;

	if (width == 0 || (t->asked_tile == tile && width <= t->asked_width))
		return 0;
	return clock_mono_ms() - since >= wait;
}

/* The bytes a data tile is reckoned to bring: the last full tile's, or
 * the body cap before any came. */
static size_t
tile_cost(const struct tiles *t)
{
	size_t cap = (size_t)ct_config()->ct_log.max_response_bytes;

	return t->tile_bytes != 0 && t->tile_bytes < cap ? t->tile_bytes : cap;
}

/* Ask for the tiles the newest head names beyond what is in flight, while
 * the memory budget has room for what those in flight and the next one
 * are reckoned to bring; the front window always. */
void
ct_tiles_fill(struct tiles *t)
{
	const struct config *cfg = ct_config();
	struct ct_log *l = t->l;
	struct fetch *f = ct_fetch();
	struct twin *fw;
	size_t coming = 0;          /* reckoned bytes of the windows in flight */
	int i, nused = 0, nmax = cfg->ct_log.fetch_concurrency;
	uint64_t full_end;

	if (l->failed || ct_pace_paused(&t->pace) || !t->have_latest ||
	    !l->have_next)
		return;
	if (t->fetch_next < l->next)
		t->fetch_next = l->next;
	if (nmax > CT_TILES_MAX_WINDOWS)
		nmax = CT_TILES_MAX_WINDOWS;
	fw = front(t);
	for (i = 0; i < CT_TILES_MAX_WINDOWS; i++) {
		struct twin *w = &t->win[i];

		if (!w->used)
			continue;
		nused++;
		if (w == fw)
			fetch_cuttable(w->req, 0);      /* the front since it was asked */
		if (w->failed && w->req == NULL && !w->done &&
		    (w == fw || fetch_budget_room(f, coming + tile_cost(t))))
			issue(t, w);
		if (w->req != NULL)
			coming += tile_cost(t);
		if (ct_pace_paused(&t->pace))
			return;
	}
	full_end = t->latest.size / CT_TILE_WIDTH * CT_TILE_WIDTH;
	while (nused < nmax && t->fetch_next < t->latest.size &&
	    (fw == NULL || fetch_budget_room(f, coming + tile_cost(t)))) {
		uint64_t n = t->fetch_next / CT_TILE_WIDTH, width;
		struct twin *w;

		if (t->fetch_next < full_end) {
			width = CT_TILE_WIDTH;
		} else {
			width = t->latest.size - n * CT_TILE_WIDTH;
			if (!partial_due(t, n, width))
				break;
			t->asked_tile = n;
			t->asked_width = width;
			t->edge_at = clock_mono_ms();
		}
		if ((w = new_window(t, t->fetch_next, width)) == NULL)
			break;
		t->fetch_next = n * CT_TILE_WIDTH + width;
		nused++;
		issue(t, w);
		coming += tile_cost(t);
		fw = front(t);
		if (ct_pace_paused(&t->pace))
			return;
	}
}
