/*
 * The entries of a backfill (backfill.h), fetched and proven with the
 * live ingest's primitives before any of them is written:
 *
 * RFC 6962: the get-sth head's signature (sth_verify); the leaves of each
 * window are appended to the collapsed tree of the entries before it
 * (sth_frontier), whose root must then be the head's or be proven to
 * extend to it (sth_consistency_verify, get-sth-consistency). The
 * collapsed tree before the first window comes from the audit path of its
 * first leaf (get-proof-by-hash, sth_inclusion_frontier), so a range that
 * starts anywhere is bound to the head.
 *
 * static-ct-api: the checkpoint's signature (checkpoint_verify); the root
 * recomputed from the right-edge hash tiles (ct_tiles_root); each data
 * tile's leaf hashes equal to its level-0 hash tile, bound to those tiles
 * (ct_tiles_bind); issuers checked against their fingerprints.
 */
#include "ingest/backfill.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/sha.h>

#include "common/base64.h"
#include "ingest/checkpoint.h"
#include "ingest/ct_rfc6962.h"
#include "ingest/ct_tiles.h"
#include "ingest/fetch.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 60000
#define RETRY_AFTER_MAX_SECS 600
#define HT_CACHE 32

/* ---- fetching ---- */

struct got {
	int done;
	int ok, timed_out;
	long status, retry_after;
	char *body;
	size_t len;
	char error[256];
};

