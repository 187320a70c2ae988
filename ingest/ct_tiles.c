/*
 * static-ct-api log poller: checkpoint, data tiles, issuers.
 *
 * A window is one data tile request: tile n, `width` leaves (256, or W for
 * the partial tile n.p/W at the tree's edge), publishing entries from
 * `from` on. When the tree grows past a partial tile, the same tile is asked
 * again, wider, from where the last window ended. Windows are published
 * front first (lowest `from`), so entries leave in index order.
 *
 * A tile is published in two passes: the first decodes every leaf, checks
 * the count and each leaf_index, and asks for any issuer not cached; the
 * second, once every issuer is in, resolves the chains and publishes.
 */
#include "ingest/ct_tiles.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/sha.h>

#include "common/log.h"
#include "ingest/checkpoint.h"
#include "ingest/ct_pace.h"
#include "ingest/fetch.h"

#define MAX_WINDOWS 64
#define MAX_IREQ 16
#define HT_CACHE 64
#define MAX_HREQ 16

struct twin {
	int used;
	uint64_t tile, width, from;
	uint64_t size;              /* the checkpoint the window was cut from */
	uint8_t root[STH_HASH_LEN];
	struct fetch_req *req;
	int done, failed, attempts;
	uint8_t *body;
	size_t len;
	struct tiles *t;
};

struct issuer {
	uint8_t fp[LEAF_FP_LEN];
	uint8_t *der;
	size_t len;
	uint64_t used;              /* LRU tick */
};

struct ireq {
	int used;
	uint8_t fp[LEAF_FP_LEN];
	struct fetch_req *req;
	struct tiles *t;
};

/* A hash tile: `width` hashes of tree level 8 * level. */
struct htile {
	int used;
	unsigned level;
	uint64_t idx;
	unsigned width;
	uint8_t *h;
	uint64_t tick;
};

struct hreq {
	int used;
	unsigned level;
	uint64_t idx;
	unsigned width;             /* asked; 256 when falling back to full */
	int fallback;
	struct fetch_req *req;
	struct tiles *t;
};

struct tiles {
	struct ct_log *l;
	struct ct_pace pace;
	struct fetch_req *cp_req;
	uint64_t tree_size;
	int have_tree;
	uint8_t last_note[SHA256_DIGEST_LENGTH];  /* hash of the last verified */
	struct checkpoint last_cp;
	uint64_t fetch_next;
	struct twin win[MAX_WINDOWS];
	struct issuer cache[CT_ISSUER_CACHE];
	size_t ncache;
	uint64_t tick;
	struct ireq ireq[MAX_IREQ];
	struct htile ht[HT_CACHE];
	struct hreq hreq[MAX_HREQ];
	struct { uint64_t size; uint8_t root[STH_HASH_LEN]; } vroot[4];
	unsigned nvroot;
	uint8_t root[STH_HASH_LEN];  /* of the current checkpoint */
};

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

static void
win_clear(struct twin *w)
{
	fetch_cancel(w->req);
	free(w->body);
	memset(w, 0, sizeof(*w));
}

static void
halt(struct tiles *t)
{
	int i;

	fetch_cancel(t->cp_req);
	t->cp_req = NULL;
	for (i = 0; i < MAX_WINDOWS; i++)
		if (t->win[i].used)
			win_clear(&t->win[i]);
	for (i = 0; i < MAX_IREQ; i++) {
		if (t->ireq[i].used) {
			fetch_cancel(t->ireq[i].req);
			memset(&t->ireq[i], 0, sizeof(t->ireq[i]));
		}
	}
	for (i = 0; i < MAX_HREQ; i++) {
		if (t->hreq[i].used) {
			fetch_cancel(t->hreq[i].req);
			memset(&t->hreq[i], 0, sizeof(t->hreq[i]));
		}
	}
	ct_pace_halt(&t->pace);
}

/* ---- issuers ---- */

