/*
 * RFC 6962 §2.1 Merkle tree over leaf hashes, stored as every complete
 * subtree hash per level (level 0 = leaves), so a root, an audit path, a
 * consistency proof or a static-ct-api hash tile costs O(log n) lookups.
 */
#ifndef FAKELOG_FL_MERKLE_H
#define FAKELOG_FL_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define FL_MERKLE_LEVELS 48
#define FL_PROOF_MAX 128

struct fl_merkle {
	size_t n;                                 /* leaves */
	uint8_t (*lv[FL_MERKLE_LEVELS])[32];      /* complete subtree hashes */
	size_t lvcap[FL_MERKLE_LEVELS];
};

void fl_merkle_free(struct fl_merkle *m);
/* SHA-256(0x00 || leaf). */
void fl_merkle_leaf_hash(const uint8_t *leaf, size_t len, uint8_t out[32]);
int fl_merkle_append(struct fl_merkle *m, const uint8_t hash[32]);
/* MTH of the first n leaves (n <= m->n). */
void fl_merkle_root(const struct fl_merkle *m, size_t n, uint8_t out[32]);
/* Complete subtree hash at level, index (2^level leaves). NULL if absent. */
const uint8_t *fl_merkle_node(const struct fl_merkle *m, int level, size_t idx);
/* RFC 6962 PATH(index, D[0:n]) and PROOF(m1, D[0:n]). Return hash count. */
size_t fl_merkle_audit(const struct fl_merkle *m, size_t index, size_t n,
    uint8_t out[][32]);
size_t fl_merkle_consistency(const struct fl_merkle *m, size_t m1, size_t n,
    uint8_t out[][32]);

#endif
