/*
 * static-ct-api log poller: checkpoints, data tiles, issuers, publishing.
 *
 * A real static log never stops growing: every checkpoint asked for is
 * bigger than the last, and its right-edge hash tiles differ. So a
 * checkpoint whose signature verifies becomes `latest` at once, and data
 * tiles are asked for from it straight away: every full tile below it, and
 * the partial tile at its edge only when no tile has completed for
 * ct_log.partial_tile_wait_ms (never the same width twice; only the new
 * bytes when the log answers Range). One checkpoint at a time is proven
 * (`pending`: its root from the hash tiles, and that it extends the last
 * proven tree); it stays the target until proven however far the log
 * moves meanwhile, then the newest one is taken up. Tiles are published,
 * in index order, once proven against the last proven tree (`tree`).
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"

static void fill(struct tiles *t);
static void drain(struct tiles *t);

void
ct_tiles_path(uint64_t n, char *buf, size_t len)
{
	char tmp[64];
	size_t off = 0;
	int i, ngroups = 1;
	uint64_t x = n;
	unsigned g[8];

	while (x >= 1000 && ngroups < 8) {
		x /= 1000;
		ngroups++;
	}
	x = n;
	for (i = ngroups - 1; i >= 0; i--) {
		g[i] = (unsigned)(x % 1000);
		x /= 1000;
	}
	for (i = 0; i < ngroups; i++)
		off += (size_t)snprintf(tmp + off, sizeof(tmp) - off, "%s%03u%s",
		    i < ngroups - 1 ? "x" : "", g[i], i < ngroups - 1 ? "/" : "");
	snprintf(buf, len, "%s", tmp);
}

/* Free w's body, and its bytes in the memory budget. */
static void
win_unhold(struct twin *w)
{
	if (w->body != NULL)
		fetch_hold(ct_fetch(), 0, w->len);
	free(w->body);
	w->body = NULL;
}

static void
win_clear(struct twin *w)
{
	if (w->slot)
		ct_pace_give(&w->t->pace);
	fetch_cancel(w->req);
	win_unhold(w);
	memset(w, 0, sizeof(*w));
}

static void
edge_free(struct tiles *t)
{
	if (t->edge.body != NULL)
		fetch_hold(ct_fetch(), 0, t->edge.len);
	free(t->edge.body);
	memset(&t->edge, 0, sizeof(t->edge));
}

void
ct_tiles_halt(struct tiles *t)
{
	int i;

	fetch_cancel(t->cp_req);
	t->cp_req = NULL;
	for (i = 0; i < CT_TILES_MAX_WINDOWS; i++)
		if (t->win[i].used)
			win_clear(&t->win[i]);
	for (i = 0; i < CT_TILES_MAX_IREQ; i++) {
		if (t->ireq[i].used) {
			fetch_cancel(t->ireq[i].req);
			memset(&t->ireq[i], 0, sizeof(t->ireq[i]));
		}
	}
	ct_tiles_hash_halt(t);
	ct_pace_halt(&t->pace);
}

/* ---- issuers ---- */

