/*
 * The static-ct-api poller of one log: the checkpoint every poll interval
 * (signed note verified with the log key before anything is trusted), then
 * the data tiles of the new range (full tiles, and the partial tile `.p/W`
 * at the right edge; gzip bodies are decoded by the fetcher), decoded with
 * leaf_decode_tile, chains resolved from issuer/<hex fingerprint> through a
 * bounded cache, published in index order. A data tile is published only
 * once proven part of the signed tree: its leaf hashes equal its level-0
 * hash tile, each full hash tile hashes to its entry in the tile above, up
 * to the right edge, and the root recomputed from the right-edge tiles is
 * the checkpoint's. A grown checkpoint is taken only once proven to
 * extend the last verified one: the old root recomputed from the new tree's
 * hash tiles, each bound to the new root (else the log stops: "fork"). A
 * tile whose entry count, leaf_index or hashes disagree, a shrinking tree
 * or a bad signature stops the log.
 */
#ifndef INGEST_CT_TILES_H
#define INGEST_CT_TILES_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/ct.h"

#define CT_TILE_WIDTH 256

/* "x001/x234/067" for n = 1234067: the tlog-tiles path of tile index n. */
void ct_tiles_path(uint64_t n, char *buf, size_t len);

/* The Merkle subtree hash of n (a power of two, <= 256) consecutive
 * node hashes. */
void ct_tiles_subtree(const uint8_t *h, unsigned n, uint8_t out[32]);

/* Hash tile (level, idx) with at least width hashes: 1 and *tile, 0 if
 * absent, -1 if it cannot be trusted. */
typedef int (*ct_tiles_get_fn)(void *arg, unsigned level, uint64_t idx,
    unsigned width, const uint8_t **tile);

/*
 * The root of the tree of `size` leaves from its hash tiles (tlog-tiles:
 * level L holds the nodes of tree level 8L): its complete subtrees, right
 * to left, each from the right-edge tile of its level. 1 and out, 0 if a
 * tile is missing (every missing tile has been asked of get), -1 if get
 * refused one.
 */
int ct_tiles_root(uint64_t size, ct_tiles_get_fn get, void *arg,
    uint8_t out[32]);

/*
 * Bind hash tile (level, idx) of the tree of n leaves to the hash tiles
 * ct_tiles_root() checks against the root: a tile at the right edge is one
 * of them; a full one is bound through its subtree hash in the tile above,
 * up to the right edge. 1 and *out (the tile), 0 if a tile is missing, -1
 * if a tile disagrees with the one above (or get refused one).
 */
int ct_tiles_bind(unsigned level, uint64_t idx, uint64_t n,
    ct_tiles_get_fn get, void *arg, const uint8_t **out);

int ct_tiles_start(struct ct_log *l);
void ct_tiles_stop(struct ct_log *l);

#endif
