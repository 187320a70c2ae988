/*
 * The state one static-ct-api poller shares between its files: ct_tiles.c
 * (its life, checkpoints, proving them), ct_tiles_data.c (data tiles and
 * publishing), ct_tiles_issuer.c (issuers) and ct_tiles_hash.c (hash
 * tiles: cache, fetching, and the proofs built on them). Private to them.
 */
#ifndef INGEST_CT_TILES_PRIV_H
#define INGEST_CT_TILES_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#include "ingest/checkpoint.h"
#include "ingest/ct.h"
#include "ingest/ct_pace.h"
#include "ingest/ct_tiles.h"
#include "ingest/fetch.h"
#include "ingest/issuer_cache.h"

#define CT_TILES_MAX_WINDOWS 64
#define CT_TILES_MAX_IREQ 16
#define CT_TILES_HT_CACHE 64
#define CT_TILES_MAX_HREQ 16

struct tiles;

/*
 * One data tile request: tile n, `width` leaves (256, or W for the partial
 * n.p/W at the tree's edge), publishing entries from `from` on. `base`
 * bytes of body were kept from the same tile's last partial, so only the
 * bytes after them were asked for (a Range request).
 */
struct twin {
	int used;
	uint64_t tile, width, from;
	struct fetch_req *req;
	int done, failed, attempts;
	int checked;                /* pass 1 passed: count and leaf_index */
	int verified;               /* its leaves are proven in the tree */
	int slot;                   /* holds one of the operator's slots */
	uint8_t *body;
	size_t len, base;
	struct tiles *t;
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
	unsigned have;              /* hashes kept from a narrower copy */
	int fallback;
	struct fetch_req *req;
	struct tiles *t;
};

/* A tree head: signature checked; adopted once its tiles prove it. */
struct tree_head {
	uint64_t size;
	uint8_t root[STH_HASH_LEN];
};

struct tiles {
	struct ct_log *l;
	struct ct_pace pace;
	struct fetch_req *cp_req;

	/* The newest checkpoint whose signature verified (not yet proven
	 * consistent), the one being proven, and the last one proven: the
	 * tree everything published is checked against. */
	struct tree_head latest, pending, tree;
	int have_latest, have_pending, have_tree;
	uint8_t last_note[SHA256_DIGEST_LENGTH];  /* hash of latest's note */
	int64_t stale_since;        /* monotonic ms: only older ones served */

	/* Data tiles: windows in flight, the next index to ask for, and the
	 * last partial tile fetched (kept to ask for its new bytes only). */
	struct twin win[CT_TILES_MAX_WINDOWS];
	uint64_t fetch_next;
	size_t tile_bytes;          /* the last full data tile's size; 0: none yet */
	struct {
		uint64_t tile, width;
		uint8_t *body;
		size_t len;
	} edge;
	uint64_t asked_tile, asked_width;  /* the last partial asked for */
	int64_t edge_at;            /* monotonic ms: when */
	int64_t tile_done_at;       /* monotonic ms: a tile was seen complete */
	int no_range;               /* the log ignores or mangles Range */

	struct issuer_cache cache;
	uint64_t tick;
	struct ireq ireq[CT_TILES_MAX_IREQ];

	struct htile ht[CT_TILES_HT_CACHE];
	struct hreq hreq[CT_TILES_MAX_HREQ];
	struct tree_head vroot[4];  /* roots recomputed from the tiles */
	unsigned nvroot;
};

/* ---- ct_tiles_hash.c ---- */

/* Hash tile (level, idx) with at least width hashes, or NULL after asking
 * for it (its arrival calls ct_tiles_progress). */
const uint8_t *ct_tiles_need_htile(struct tiles *t, unsigned level,
    uint64_t idx, unsigned width);

/* Is (size, root) the root of the hash tiles? 1 yes, 0 waiting, -1 no
 * (the log failed). */
int ct_tiles_verify_root(struct tiles *t, uint64_t size,
    const uint8_t root[STH_HASH_LEN]);

/* Hash tile (level, idx) of the tree of n leaves, bound to that tree's
 * root. 1 and *out, 0 waiting, -1 a tile disagrees with the one above. */
int ct_tiles_bound(struct tiles *t, unsigned level, uint64_t idx, uint64_t n,
    const uint8_t **out);

/* Does head h extend the last proven tree (or, before any, the one a
 * previous ingest proved)? 1 yes, 0 waiting for hash tiles, -1 no (the
 * log failed). */
int ct_tiles_successor(struct tiles *t, const struct tree_head *h);

/* Cancel hash tile requests; free the cache. */
void ct_tiles_hash_halt(struct tiles *t);
void ct_tiles_hash_free(struct tiles *t);

/* ---- ct_tiles.c ---- */

/* Something arrived (a hash tile, an issuer): prove, publish, ask on. */
void ct_tiles_progress(struct tiles *t);

/* ---- ct_tiles_data.c ---- */

/* Publish proven tiles from the front, in index order. */
void ct_tiles_drain(struct tiles *t);

/* Ask for the tiles the newest head names beyond what is in flight. */
void ct_tiles_fill(struct tiles *t);

/* Cancel window w and free what it holds (its operator slot too). */
void ct_tiles_win_clear(struct twin *w);

/* Free the kept partial tile at the tree's edge. */
void ct_tiles_edge_free(struct tiles *t);

/* ---- ct_tiles_issuer.c ---- */

/* Ask for issuer fp unless cached or asked. 0 when it is cached. */
int ct_tiles_need_issuer(struct tiles *t, const uint8_t *fp);

/* Cancel the issuer requests in flight. */
void ct_tiles_issuer_halt(struct tiles *t);

/* Stop the log's poller for good (it failed). */
void ct_tiles_halt(struct tiles *t);

#endif
