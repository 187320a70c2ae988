/*
 * Hash tiles of a static-ct-api log and what is proven with them: a
 * checkpoint's root recomputed from the right-edge tiles of every level, a
 * data tile's hashes bound to that root through the full tiles above it,
 * and a new tree shown to extend the last one (its old root recomputed
 * from the new tree's tiles) without any proof endpoint.
 *
 * Tree nodes of level 8L are stored in hash tiles of level L (tlog-tiles).
 * A tile already held narrower is widened by asking only for the hashes
 * past the ones held (Range), so a growing tree costs 32 bytes a leaf.
 */
#include "ingest/ct_tiles_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ct_tiles_subtree(const uint8_t *h, unsigned n, uint8_t out[STH_HASH_LEN])
{
	uint8_t buf[CT_TILE_WIDTH][STH_HASH_LEN];
	unsigned i;

	memcpy(buf, h, (size_t)n * STH_HASH_LEN);
	for (; n > 1; n /= 2)
		for (i = 0; i < n / 2; i++)
			sth_node_hash(buf[2 * i], buf[2 * i + 1], buf[i]);
	memcpy(out, buf[0], STH_HASH_LEN);
}

/* The widest cached copy of tile (level, idx), or NULL. */
static struct htile *
htile_get(struct tiles *t, unsigned level, uint64_t idx)
{
	int i;

	for (i = 0; i < CT_TILES_HT_CACHE; i++) {
		struct htile *h = &t->ht[i];

		if (h->used && h->level == level && h->idx == idx)
			return h;
	}
	return NULL;
}

/* Hashes of tile (level, idx), at least width of them, if cached. */
static const uint8_t *
htile_find(struct tiles *t, unsigned level, uint64_t idx, unsigned width)
{
	struct htile *h = htile_get(t, level, idx);

	if (h == NULL || h->width < width)
		return NULL;
	h->tick = ++t->tick;
	return h->h;
}

/* Keep h (owned) as tile (level, idx); a narrower copy is replaced, and
 * must be a prefix of the new one: a log whose tiles change under the
 * same index has forked. 0, or -1 (the log failed). */
static int
htile_add(struct tiles *t, unsigned level, uint64_t idx, unsigned width,
    uint8_t *h)
{
	struct htile *v = htile_get(t, level, idx);
	int i;

	if (v != NULL) {
		unsigned same = v->width < width ? v->width : width;

		if (memcmp(v->h, h, (size_t)same * STH_HASH_LEN) != 0) {
			free(h);
			ct_log_fail(t->l, 0, "fork: hash tile %u/%" PRIu64 " changed: "
			    "its first %u hashes differ from the ones served "
			    "before", level, idx, same);
			return -1;
		}
		if (v->width >= width) {
			free(h);
			return 0;
		}
	} else {
		v = &t->ht[0];
		for (i = 0; i < CT_TILES_HT_CACHE; i++) {
			if (!t->ht[i].used) {
				v = &t->ht[i];
				break;
			}
			if (t->ht[i].tick < v->tick)
				v = &t->ht[i];
		}
	}
	fetch_hold(ct_fetch(), (size_t)width * STH_HASH_LEN, v->used ?
	    (size_t)v->width * STH_HASH_LEN : 0);
	free(v->h);
	v->used = 1;
	v->level = level;
	v->idx = idx;
	v->width = width;
	v->h = h;
	v->tick = ++t->tick;
	return 0;
}

static void on_htile(void *arg, const struct fetch_res *res);