static struct issuer *
cache_find(struct tiles *t, const uint8_t fp[LEAF_FP_LEN])
{
	size_t i;

	for (i = 0; i < t->ncache; i++) {
		if (memcmp(t->cache[i].fp, fp, LEAF_FP_LEN) == 0) {
			t->cache[i].used = ++t->tick;
			return &t->cache[i];
		}
	}
	return NULL;
}

static int
cache_lookup(void *arg, const uint8_t fp[LEAF_FP_LEN], const uint8_t **der,
    size_t *len)
{
	struct issuer *is = cache_find(arg, fp);

	if (is == NULL)
		return -1;
	*der = is->der;
	*len = is->len;
	return 0;
}

/* Take ownership of der. Evicts the least recently used when full; never
 * called while a tile is being published, so no entry points at it. */
static void
cache_add(struct tiles *t, const uint8_t fp[LEAF_FP_LEN], uint8_t *der,
    size_t len)
{
	struct issuer *is;
	size_t i, lru = 0;

	if (t->ncache < CT_ISSUER_CACHE) {
		is = &t->cache[t->ncache++];
		atomic_fetch_add(&ct_ingest_stats()->issuer_cache_size, 1);
	} else {
		for (i = 1; i < t->ncache; i++)
			if (t->cache[i].used < t->cache[lru].used)
				lru = i;
		is = &t->cache[lru];
		free(is->der);
	}
	memcpy(is->fp, fp, LEAF_FP_LEN);
	is->der = der;
	is->len = len;
	is->used = ++t->tick;
}

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
	cache_add(t, fp, der, res->len);
	ct_pace_ok(&t->pace);
	drain(t);
	if (!t->l->failed)
		fill(t);
}