static void
on_issuer(void *arg, const struct fetch_res *res)
{
	struct ireq *r = arg;
	struct tiles *t = r->t;
	uint8_t fp[LEAF_FP_LEN], md[SHA256_DIGEST_LENGTH];
	uint8_t *der;
	char why[256];

	memcpy(fp, r->fp, sizeof(fp));
	memset(r, 0, sizeof(*r));
	if (!res->ok || res->status != 200) {
		if (res->too_large)
			snprintf(why, sizeof(why), "over %d bytes: not an issuer "
			    "certificate", ISSUER_MAX_BYTES);
		else
			ct_pace_describe(why, sizeof(why), res);
		ct_log_error(t->l, "issuer %02x%02x%02x%02x...: %s", fp[0], fp[1],
		    fp[2], fp[3], why);
		ct_pace_backoff(&t->pace, res);
		return;
	}
	SHA256((const uint8_t *)res->body, res->len, md);
	if (memcmp(md, fp, sizeof(md)) != 0) {
		ct_log_error(t->l, "issuer %02x%02x%02x%02x...: body does not hash "
		    "to its fingerprint", fp[0], fp[1], fp[2], fp[3]);
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	der = malloc(res->len ? res->len : 1);
	if (der == NULL) {
		ct_log_error(t->l, "out of memory");
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	memcpy(der, res->body, res->len);
	{
		size_t before = t->cache.n, after;

		after = issuer_cache_add(&t->cache, fp, der, res->len);
		if (after > before)
			atomic_fetch_add(&ct_ingest_stats()->issuer_cache_size,
			    after - before);
		else
			atomic_fetch_sub(&ct_ingest_stats()->issuer_cache_size,
			    before - after);
	}
	ct_pace_ok(&t->pace);
	ct_tiles_progress(t);
}

/* Ask for fp unless cached or asked. 0 when it is cached. */
static int
need_issuer(struct tiles *t, const uint8_t *fp)
{
	char url[CONFIG_STR + 96];
	size_t off;
	int i, slot = -1;

	if (issuer_cache_find(&t->cache, fp) != NULL)
		return 0;
	for (i = 0; i < CT_TILES_MAX_IREQ; i++) {
		if (t->ireq[i].used && memcmp(t->ireq[i].fp, fp, LEAF_FP_LEN) == 0)
			return 1;
		if (!t->ireq[i].used && slot < 0)
			slot = i;
	}
	if (slot < 0 || ct_pace_paused(&t->pace))
		return 1;  /* asked on a later pass */
	off = (size_t)snprintf(url, sizeof(url), "%sissuer/", t->l->info.url);
	for (i = 0; i < LEAF_FP_LEN && off + 3 < sizeof(url); i++)
		off += (size_t)snprintf(url + off, sizeof(url) - off, "%02x", fp[i]);
	t->ireq[slot].used = 1;
	t->ireq[slot].t = t;
	memcpy(t->ireq[slot].fp, fp, LEAF_FP_LEN);
	t->ireq[slot].req = fetch_get_small(ct_fetch(), url, ISSUER_MAX_BYTES,
	    on_issuer, &t->ireq[slot]);
	if (t->ireq[slot].req == NULL) {
		memset(&t->ireq[slot], 0, sizeof(t->ireq[slot]));
		ct_log_error(t->l, "cannot start a request");
		ct_pace_backoff(&t->pace, NULL);
	}
	return 1;
}

/* ---- data tiles ---- */

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
		atomic_fetch_add(&ct_ingest_stats()->tiles_fetched, 1);
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
				missing += need_issuer(t, e.chain_fp + j * LEAF_FP_LEN);
	}
	return missing;
}

/* The published partial's bytes are kept to extend it by range; a full
 * tile makes them useless. Takes w's body when it is kept. */
static void
keep_edge(struct tiles *t, struct twin *w)
{
	if (t->edge.body != NULL && t->edge.tile <= w->tile)
		edge_free(t);
	if (w->width < CT_TILE_WIDTH) {
		t->edge.tile = w->tile;
		t->edge.width = w->width;
		t->edge.body = w->body;
		t->edge.len = w->len;
		w->body = NULL;
	}
}

static void
drain(struct tiles *t)
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
		win_clear(w);
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
		fill(t);
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
static void
fill(struct tiles *t)
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

/* Prove the pending tree head; once proven it is the tree tiles are
 * checked against, and the newest head is proven next if tiles beyond
 * the tree are wanted. 0, or -1 (the log failed). */
static int
adopt(struct tiles *t)
{
	struct ct_log *l = t->l;
	int rc;

	for (;;) {
		if (!t->have_pending) {
			/* the first head is proven at once: it sets the
			 * resume point; later ones when tiles need them */
			if (!t->have_latest || (t->have_tree &&
			    (t->latest.size <= t->tree.size ||
			    t->fetch_next <= t->tree.size)))
				return 0;
			t->pending = t->latest;
			t->have_pending = 1;
		}
		if ((rc = ct_tiles_successor(t, &t->pending)) < 0)
			return -1;
		if (rc == 0)
			return 0;
		t->tree = t->pending;
		t->have_tree = 1;
		t->have_pending = 0;
		ct_log_verified(l, t->tree.size, t->tree.root);
		if (!l->have_next) {
			ct_log_first_head(l, t->tree.size);
			t->fetch_next = l->next;
		}
		/* tiles below a skip are passed as they drain */
		if (ct_log_catchup(l, t->tree.size) && t->fetch_next < l->next)
			t->fetch_next = l->next;
	}
}

void
ct_tiles_progress(struct tiles *t)
{
	if (t->l->failed)
		return;
	if (adopt(t) < 0) {
		ct_tiles_halt(t);
		return;
	}
	drain(t);
	if (t->l->failed)
		return;
	fill(t);
	/* tiles just asked for may want the newest head proven */
	if (adopt(t) < 0) {
		ct_tiles_halt(t);
		return;
	}
	ct_log_ok(t->l, t->latest.size);
}

/* A checkpoint older than one already seen: a stale cache in front of
 * the log, not a lie (both are signed), unless nothing newer comes for a
 * long while. */
static void
stale(struct tiles *t, const struct checkpoint *cp)
{
	int64_t now = clock_mono_ms();
	int64_t grace = 2000LL * ct_config()->ct_log.request_timeout_secs;

	if (t->stale_since == 0)
		t->stale_since = now;
	if (now - t->stale_since >= grace)
		ct_log_error(t->l, "checkpoint of tree %" PRIu64 " served for %lld s"
		    " after one of tree %" PRIu64, cp->size,
		    (long long)(now - t->stale_since) / 1000, t->latest.size);
}