static void
htile_issue(struct tiles *t, struct hreq *r)
{
	char url[CONFIG_STR + 96], path[64];
	struct htile *have = htile_get(t, r->level, r->idx);

	ct_tiles_path(r->idx, path, sizeof(path));
	if (r->width < CT_TILE_WIDTH)
		snprintf(url, sizeof(url), "%stile/%u/%s.p/%u", t->l->info.url,
		    r->level, path, r->width);
	else
		snprintf(url, sizeof(url), "%stile/%u/%s", t->l->info.url,
		    r->level, path);
	r->have = have != NULL && !t->no_range && have->width < r->width ?
	    have->width : 0;
	if (r->have > 0)
		r->req = fetch_get_from(ct_fetch(), url,
		    (unsigned long long)r->have * STH_HASH_LEN, on_htile, r);
	else
		r->req = fetch_get(ct_fetch(), url, on_htile, r);
	if (r->req == NULL) {
		memset(r, 0, sizeof(*r));
		ct_log_error(t->l, "cannot start a request");
		ct_pace_backoff(&t->pace, NULL);
	}
}

const uint8_t *
ct_tiles_need_htile(struct tiles *t, unsigned level, uint64_t idx,
    unsigned width)
{
	const uint8_t *h = htile_find(t, level, idx, width);
	int i, slot = -1;

	if (h != NULL)
		return h;
	for (i = 0; i < CT_TILES_MAX_HREQ; i++) {
		struct hreq *r = &t->hreq[i];

		if (r->used && r->level == level && r->idx == idx &&
		    r->width >= width)
			return NULL;
		if (!r->used && slot < 0)
			slot = i;
	}
	if (slot < 0 || ct_pace_paused(&t->pace))
		return NULL;
	t->hreq[slot].used = 1;
	t->hreq[slot].t = t;
	t->hreq[slot].level = level;
	t->hreq[slot].idx = idx;
	t->hreq[slot].width = width;
	htile_issue(t, &t->hreq[slot]);
	return NULL;
}

/* A range answer: the held hashes followed by the new bytes, or NULL
 * (logged) when the answer is not the range asked for. */
static uint8_t *
htile_join(struct tiles *t, struct hreq *r, const struct fetch_res *res)
{
	const uint8_t *old = htile_find(t, r->level, r->idx, r->have);
	size_t off = (size_t)r->have * STH_HASH_LEN;
	uint8_t *h;

	if (old == NULL || res->encoded || res->range_start != (long long)off)
		return NULL;
	if (res->len != (size_t)r->width * STH_HASH_LEN - off)
		return NULL;
	if ((h = malloc((size_t)r->width * STH_HASH_LEN)) == NULL)
		return NULL;
	memcpy(h, old, off);
	memcpy(h + off, res->body, res->len);
	return h;
}