static void
on_got(void *arg, const struct fetch_res *res)
{
	struct got *g = arg;

	g->done = 1;
	g->ok = res->ok;
	g->status = res->status;
	g->retry_after = res->retry_after_secs;
	if (!res->ok)
		snprintf(g->error, sizeof(g->error), "%s", res->error ?
		    res->error : "transfer failed");
	if (res->ok && (g->body = malloc(res->len + 1)) != NULL) {
		memcpy(g->body, res->body, res->len);
		g->body[res->len] = '\0';
		g->len = res->len;
	} else if (res->ok) {
		g->ok = 0;
		snprintf(g->error, sizeof(g->error), "out of memory");
	}
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

int
backfill_get(struct backfill *b, const char *url, long accept,
    struct backfill_body *out, char *err, size_t errlen)
{
	int attempts = b->cfg->ct_log.retry_max_attempts, i;
	long backoff = 0, wait;

	out->status = 0;
	out->body = NULL;
	out->len = 0;
	if (attempts < 1)
		attempts = 1;
	for (i = 0; ; i++) {
		struct got g;

		memset(&g, 0, sizeof(g));
		if (fetch_get(b->fetch, url, on_got, &g) == NULL) {
			snprintf(err, errlen, "%s: cannot start a request", url);
			return -1;
		}
		while (!g.done)
			if (event_base_loop(b->base, EVLOOP_ONCE) < 0) {
				snprintf(err, errlen, "event loop failed");
				return -1;
			}
		if (g.ok && (g.status == 200 || (accept && g.status == accept) ||
		    (g.status != 429 && g.status < 500))) {
			out->status = g.status;
			out->body = g.body;
			out->len = g.len;
			return 0;
		}
		free(g.body);
		if (g.ok)
			snprintf(err, errlen, "%s: HTTP %ld", url, g.status);
		else
			snprintf(err, errlen, "%s: %s", url, g.error);
		/* a rate limit is waited out however often it comes */
		if (i + 1 >= attempts && !(g.ok && g.status == 429 && i < 64))
			return -1;
		backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
		if (backoff > BACKOFF_MAX_MS)
			backoff = BACKOFF_MAX_MS;
		wait = backoff;
		if (g.retry_after > 0)
			wait = (g.retry_after > RETRY_AFTER_MAX_SECS ?
			    RETRY_AFTER_MAX_SECS : g.retry_after) * 1000;
		if (b->tty)
			fputc('\n', stderr);
		fprintf(stderr, "certstreamd: %s; again in %ld ms\n", err, wait);
		sleep_ms(wait);
	}
}

/* GET url, which must answer 200. */
static int
get_ok(struct backfill *b, const char *url, struct backfill_body *out,
    char *err, size_t errlen)
{
	if (backfill_get(b, url, 0, out, err, errlen) < 0)
		return -1;
	if (out->status != 200) {
		snprintf(err, errlen, "%s: HTTP %ld", url, out->status);
		free(out->body);
		out->body = NULL;
		return -1;
	}
	return 0;
}

/* ---- RFC 6962 ---- */

/* The signed tree head: b->end must be below its size. */
static int
r_head(struct backfill *b, struct sth *sth, char *err, size_t errlen)
{
	struct backfill_body body;
	char url[CONFIG_STR + 32], why[256];
	int rc;

	snprintf(url, sizeof(url), "%sct/v1/get-sth", b->info.url);
	if (get_ok(b, url, &body, err, errlen) < 0)
		return -1;
	rc = sth_parse(body.body, body.len, sth, why, sizeof(why));
	free(body.body);
	if (rc < 0 || sth_verify(sth, &b->key, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "tree head: %s", why);
		return -1;
	}
	if (b->end >= sth->tree_size) {
		snprintf(err, errlen, "the signed tree head holds %" PRIu64
		    " entries: --end must be below that", sth->tree_size);
		return -1;
	}
	return 0;
}

/* Entries [a, z] in ents (references held), asked for until all are in. */
static int
r_fetch(struct backfill *b, uint64_t a, uint64_t z, json_object **ents,
    char *err, size_t errlen)
{
	char url[CONFIG_STR + 96];
	uint64_t got = 0, want = z - a + 1;

	while (got < want) {
		struct backfill_body body;
		json_object *root, *arr;
		size_t n, i;

		snprintf(url, sizeof(url), "%sct/v1/get-entries?start=%" PRIu64
		    "&end=%" PRIu64, b->info.url, a + got, z);
		if (get_ok(b, url, &body, err, errlen) < 0)
			return -1;
		if (ct_rfc6962_parse(body.body, body.len, &root, &arr) < 0) {
			free(body.body);
			snprintf(err, errlen, "get-entries %" PRIu64 "-%" PRIu64
			    ": malformed JSON", a + got, z);
			return -1;
		}
		free(body.body);
		n = json_object_array_length(arr);
		if (n == 0 || n > want - got) {
			json_object_put(root);
			snprintf(err, errlen, "get-entries %" PRIu64 "-%" PRIu64
			    " returned %zu entries", a + got, z, n);
			return -1;
		}
		for (i = 0; i < n; i++)
			ents[got + i] = json_object_get(
			    json_object_array_get_idx(arr, i));
		got += n;
		json_object_put(root);
	}
	return 0;
}

static int
leaf_hash_of(json_object *ent, struct ct_rfc6962_scratch *s,
    uint8_t lh[STH_HASH_LEN])
{
	struct leaf_entry e;
	long len = -1;

	(void)ct_rfc6962_decode(ent, s, &e, &len);
	return len < 0 ? -1 : leaf_hash_bytes(s->leaf, (size_t)len, 0, lh);
}

/* The collapsed tree of the entries before a, from the audit path of
 * entry a (whose leaf hash is lh) in the head's tree. */
static int
r_frontier(struct backfill *b, const struct sth *sth, uint64_t a,
    const uint8_t lh[STH_HASH_LEN], struct sth_frontier *fr, char *err,
    size_t errlen)
{
	struct backfill_body body;
	uint8_t path[STH_PROOF_MAX][STH_HASH_LEN];
	char url[CONFIG_STR + 256], b64[BASE64_ENCODED_LEN(STH_HASH_LEN) + 1];
	char q[3 * sizeof(b64)], why[256];
	uint64_t idx;
	size_t i, o = 0;
	int n;

	if (a == 0) {
		memset(fr, 0, sizeof(*fr));
		return 0;
	}
	base64_encode(b64, lh, STH_HASH_LEN);
	for (i = 0; b64[i] != '\0'; i++)
		o += (size_t)snprintf(q + o, sizeof(q) - o, b64[i] == '+' ? "%%2B" :
		    b64[i] == '/' ? "%%2F" : b64[i] == '=' ? "%%3D" : "%c", b64[i]);
	snprintf(url, sizeof(url), "%sct/v1/get-proof-by-hash?hash=%s&tree_size=%"
	    PRIu64, b->info.url, q, sth->tree_size);
	if (get_ok(b, url, &body, err, errlen) < 0)
		return -1;
	n = sth_inclusion_parse(body.body, body.len, &idx, path, STH_PROOF_MAX,
	    why, sizeof(why));
	free(body.body);
	if (n >= 0 && idx != a)
		snprintf(why, sizeof(why), "the log puts the leaf get-entries "
		    "served as entry %" PRIu64 " at index %" PRIu64, a, idx);
	if (n < 0 || idx != a || sth_inclusion_frontier(a, sth->tree_size,
	    sth->root_hash, lh, path, (size_t)n, fr, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "entry %" PRIu64 " is not proven in the signed "
		    "tree head of size %" PRIu64 ": %s", a, sth->tree_size, why);
		return -1;
	}
	return 0;
}

/* Does the tree of fr->size leaves (root r) extend to the head? */
static int
r_extends(struct backfill *b, const struct sth *sth,
    const struct sth_frontier *fr, char *err, size_t errlen)
{
	struct backfill_body body;
	uint8_t r[STH_HASH_LEN], proof[STH_PROOF_MAX][STH_HASH_LEN];
	char url[CONFIG_STR + 96], why[256];
	int n;

	if (sth_frontier_root(fr, r) < 0) {
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	if (fr->size == sth->tree_size) {
		if (memcmp(r, sth->root_hash, STH_HASH_LEN) == 0)
			return 0;
		snprintf(why, sizeof(why), "the root differs");
		goto lie;
	}
	snprintf(url, sizeof(url), "%sct/v1/get-sth-consistency?first=%" PRIu64
	    "&second=%" PRIu64, b->info.url, fr->size, sth->tree_size);
	if (get_ok(b, url, &body, err, errlen) < 0)
		return -1;
	n = sth_consistency_parse(body.body, body.len, proof, STH_PROOF_MAX, why,
	    sizeof(why));
	free(body.body);
	if (n >= 0 && sth_consistency_verify(fr->size, r, sth->tree_size,
	    sth->root_hash, proof, (size_t)n, why, sizeof(why)) == 0)
		return 0;
lie:
	snprintf(err, errlen, "the entries below %" PRIu64 " do not hash into "
	    "the signed tree head of size %" PRIu64 " (%s): get-entries served "
	    "entries that are not in the log's tree; none of them was written",
	    fr->size, sth->tree_size, why);
	return -1;
}

int
backfill_rfc6962(struct backfill *b, char *err, size_t errlen)
{
	struct ct_rfc6962_scratch s;
	struct sth sth;
	struct sth_frontier fr, next;
	uint64_t batch = (uint64_t)b->cfg->ct_log.batch_size, a, z, i, n = 0;
	uint8_t lh[STH_HASH_LEN];
	json_object **ents;
	int have_fr = 0, rc = -1;

	memset(&s, 0, sizeof(s));
	if (batch < 1)
		batch = 1;
	if ((ents = calloc((size_t)batch, sizeof(*ents))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (r_head(b, &sth, err, errlen) < 0)
		goto done;
	while (b->next <= b->end) {
		a = b->next;
		z = b->end - a + 1 > batch ? a + batch - 1 : b->end;
		n = z - a + 1;
		if (r_fetch(b, a, z, ents, err, errlen) < 0)
			goto done;
		/* prove the whole window before writing any of it */
		if (leaf_hash_of(ents[0], &s, lh) < 0)
			goto unhashable;
		if (!have_fr && r_frontier(b, &sth, a, lh, &fr, err, errlen) < 0)
			goto done;
		next = fr;
		for (i = 0; i < n; i++) {
			if (i > 0 && leaf_hash_of(ents[i], &s, lh) < 0) {
				a += i;
				goto unhashable;
			}
			if (sth_frontier_append(&next, lh) < 0) {
				snprintf(err, errlen, "SHA-256 failed");
				goto done;
			}
		}
		if (r_extends(b, &sth, &next, err, errlen) < 0)
			goto done;
		fr = next;
		have_fr = 1;
		for (i = 0; i < n; i++) {
			struct leaf_entry e;
			int drc = ct_rfc6962_decode(ents[i], &s, &e, NULL);

			e.index = a + i;
			if (drc != LEAF_OK) {
				fprintf(stderr, "certstreamd: %s: entry %" PRIu64 ": %s; "
				    "passed\n", b->info.url, a + i, leaf_strerror(drc));
				b->skipped++;
				b->next = a + i + 1;
				continue;
			}
			if (backfill_emit(b, &e, err, errlen) < 0)
				goto done;
		}
		for (i = 0; i < n; i++) {
			json_object_put(ents[i]);
			ents[i] = NULL;
		}
	}
	rc = 0;
	goto done;
unhashable:
	snprintf(err, errlen, "entry %" PRIu64 ": no leaf_input to hash: it "
	    "cannot be proven", a);
done:
	for (i = 0; i < batch; i++)
		json_object_put(ents[i]);
	free(ents);
	ct_rfc6962_scratch_fini(&s);
	return rc;
}

/* ---- static-ct-api ---- */

struct ht {
	unsigned level, width;
	int pinned;                 /* a right-edge tile the root was checked with */
	uint64_t idx;
	uint8_t *h;
};

struct tiles_run {
	struct backfill *b;
	struct ht cache[HT_CACHE];
	unsigned nextslot;
	int pin;                    /* tiles fetched now are pinned */
	char err[512];
};

/* A tile's body: tile/L/N[.p/W] (L "data" for data tiles); a partial
 * deleted because its tile filled (404) is read from the full tile. */
static int
t_fetch(struct backfill *b, const char *level, uint64_t idx, unsigned width,
    struct backfill_body *out, char *err, size_t errlen)
{
	char url[CONFIG_STR + 96], path[64];

	ct_tiles_path(idx, path, sizeof(path));
	if (width < CT_TILE_WIDTH) {
		snprintf(url, sizeof(url), "%stile/%s/%s.p/%u", b->info.url, level,
		    path, width);
		if (backfill_get(b, url, 404, out, err, errlen) < 0)
			return -1;
		if (out->status == 200)
			return 0;
		free(out->body);
		if (out->status != 404) {
			snprintf(err, errlen, "%s: HTTP %ld", url, out->status);
			return -1;
		}
	}
	snprintf(url, sizeof(url), "%stile/%s/%s", b->info.url, level, path);
	return get_ok(b, url, out, err, errlen);
}

/* ct_tiles_get_fn over a small cache, fetching what it lacks. */
static int
t_get(void *arg, unsigned level, uint64_t idx, unsigned width,
    const uint8_t **tile)
{
	struct tiles_run *r = arg;
	struct backfill_body body;
	struct ht *h;
	char lv[8];
	int i;

	for (i = 0; i < HT_CACHE; i++) {
		h = &r->cache[i];
		if (h->h != NULL && h->level == level && h->idx == idx &&
		    h->width >= width) {
			*tile = h->h;
			return 1;
		}
	}
	snprintf(lv, sizeof(lv), "%u", level);
	if (t_fetch(r->b, lv, idx, width, &body, r->err, sizeof(r->err)) < 0)
		return -1;
	if (body.len < (size_t)width * STH_HASH_LEN) {
		snprintf(r->err, sizeof(r->err), "hash tile %u/%" PRIu64 ": %zu "
		    "bytes for %u hashes", level, idx, body.len, width);
		free(body.body);
		return -1;
	}
	/* A tile the root check used is never fetched again: a second copy
	 * would not be bound to the root. */
	do
		h = &r->cache[r->nextslot++ % HT_CACHE];
	while (h->pinned);
	free(h->h);
	h->pinned = r->pin;
	h->level = level;
	h->idx = idx;
	h->width = width;
	h->h = (uint8_t *)body.body;
	*tile = h->h;
	return 1;
}

/* The issuers of e into b->issuers, each checked against its fingerprint. */
static int
t_issuers(struct backfill *b, const struct leaf_entry *e, char *err,
    size_t errlen)
{
	char url[CONFIG_STR + 96];
	uint8_t md[SHA256_DIGEST_LENGTH];
	size_t i, k, off;

	for (i = 0; i < e->nchain_fp; i++) {
		const uint8_t *fp = e->chain_fp + i * LEAF_FP_LEN;
		struct backfill_body body;

		if (issuer_cache_find(&b->issuers, fp) != NULL)
			continue;
		off = (size_t)snprintf(url, sizeof(url), "%sissuer/", b->info.url);
		for (k = 0; k < LEAF_FP_LEN && off + 3 < sizeof(url); k++)
			off += (size_t)snprintf(url + off, sizeof(url) - off, "%02x",
			    fp[k]);
		if (get_ok(b, url, &body, err, errlen) < 0)
			return -1;
		SHA256((const uint8_t *)body.body, body.len, md);
		if (body.len > ISSUER_MAX_BYTES || memcmp(md, fp, sizeof(md)) != 0) {
			free(body.body);
			snprintf(err, errlen, "%s: not the certificate of that "
			    "fingerprint", url);
			return -1;
		}
		issuer_cache_add(&b->issuers, fp, (uint8_t *)body.body, body.len);
	}
	return 0;
}

/* Prove data tile k of the tree of n leaves and emit its entries from
 * b->next to b->end. */
static int
t_tile(struct tiles_run *r, uint64_t k, uint64_t n, char *err, size_t errlen)
{
	struct backfill *b = r->b;
	struct backfill_body body;
	uint64_t base = k * CT_TILE_WIDTH, j;
	unsigned width = n - base > CT_TILE_WIDTH ? CT_TILE_WIDTH :
	    (unsigned)(n - base);
	uint8_t lh[STH_HASH_LEN];
	const uint8_t *h0;
	size_t off = 0;
	int rc = -1, brc;

	if (t_fetch(b, "data", k, width, &body, err, errlen) < 0)
		return -1;
	brc = ct_tiles_bind(0, k, n, t_get, r, &h0);
	if (brc <= 0) {
		snprintf(err, errlen, "hash tiles above data tile %" PRIu64 ": %s",
		    k, brc < 0 && r->err[0] ? r->err : "do not match the tree");
		goto done;
	}
	for (j = 0; j < width; j++) {
		struct leaf_entry e;
		int drc = leaf_decode_tile((uint8_t *)body.body, body.len, &off,
		    NULL, NULL, &e);

		if (drc != LEAF_OK || leaf_hash(&e, lh) < 0) {
			snprintf(err, errlen, "data tile %" PRIu64 " entry %" PRIu64
			    ": %s", k, base + j, leaf_strerror(drc));
			goto done;
		}
		if (!e.has_index || e.index != base + j) {
			snprintf(err, errlen, "data tile %" PRIu64 " entry %" PRIu64
			    " says it is entry %" PRIu64 ": the log served an entry "
			    "that is not in its tree there; none of that tile was "
			    "written", k, base + j, e.index);
			goto done;
		}
		if (memcmp(lh, h0 + j * STH_HASH_LEN, STH_HASH_LEN) != 0) {
			snprintf(err, errlen, "data tile %" PRIu64 " entry %" PRIu64
			    " does not match the checkpoint's tree of %" PRIu64
			    " entries: the log served an entry that is not in its "
			    "tree; none of that tile was written", k, base + j, n);
			goto done;
		}
	}
	off = 0;
	for (j = 0; j < width; j++) {
		struct leaf_entry e;

		(void)leaf_decode_tile((uint8_t *)body.body, body.len, &off, NULL,
		    NULL, &e);
		if (base + j < b->next || base + j > b->end)
			continue;
		if (t_issuers(b, &e, err, errlen) < 0)
			goto done;
		if (leaf_resolve_chain(&e, issuer_cache_lookup, &b->issuers) !=
		    LEAF_OK) {
			snprintf(err, errlen, "entry %" PRIu64 ": chain not resolved",
			    base + j);
			goto done;
		}
		if (backfill_emit(b, &e, err, errlen) < 0)
			goto done;
	}
	rc = 0;
done:
	free(body.body);
	return rc;
}

int
backfill_tiles(struct backfill *b, char *err, size_t errlen)
{
	struct tiles_run *r;
	struct backfill_body body;
	struct checkpoint cp;
	uint8_t root[STH_HASH_LEN];
	char url[CONFIG_STR + 32], why[256];
	uint64_t k;
	int rc = -1, i;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->b = b;
	snprintf(url, sizeof(url), "%scheckpoint", b->info.url);
	if (get_ok(b, url, &body, err, errlen) < 0)
		goto done;
	i = checkpoint_verify(body.body, body.len, &b->key, b->info.origin, &cp,
	    why, sizeof(why));
	free(body.body);
	if (i < 0) {
		snprintf(err, errlen, "checkpoint: %s", why);
		goto done;
	}
	if (b->end >= cp.size) {
		snprintf(err, errlen, "the checkpoint holds %" PRIu64 " entries: "
		    "--end must be below that", cp.size);
		goto done;
	}
	r->pin = 1;         /* at most one tile a level: 8 of HT_CACHE */
	i = ct_tiles_root(cp.size, t_get, r, root);
	r->pin = 0;
	if (i <= 0 || memcmp(root, cp.root_hash, STH_HASH_LEN) != 0) {
		snprintf(err, errlen, "the hash tiles do not hash to the root of "
		    "the checkpoint of size %" PRIu64 "%s%s", cp.size,
		    r->err[0] ? ": " : "", r->err);
		goto done;
	}
	for (k = b->next / CT_TILE_WIDTH; k <= b->end / CT_TILE_WIDTH; k++)
		if (t_tile(r, k, cp.size, err, errlen) < 0)
			goto done;
	rc = 0;
done:
	for (i = 0; i < HT_CACHE; i++)
		free(r->cache[i].h);
	free(r);
	return rc;
}
