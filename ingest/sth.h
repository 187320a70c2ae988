/*
 * RFC 6962 signed tree heads: parse a get-sth response and verify its
 * signature (§3.5) with the log's key from the log list. Also the pieces a
 * signed-note checkpoint shares with it: the log key (base64 DER SPKI), the
 * TreeHeadSignature input and the DigitallySigned check.
 *
 * Helpers here never log: they return 0/-1 and fill err.
 */
#ifndef INGEST_STH_H
#define INGEST_STH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define STH_HASH_LEN 32
#define STH_SIG_MAX 1024
/* version(1) type(1) timestamp(8) tree_size(8) root(32) */
#define STH_TBS_LEN 50

struct sth {
	uint64_t tree_size;
	uint64_t timestamp;                 /* ms since the epoch */
	uint8_t root_hash[STH_HASH_LEN];
	uint8_t sig[STH_SIG_MAX];           /* DigitallySigned, TLS encoded */
	size_t sig_len;
};

/* A log's public key: the DER SubjectPublicKeyInfo and the parsed key. */
struct sth_key {
	EVP_PKEY *pkey;
	uint8_t *der;
	size_t der_len;
	uint8_t log_id[STH_HASH_LEN];      /* SHA-256 of the DER */
};

/* Decode a base64 DER SubjectPublicKeyInfo (ECDSA or RSA). */
int sth_key_init(struct sth_key *k, const char *b64, char *err, size_t errlen);
void sth_key_fini(struct sth_key *k);

/* Parse a get-sth JSON body. Every field is required and checked. */
int sth_parse(const char *json, size_t len, struct sth *out, char *err,
    size_t errlen);

/* The TreeHeadSignature structure (RFC 6962 §3.5) that is signed. */
void sth_tbs(uint64_t timestamp, uint64_t tree_size,
    const uint8_t root[STH_HASH_LEN], uint8_t out[STH_TBS_LEN]);

/*
 * Check a TLS DigitallySigned (hash alg, sig alg, u16 length, signature)
 * over msg: hash must be SHA-256, the signature algorithm must match the
 * key's type (ECDSA or RSA PKCS#1 v1.5), and nothing may follow it.
 */
int sth_verify_ds(const struct sth_key *k, const uint8_t *msg, size_t msglen,
    const uint8_t *ds, size_t dslen, char *err, size_t errlen);

/* Verify an STH's tree head signature with the log's key. */
int sth_verify(const struct sth *s, const struct sth_key *k, char *err,
    size_t errlen);

#define STH_PROOF_MAX 64

/* Parse a get-sth-consistency body: {"consistency": [base64 hash, ...]}.
 * Returns the number of hashes (into proof), or -1. */
int sth_consistency_parse(const char *json, size_t len,
    uint8_t proof[][STH_HASH_LEN], size_t max, char *err, size_t errlen);

/*
 * Verify that the tree (size2, root2) extends the tree (size1, root1)
 * with the consistency proof (RFC 9162 §2.1.4.2, the RFC 6962 proof).
 * size1 == 0 is consistent with anything; size1 == size2 needs equal roots
 * and an empty proof.
 */
int sth_consistency_verify(uint64_t size1, const uint8_t root1[STH_HASH_LEN],
    uint64_t size2, const uint8_t root2[STH_HASH_LEN],
    const uint8_t proof[][STH_HASH_LEN], size_t n, char *err, size_t errlen);

/*
 * The collapsed Merkle tree of a log's first `size` leaves: the root of
 * each complete subtree, one per set bit of size (node[b] for bit b). It is
 * all that is needed to append the next leaves and compute the root of the
 * larger tree, so a monitor can check the entries it fetched against a
 * signed tree head without keeping them.
 */
struct sth_frontier {
	uint64_t size;
	uint8_t node[64][STH_HASH_LEN];
};

/* Verify as sth_consistency_verify() and take the frontier of the first
 * tree (size1 > 0, size1 < size2) from the proof. 0 or -1. */
int sth_consistency_frontier(uint64_t size1, const uint8_t root1[STH_HASH_LEN],
    uint64_t size2, const uint8_t root2[STH_HASH_LEN],
    const uint8_t proof[][STH_HASH_LEN], size_t n, struct sth_frontier *f,
    char *err, size_t errlen);

/* Append a leaf by its leaf hash (leaf_hash_bytes()). 0 or -1. */
int sth_frontier_append(struct sth_frontier *f,
    const uint8_t leaf_hash[STH_HASH_LEN]);

/* SHA-256(0x01 || l || r): an interior node of a Merkle tree. 0 or -1. */
int sth_node_hash(const uint8_t l[STH_HASH_LEN], const uint8_t r[STH_HASH_LEN],
    uint8_t out[STH_HASH_LEN]);

/* The root of the tree of f->size leaves. 0 or -1. */
int sth_frontier_root(const struct sth_frontier *f, uint8_t out[STH_HASH_LEN]);

/* Parse a get-proof-by-hash body: {"leaf_index": N, "audit_path": [base64
 * hash, ...]}. Returns the number of hashes (into path), or -1. */
int sth_inclusion_parse(const char *json, size_t len, uint64_t *leaf_index,
    uint8_t path[][STH_HASH_LEN], size_t max, char *err, size_t errlen);

/*
 * Verify that leaf_hash is leaf `index` of the tree (size, root) with the
 * audit path (RFC 9162 §2.1.3.2), and take the frontier of the first
 * `index` leaves from it: the path's left siblings are exactly the
 * complete subtrees before the leaf, so a monitor can check leaves from
 * `index` on without fetching the ones before. 0 or -1.
 */
int sth_inclusion_frontier(uint64_t index, uint64_t size,
    const uint8_t root[STH_HASH_LEN], const uint8_t leaf_hash[STH_HASH_LEN],
    const uint8_t path[][STH_HASH_LEN], size_t n, struct sth_frontier *f,
    char *err, size_t errlen);

#endif