static void
on_htile(void *arg, const struct fetch_res *res)
{
	struct hreq *r = arg;
	struct tiles *t = r->t;
	uint8_t *h = NULL;
	char why[256];

	r->req = NULL;
	if (res->ok && res->status == 404 && r->width < CT_TILE_WIDTH &&
	    !r->fallback) {
		/* A partial tile may be gone once its full tile exists: the
		 * full one starts with the same hashes. */
		r->fallback = 1;
		r->width = CT_TILE_WIDTH;
		htile_issue(t, r);
		return;
	}
	if (!res->ok || (res->status != 200 && res->status != 206)) {
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(t->l, "hash tile %u/%" PRIu64 ": %s", r->level, r->idx,
		    why);
		memset(r, 0, sizeof(*r));
		ct_pace_backoff(&t->pace, res);
		return;
	}
	if (res->status == 206) {
		if ((h = htile_join(t, r, res)) == NULL) {
			/* not the bytes asked for: from now on, whole tiles */
			t->no_range = 1;
			htile_issue(t, r);
			return;
		}
	} else if (res->len != (size_t)r->width * STH_HASH_LEN) {
		ct_log_error(t->l, "hash tile %u/%" PRIu64 ": %zu bytes for %u "
		    "hashes", r->level, r->idx, res->len, r->width);
		memset(r, 0, sizeof(*r));
		ct_pace_backoff(&t->pace, NULL);
		return;
	} else if ((h = malloc(res->len)) != NULL) {
		memcpy(h, res->body, res->len);
	}
	if (h == NULL) {
		ct_log_error(t->l, "out of memory");
		memset(r, 0, sizeof(*r));
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	if (htile_add(t, r->level, r->idx, r->width, h) < 0) {
		memset(r, 0, sizeof(*r));
		ct_tiles_halt(t);
		return;
	}
	memset(r, 0, sizeof(*r));
	ct_pace_ok(&t->pace);
	ct_tiles_progress(t);
}

int
ct_tiles_root(uint64_t size, ct_tiles_get_fn get, void *arg,
    uint8_t out[STH_HASH_LEN])
{
	uint8_t acc[STH_HASH_LEN], node[STH_HASH_LEN];
	unsigned h, have = 0, missing = 0;

	memset(acc, 0, sizeof(acc));
	/* Complete subtrees from the right (lowest bit) to the left. */
	for (h = 0; h < 64; h++) {
		uint64_t start, pos;
		unsigned lvl = h / 8, r = h % 8, width;
		const uint8_t *tl = NULL;
		int rc;

		if (!(size >> h & 1))
			continue;
		start = h == 63 ? 0 : size & ~((UINT64_C(2) << h) - 1);
		pos = start >> (8 * lvl);
		width = (unsigned)((size >> (8 * lvl)) % CT_TILE_WIDTH);
		rc = get(arg, lvl, pos / CT_TILE_WIDTH, width, &tl);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			missing = 1;  /* ask for every missing tile at once */
			continue;
		}
		ct_tiles_subtree(tl + (pos % CT_TILE_WIDTH) * STH_HASH_LEN,
		    1u << r, node);
		if (have)
			sth_node_hash(node, acc, acc);
		else
			memcpy(acc, node, sizeof(acc));
		have = 1;
	}
	if (missing)
		return 0;
	memcpy(out, acc, STH_HASH_LEN);
	return 1;
}

static int
get_htile(void *arg, unsigned level, uint64_t idx, unsigned width,
    const uint8_t **tile)
{
	return (*tile = ct_tiles_need_htile(arg, level, idx, width)) != NULL;
}

int
ct_tiles_verify_root(struct tiles *t, uint64_t size,
    const uint8_t root[STH_HASH_LEN])
{
	uint8_t got[STH_HASH_LEN];
	unsigned i;

	for (i = 0; i < t->nvroot && i < 4; i++)
		if (t->vroot[i].size == size &&
		    memcmp(t->vroot[i].root, root, STH_HASH_LEN) == 0)
			return 1;
	if (size == 0)
		return 1;
	if (ct_tiles_root(size, get_htile, t, got) == 0)
		return 0;
	if (memcmp(got, root, STH_HASH_LEN) != 0) {
		/* tiles held from an earlier tree are part of this one too
		 * (a full tile never changes): a mismatch is a forked log,
		 * or tiles that do not belong to its checkpoint */
		ct_log_fail(t->l, 0, "fork: hash tiles of tree %" PRIu64 " (with "
		    "those served before) do not hash to its checkpoint root",
		    size);
		return -1;
	}
	i = t->nvroot++ % 4;
	t->vroot[i].size = size;
	memcpy(t->vroot[i].root, root, STH_HASH_LEN);
	return 1;
}

/* Width of hash tile (level, idx) in the tree of n leaves. */
static unsigned
tile_width(uint64_t n, unsigned level, uint64_t idx)
{
	uint64_t k = (n >> (8 * level)) - idx * CT_TILE_WIDTH;

	return k > CT_TILE_WIDTH ? CT_TILE_WIDTH : (unsigned)k;
}