static void
on_checkpoint(void *arg, const struct fetch_res *res)
{
	struct tiles *t = arg;
	struct ct_log *l = t->l;
	struct checkpoint cp;
	uint8_t md[SHA256_DIGEST_LENGTH];
	char why[256];

	t->cp_req = NULL;
	ct_pace_poll_later(&t->pace);
	if (!res->ok || res->status != 200) {
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(l, "checkpoint: %s", why);
		ct_pace_backoff(&t->pace, res);
		return;
	}
	SHA256((const uint8_t *)res->body, res->len, md);
	if (t->have_latest && memcmp(md, t->last_note, sizeof(md)) == 0) {
		/* the very note verified last time: nothing new */
		ct_tiles_progress(t);
		return;
	}
	if (l->has_key) {
		if (checkpoint_verify(res->body, res->len, &l->key,
		    l->info.origin, &cp, why, sizeof(why)) < 0) {
			/* A body that is not a note at all may be a damaged
			 * response; a note that does not verify is a lie. */
			if (strstr(why, "signature") != NULL ||
			    strstr(why, "origin") != NULL) {
				ct_log_fail(l, 1, "%s", why);
				ct_tiles_halt(t);
				return;
			}
			ct_log_error(l, "%s", why);
			ct_pace_backoff(&t->pace, NULL);
			return;
		}
	} else if (checkpoint_parse(res->body, res->len, &cp, why,
	    sizeof(why)) < 0) {
		ct_log_error(l, "%s", why);
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	if (t->have_latest && cp.size == t->latest.size &&
	    memcmp(cp.root_hash, t->latest.root, STH_HASH_LEN) != 0) {
		ct_log_fail(l, 0, "fork: two checkpoints of tree %" PRIu64
		    " with different roots", cp.size);
		ct_tiles_halt(t);
		return;
	}
	if (t->have_latest && cp.size < t->latest.size) {
		stale(t, &cp);
		ct_tiles_progress(t);
		return;
	}
	t->stale_since = 0;
	if (l->have_next && cp.size < l->next) {
		ct_log_fail(l, 0, "tree size %" PRIu64 " is below the %" PRIu64
		    " entries already streamed", cp.size, l->next);
		ct_tiles_halt(t);
		return;
	}
	if (!t->have_latest ||
	    cp.size / CT_TILE_WIDTH > t->latest.size / CT_TILE_WIDTH)
		t->tile_done_at = clock_mono_ms();
	t->latest.size = cp.size;
	memcpy(t->latest.root, cp.root_hash, STH_HASH_LEN);
	t->have_latest = 1;
	memcpy(t->last_note, md, sizeof(md));
	ct_tiles_progress(t);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct tiles *t = arg;
	char url[CONFIG_STR + 32];

	(void)fd;
	(void)what;
	if (t->l->failed || t->cp_req != NULL)
		return;
	if (ct_pace_paused(&t->pace)) {
		ct_pace_poll_later(&t->pace);
		return;
	}
	snprintf(url, sizeof(url), "%scheckpoint", t->l->info.url);
	t->cp_req = fetch_get(ct_fetch(), url, on_checkpoint, t);
	if (t->cp_req == NULL) {
		ct_log_error(t->l, "cannot start a request");
		ct_pace_backoff(&t->pace, NULL);
		ct_pace_poll_later(&t->pace);
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct tiles *t = arg;

	(void)fd;
	(void)what;
	if (ct_pace_retry_later(&t->pace))
		return;
	ct_tiles_progress(t);
}

int
ct_tiles_start(struct ct_log *l)
{
	struct tiles *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		log_warn("%s: calloc", __func__);
		return -1;
	}
	t->l = l;
	t->tile_done_at = clock_mono_ms();
	if (ct_pace_init(&t->pace, ct_base(), on_poll, on_retry, t) < 0) {
		free(t);
		return -1;
	}
	if (ct_pace_join(&t->pace, l->info.operator_name) < 0) {
		ct_pace_fini(&t->pace);
		free(t);
		return -1;
	}
	l->poller = t;
	return 0;
}

void
ct_tiles_stop(struct ct_log *l)
{
	struct tiles *t = l->poller;

	if (t == NULL)
		return;
	ct_tiles_halt(t);
	ct_pace_fini(&t->pace);
	atomic_fetch_sub(&ct_ingest_stats()->issuer_cache_size, t->cache.n);
	issuer_cache_free(&t->cache);
	ct_tiles_hash_free(t);
	edge_free(t);
	free(t);
	l->poller = NULL;
}