/* Ask for fp unless cached or asked. 0 when it is cached. */
static int
need_issuer(struct tiles *t, const uint8_t *fp)
{
	char url[CONFIG_STR + 96];
	size_t off;
	int i, slot = -1;

	if (cache_find(t, fp) != NULL)
		return 0;
	for (i = 0; i < MAX_IREQ; i++) {
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
	t->ireq[slot].req = fetch_get(ct_fetch(), url, on_issuer, &t->ireq[slot]);
	if (t->ireq[slot].req == NULL) {
		memset(&t->ireq[slot], 0, sizeof(t->ireq[slot]));
		ct_log_error(t->l, "cannot start a request");
		ct_pace_backoff(&t->pace, NULL);
	}
	return 1;
}


/* ---- hash tiles: data tiles are proven against the checkpoint root ----
 *
 * Tree nodes of level 8L are stored in hash tiles of level L (tlog-tiles).
 * A checkpoint's root is recomputed from the right-edge tiles of every
 * level; a data tile's leaf hashes must equal its level-0 hash tile, and a
 * full hash tile's subtree hash must equal its entry in the tile above,
 * up to a right-edge tile, which the root check covered.
 */

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

/* Hashes of tile (level, idx), at least width of them, if cached. */
static const uint8_t *
htile_find(struct tiles *t, unsigned level, uint64_t idx, unsigned width)
{
	int i;

	for (i = 0; i < HT_CACHE; i++) {
		struct htile *h = &t->ht[i];

		if (h->used && h->level == level && h->idx == idx &&
		    h->width >= width) {
			h->tick = ++t->tick;
			return h->h;
		}
	}
	return NULL;
}

static void
htile_add(struct tiles *t, unsigned level, uint64_t idx, unsigned width,
    uint8_t *h)
{
	struct htile *v = &t->ht[0];
	int i;

	for (i = 0; i < HT_CACHE; i++) {
		if (!t->ht[i].used) {
			v = &t->ht[i];
			break;
		}
		if (t->ht[i].tick < v->tick)
			v = &t->ht[i];
	}
	free(v->h);
	v->used = 1;
	v->level = level;
	v->idx = idx;
	v->width = width;
	v->h = h;
	v->tick = ++t->tick;
}

static void on_htile(void *arg, const struct fetch_res *res);

static void
htile_issue(struct tiles *t, struct hreq *r)
{
	char url[CONFIG_STR + 96], path[64];

	ct_tiles_path(r->idx, path, sizeof(path));
	if (r->width < CT_TILE_WIDTH)
		snprintf(url, sizeof(url), "%stile/%u/%s.p/%u", t->l->info.url,
		    r->level, path, r->width);
	else
		snprintf(url, sizeof(url), "%stile/%u/%s", t->l->info.url,
		    r->level, path);
	r->req = fetch_get(ct_fetch(), url, on_htile, r);
	if (r->req == NULL) {
		memset(r, 0, sizeof(*r));
		ct_log_error(t->l, "cannot start a request");
		ct_pace_backoff(&t->pace, NULL);
	}
}

/* The hashes of tile (level, idx) with width entries, or NULL after
 * asking for them (the caller waits). */
static const uint8_t *
need_htile(struct tiles *t, unsigned level, uint64_t idx, unsigned width)
{
	const uint8_t *h = htile_find(t, level, idx, width);
	int i, slot = -1;

	if (h != NULL)
		return h;
	for (i = 0; i < MAX_HREQ; i++) {
		if (t->hreq[i].used && t->hreq[i].level == level &&
		    t->hreq[i].idx == idx)
			return NULL;
		if (!t->hreq[i].used && slot < 0)
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

static void
on_htile(void *arg, const struct fetch_res *res)
{
	struct hreq *r = arg;
	struct tiles *t = r->t;
	uint8_t *h;
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
	if (!res->ok || res->status != 200) {
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(t->l, "hash tile %u/%" PRIu64 ": %s", r->level, r->idx,
		    why);
		memset(r, 0, sizeof(*r));
		ct_pace_backoff(&t->pace, res);
		return;
	}
	if (res->len != (size_t)r->width * STH_HASH_LEN) {
		ct_log_error(t->l, "hash tile %u/%" PRIu64 ": %zu bytes for %u "
		    "hashes", r->level, r->idx, res->len, r->width);
		memset(r, 0, sizeof(*r));
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	h = malloc(res->len);
	if (h == NULL) {
		ct_log_error(t->l, "out of memory");
		memset(r, 0, sizeof(*r));
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	memcpy(h, res->body, res->len);
	htile_add(t, r->level, r->idx, r->width, h);
	memset(r, 0, sizeof(*r));
	drain(t);
	if (!t->l->failed)
		fill(t);
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
	return (*tile = need_htile(arg, level, idx, width)) != NULL;
}

/* Is (size, root) the root of the hash tiles? 1 yes, 0 waiting, -1 no. */
static int
verify_root(struct tiles *t, uint64_t size, const uint8_t root[STH_HASH_LEN])
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
		ct_log_fail(t->l, 0, "hash tiles of tree %" PRIu64 " do not "
		    "match its checkpoint root", size);
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

/*
 * Hash tile (level, idx) of the tree of n leaves, bound to that tree's
 * root: a tile at the right edge is covered by the root check, a full one
 * through its subtree hash in the tile above, up to the right edge.
 * 1 and *out, 0 waiting for tiles, -1 a tile disagrees with the one above.
 */
static int
bound_tile(struct tiles *t, unsigned level, uint64_t idx, uint64_t n,
    const uint8_t **out)
{
	const uint8_t *cur, *up;
	uint8_t node[STH_HASH_LEN];
	unsigned width = tile_width(n, level, idx), upw;
	uint64_t upidx;

	if ((cur = need_htile(t, level, idx, width)) == NULL)
		return 0;
	*out = cur;
	while (width == CT_TILE_WIDTH && level + 1 < 8) {
		ct_tiles_subtree(cur, CT_TILE_WIDTH, node);
		upidx = idx / CT_TILE_WIDTH;
		upw = tile_width(n, level + 1, upidx);
		if ((up = need_htile(t, level + 1, upidx, upw)) == NULL)
			return 0;
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

/*
 * Consistency without proofs: the root of the last verified tree (m
 * leaves) recomputed from the hash tiles of the new tree (n > m leaves,
 * its root already checked), each bound to the new root. 1 the new tree
 * extends the old one, 0 waiting for tiles, -1 it does not (a fork).
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
	return bound_tile(b->t, level, idx, b->n, tile);
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

/* Is the verified checkpoint cp a successor of the last one? 1 yes, 0
 * waiting for hash tiles, -1 no (the log failed). */
static int
successor(struct tiles *t, const struct checkpoint *cp)
{
	uint64_t m = t->tree_size;
	uint8_t prev[STH_HASH_LEN];
	const uint8_t *mroot = t->root;
	int rc;

	if (!t->have_tree) {
		/* the first checkpoint since a restart: against the one
		 * verified before it, if any */
		if (ct_log_head(t->l, &m, prev) == -1)
			return 1;
		mroot = prev;
		if (cp->size < m) {
			ct_log_fail(t->l, 0, "tree shrank from %" PRIu64 " to %"
			    PRIu64 " across a restart", m, cp->size);
			return -1;
		}
	}
	if (m == 0 || (cp->size == m &&
	    memcmp(cp->root_hash, mroot, STH_HASH_LEN) == 0))
		return 1;
	if (cp->size > m) {
		if ((rc = verify_root(t, cp->size, cp->root_hash)) <= 0)
			return rc;
		if ((rc = extends_tree(t, m, mroot, cp->size)) >= 0)
			return rc;
	}
	ct_log_fail(t->l, 0, "fork: the checkpoint of tree %" PRIu64 " does not "
	    "extend the verified tree %" PRIu64, cp->size, m);
	return -1;
}

/* Are the leaves of data tile w in its checkpoint's tree? 1, 0 (waiting),
 * -1 (the log failed). */
static int
verify_tile(struct tiles *t, struct twin *w)
{
	const uint8_t *h0, *cur, *up;
	uint8_t lh[STH_HASH_LEN], node[STH_HASH_LEN];
	uint64_t idx = w->tile, k, upidx;
	unsigned lvl = 0, width = (unsigned)w->width, upw;
	size_t off = 0;
	int rc;

	rc = verify_root(t, w->size, w->root);
	if (rc <= 0)
		return rc;
	if ((h0 = need_htile(t, 0, w->tile, width)) == NULL)
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
	/* Up through full tiles to a right-edge one (covered by the root). */
	cur = h0;
	while (width == CT_TILE_WIDTH) {
		ct_tiles_subtree(cur, CT_TILE_WIDTH, node);
		upidx = idx / CT_TILE_WIDTH;
		if (lvl + 1 >= 8)
			break;
		k = (w->size >> (8 * (lvl + 1))) - upidx * CT_TILE_WIDTH;
		upw = k > CT_TILE_WIDTH ? CT_TILE_WIDTH : (unsigned)k;
		if ((up = need_htile(t, lvl + 1, upidx, upw)) == NULL)
			return 0;
		if (memcmp(up + (idx % CT_TILE_WIDTH) * STH_HASH_LEN, node,
		    STH_HASH_LEN) != 0) {
			ct_log_fail(t->l, 0, "hash tile %u/%" PRIu64 " does not match "
			    "the tree", lvl, idx);
			return -1;
		}
		cur = up;
		idx = upidx;
		width = upw;
		lvl++;
	}
	return 1;
}

/* ---- tiles ---- */

static struct twin *
front(struct tiles *t)
{
	struct twin *f = NULL;
	int i;

	for (i = 0; i < MAX_WINDOWS; i++)
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
	w->failed = 0;
	w->req = fetch_get(ct_fetch(), url, on_tile, w);
	if (w->req == NULL) {
		w->failed = 1;
		ct_log_error(t->l, "cannot start a request");
		ct_pace_backoff(&t->pace, NULL);
	} else {
		atomic_fetch_add(&ct_ingest_stats()->tiles_fetched, 1);
	}
}

/*
 * Pass 1 over a tile: count, leaf_index, issuers. Returns 1 when the tile
 * can be published, 0 to wait (issuers asked), -1 when the log failed or
 * the tile must be fetched again.
 */
static int
check_tile(struct tiles *t, struct twin *w)
{
	struct ct_log *l = t->l;
	uint64_t base = w->tile * CT_TILE_WIDTH, k = 0;
	size_t off = 0, j;
	int rc, missing = 0;

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
				free(w->body);
				w->body = NULL;
				w->len = 0;
				w->done = 0;
				w->failed = 1;
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
		if (base + k >= l->next)
			for (j = 0; j < e.nchain_fp; j++)
				missing += need_issuer(t, e.chain_fp + j * LEAF_FP_LEN);
		k++;
	}
	if (k != w->width || off != w->len) {
		ct_log_fail(l, 0, "data tile %" PRIu64 " holds %s%" PRIu64
		    " entries, the checkpoint says %" PRIu64, w->tile,
		    off != w->len ? "more than " : "", k, w->width);
		return -1;
	}
	return missing ? 0 : 1;
}

static void
drain(struct tiles *t)
{
	struct ct_log *l = t->l;
	struct twin *w;
	int published = 0;

	while (!l->failed && (w = front(t)) != NULL && w->done) {
		uint64_t base = w->tile * CT_TILE_WIDTH, k;
		size_t off = 0;
		int rc = check_tile(t, w);

		if (rc < 0) {
			if (l->failed)
				halt(t);
			break;
		}
		if (rc == 0)
			break;  /* issuers on their way */
		rc = verify_tile(t, w);
		if (rc < 0)
			halt(t);
		if (rc <= 0)
			break;  /* hash tiles on their way, or failed */
		for (k = 0; k < w->width; k++) {
			struct leaf_entry e;

			/* Chains are resolved only for the entries published:
			 * issuers of earlier ones were never fetched. */
			rc = leaf_decode_tile(w->body, w->len, &off, NULL, NULL, &e);
			if (rc != LEAF_OK)
				break;  /* cannot happen: pass 1 decoded it */
			if (base + k < l->next)
				continue;
			if (leaf_resolve_chain(&e, cache_lookup, t) != LEAF_OK)
				break;  /* an issuer was evicted: the next pass asks */
			ct_publish(l, &e);
			published++;
		}
		if (k < w->width)
			break;
		win_clear(w);
	}
	if (published)
		ct_flush();
	if (!l->failed)
		ct_log_ok(l, t->tree_size);
}

static void
on_tile(void *arg, const struct fetch_res *res)
{
	struct twin *w = arg;
	struct tiles *t = w->t;
	char why[256];

	w->req = NULL;
	if (!res->ok || res->status != 200) {
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(t->l, "data tile %" PRIu64 "%s: %s", w->tile,
		    w->width < CT_TILE_WIDTH ? " (partial)" : "", why);
		w->failed = 1;
		ct_pace_backoff(&t->pace, res);
		return;
	}
	w->body = malloc(res->len ? res->len : 1);
	if (w->body == NULL) {
		ct_log_error(t->l, "out of memory");
		w->failed = 1;
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	memcpy(w->body, res->body, res->len);
	w->len = res->len;
	w->done = 1;
	ct_pace_ok(&t->pace);
	drain(t);
	if (!t->l->failed)
		fill(t);
}

static void
fill(struct tiles *t)
{
	const struct config *cfg = ct_config();
	int i, nused = 0, nmax = cfg->ct_log.fetch_concurrency;

	if (t->l->failed || ct_pace_paused(&t->pace))
		return;
	if (nmax > MAX_WINDOWS)
		nmax = MAX_WINDOWS;
	for (i = 0; i < MAX_WINDOWS; i++) {
		struct twin *w = &t->win[i];

		if (!w->used)
			continue;
		nused++;
		if (w->failed && w->req == NULL && !w->done)
			issue(t, w);
		if (ct_pace_paused(&t->pace))
			return;
	}
	while (nused < nmax && t->fetch_next < t->tree_size) {
		struct twin *w = NULL;
		uint64_t n = t->fetch_next / CT_TILE_WIDTH, width;

		for (i = 0; i < MAX_WINDOWS; i++) {
			if (!t->win[i].used) {
				w = &t->win[i];
				break;
			}
		}
		if (w == NULL)
			break;
		width = t->tree_size - n * CT_TILE_WIDTH;
		if (width > CT_TILE_WIDTH)
			width = CT_TILE_WIDTH;
		memset(w, 0, sizeof(*w));
		w->used = 1;
		w->t = t;
		w->tile = n;
		w->width = width;
		w->from = t->fetch_next;
		w->size = t->tree_size;
		memcpy(w->root, t->root, STH_HASH_LEN);
		t->fetch_next = n * CT_TILE_WIDTH + width;
		nused++;
		issue(t, w);
		if (ct_pace_paused(&t->pace))
			return;
	}
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
	if (!res->ok || res->status != 200) {
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(l, "checkpoint: %s", why);
		ct_pace_backoff(&t->pace, res);
		ct_pace_poll_later(&t->pace);
		return;
	}
	SHA256((const uint8_t *)res->body, res->len, md);
	if (t->have_tree && memcmp(md, t->last_note, sizeof(md)) == 0) {
		/* the very note verified last time: nothing new */
		cp = t->last_cp;
	} else if (l->has_key) {
		if (checkpoint_verify(res->body, res->len, &l->key,
		    l->info.origin, &cp, why, sizeof(why)) < 0) {
			/* A body that is not a note at all may be a damaged
			 * response; a note that does not verify is a lie. */
			if (strstr(why, "signature") != NULL ||
			    strstr(why, "origin") != NULL) {
				ct_log_fail(l, 1, "%s", why);
				halt(t);
				return;
			}
			ct_log_error(l, "%s", why);
			ct_pace_backoff(&t->pace, NULL);
			ct_pace_poll_later(&t->pace);
			return;
		}
	} else if (checkpoint_parse(res->body, res->len, &cp, why,
	    sizeof(why)) < 0) {
		ct_log_error(l, "%s", why);
		ct_pace_backoff(&t->pace, NULL);
		ct_pace_poll_later(&t->pace);
		return;
	}
	if (t->have_tree && cp.size < t->tree_size) {
		ct_log_fail(l, 0, "tree shrank from %" PRIu64 " to %" PRIu64,
		    t->tree_size, cp.size);
		halt(t);
		return;
	}
	if (l->have_next && cp.size < l->next) {
		ct_log_fail(l, 0, "tree size %" PRIu64 " is below the %" PRIu64
		    " entries already streamed", cp.size, l->next);
		halt(t);
		return;
	}
	switch (successor(t, &cp)) {
	case -1:
		halt(t);
		return;
	case 0:
		/* hash tiles on their way: the next poll tries again */
		ct_pace_poll_later(&t->pace);
		return;
	}
	t->tree_size = cp.size;
	t->have_tree = 1;
	memcpy(t->root, cp.root_hash, STH_HASH_LEN);
	ct_log_verified(l, cp.size, cp.root_hash);
	t->last_cp = cp;
	memcpy(t->last_note, md, sizeof(md));
	if (!l->have_next)
		ct_log_first_head(l, cp.size);
	if (t->fetch_next < l->next)
		t->fetch_next = l->next;
	ct_log_ok(l, t->tree_size);
	fill(t);
	ct_pace_poll_later(&t->pace);
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
	drain(t);
	fill(t);
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
	if (ct_pace_init(&t->pace, ct_base(), on_poll, on_retry, t) < 0) {
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
	size_t i;

	if (t == NULL)
		return;
	halt(t);
	ct_pace_fini(&t->pace);
	for (i = 0; i < t->ncache; i++)
		free(t->cache[i].der);
	for (i = 0; i < HT_CACHE; i++)
		free(t->ht[i].h);
	atomic_fetch_sub(&ct_ingest_stats()->issuer_cache_size, t->ncache);
	free(t);
	l->poller = NULL;
}