int
ct_tiles_bind(unsigned level, uint64_t idx, uint64_t n, ct_tiles_get_fn get,
    void *arg, const uint8_t **out)
{
	const uint8_t *cur, *up;
	uint8_t node[STH_HASH_LEN];
	unsigned width = tile_width(n, level, idx), upw;
	uint64_t upidx;
	int rc;

	if ((rc = get(arg, level, idx, width, &cur)) <= 0)
		return rc;
	*out = cur;
	while (width == CT_TILE_WIDTH && level + 1 < 8) {
		ct_tiles_subtree(cur, CT_TILE_WIDTH, node);
		upidx = idx / CT_TILE_WIDTH;
		upw = tile_width(n, level + 1, upidx);
		if ((rc = get(arg, level + 1, upidx, upw, &up)) <= 0)
			return rc;
		if (memcmp(up + (idx % CT_TILE_WIDTH) * STH_HASH_LEN, node,
		    STH_HASH_LEN) != 0)
			return -1;
		cur = up;
		idx = upidx;
		width = upw;
		level++;
	}
	return 1;
}

int
ct_tiles_bound(struct tiles *t, unsigned level, uint64_t idx, uint64_t n,
    const uint8_t **out)
{
	return ct_tiles_bind(level, idx, n, get_htile, t, out);
}

/*
 * Consistency without proofs: the root of the last proven tree (m leaves)
 * recomputed from the hash tiles of the new tree (n > m leaves, its root
 * already checked), each bound to the new root.
 */
struct bound_get {
	struct tiles *t;
	uint64_t n;
};

/* A hash tile of the new tree, bound to its root (the width is the new
 * tree's, not the one of the old tree being recomputed). */
static int
get_bound_tile(void *arg, unsigned level, uint64_t idx, unsigned width,
    const uint8_t **tile)
{
	struct bound_get *b = arg;

	(void)width;
	return ct_tiles_bound(b->t, level, idx, b->n, tile);
}

static int
extends_tree(struct tiles *t, uint64_t m, const uint8_t mroot[STH_HASH_LEN],
    uint64_t n)
{
	struct bound_get b = { t, n };
	uint8_t got[STH_HASH_LEN];
	int rc;

	if ((rc = ct_tiles_root(m, get_bound_tile, &b, got)) <= 0)
		return rc;
	return memcmp(got, mroot, STH_HASH_LEN) == 0 ? 1 : -1;
}

int
ct_tiles_successor(struct tiles *t, const struct tree_head *h)
{
	uint64_t m = t->tree.size;
	uint8_t prev[STH_HASH_LEN];
	const uint8_t *mroot = t->tree.root;
	int rc;

	if (!t->have_tree) {
		/* the first tree since a restart: against the one proven
		 * before it, if any */
		if (ct_log_head(t->l, &m, prev) == -1)
			m = 0;
		mroot = prev;
		if (h->size < m) {
			ct_log_fail(t->l, 0, "tree shrank from %" PRIu64 " to %"
			    PRIu64 " across a restart", m, h->size);
			return -1;
		}
	}
	if ((rc = ct_tiles_verify_root(t, h->size, h->root)) <= 0)
		return rc;
	if (m == 0 || (h->size == m &&
	    memcmp(h->root, mroot, STH_HASH_LEN) == 0))
		return 1;
	if (h->size > m && (rc = extends_tree(t, m, mroot, h->size)) >= 0) {
		if (rc == 0)
			return 0;
		return 1;
	}
	ct_log_fail(t->l, 0, "fork: the checkpoint of tree %" PRIu64 " does not "
	    "extend the verified tree %" PRIu64, h->size, m);
	return -1;
}

void
ct_tiles_hash_halt(struct tiles *t)
{
	int i;

	for (i = 0; i < CT_TILES_MAX_HREQ; i++) {
		if (t->hreq[i].used) {
			fetch_cancel(t->hreq[i].req);
			memset(&t->hreq[i], 0, sizeof(t->hreq[i]));
		}
	}
}

void
ct_tiles_hash_free(struct tiles *t)
{
	int i;

	ct_tiles_hash_halt(t);
	for (i = 0; i < CT_TILES_HT_CACHE; i++) {
		if (t->ht[i].used)
			fetch_hold(ct_fetch(), 0,
			    (size_t)t->ht[i].width * STH_HASH_LEN);
		free(t->ht[i].h);
	}
}
