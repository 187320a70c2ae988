/*
 * A CT log entry held once, encoded on demand into each wire form:
 * RFC 6962 MerkleTreeLeaf + extra_data, and static-ct-api TileLeaf.
 * Chain certificates live in a pool (fl_pool.h).
 */
#ifndef FAKELOG_FL_ENTRY_H
#define FAKELOG_FL_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "tests/fakelog/fl_buf.h"
#include "tests/fakelog/fl_pool.h"

#define FL_CHAIN_MAX 8
#define FL_X509_ENTRY 0
#define FL_PRECERT_ENTRY 1

struct fl_entry {
	uint64_t ts;                 /* ms since the epoch */
	uint16_t type;               /* FL_X509_ENTRY or FL_PRECERT_ENTRY */
	uint8_t ikh[32];             /* precert: issuer_key_hash */
	uint8_t *cert;               /* x509: certificate; precert: TBS */
	size_t cert_len;
	uint8_t *precert;            /* precert: pre_certificate */
	size_t precert_len;
	uint8_t *ext;                /* CtExtensions as logged */
	size_t ext_len;
	uint32_t chain[FL_CHAIN_MAX];
	uint8_t nchain;
};

void fl_entry_free(struct fl_entry *e);

/* ext == NULL: the entry's own extensions. */
void fl_entry_leaf(const struct fl_entry *e, const uint8_t *ext,
    size_t ext_len, struct fl_buf *out);
void fl_entry_extra(const struct fl_entry *e, const struct fl_pool *pool,
    struct fl_buf *out);
void fl_entry_tile_leaf(const struct fl_entry *e, const uint8_t *ext,
    size_t ext_len, const struct fl_pool *pool, struct fl_buf *out);
/* static-ct-api leaf_index extension (type 0, uint40). out: 8 bytes. */
void fl_entry_leaf_index_ext(uint64_t index, uint8_t out[8]);

int fl_entry_parse_rfc(const uint8_t *leaf, size_t leaf_len,
    const uint8_t *extra, size_t extra_len, struct fl_pool *pool,
    struct fl_entry *out, char *err, size_t errlen);
/* One TileLeaf from r; fingerprints must be in the pool. */
int fl_entry_parse_tile(struct fl_rd *r, const struct fl_pool *pool,
    struct fl_entry *out, char *err, size_t errlen);

#endif
