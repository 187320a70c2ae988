/*
 * CT log entry decoding: bytes to a struct of spans into the caller's buffers.
 *
 * RFC 6962 (get-entries leaf_input + extra_data):
 *   MerkleTreeLeaf  = version(1)=0 leaf_type(1)=0 TimestampedEntry
 *   TimestampedEntry = timestamp(8) entry_type(2)
 *                      x509_entry:    cert<1..2^24-1>
 *                      precert_entry: issuer_key_hash[32] tbs<1..2^24-1>
 *                      extensions<0..2^16-1>
 *   extra_data, x509:    chain<0..2^24-1> of cert<1..2^24-1>
 *   extra_data, precert: pre_certificate<1..2^24-1> chain<0..2^24-1>
 *
 * static-ct-api (c2sp.org/static-ct-api) data tiles: TileLeaf back to back
 *   TileLeaf = TimestampedEntry
 *              x509_entry:    fingerprints<0..2^16-1> of [32]
 *              precert_entry: pre_certificate<1..2^24-1> fingerprints<0..2^16-1>
 *   TimestampedEntry.extensions carries leaf_index: type(1)=0 len(2)=5 idx(5).
 *   The chain is a list of SHA-256 fingerprints of issuers: the caller's
 *   lookup turns them into DER.
 *
 * Nothing is copied or allocated: every pointer in struct leaf_entry points
 * into the input buffers, which must outlive the entry. Every length is
 * checked against the bytes present; errors are negative LEAF_E* codes.
 */
#ifndef INGEST_LEAF_H
#define INGEST_LEAF_H

#include <stddef.h>
#include <stdint.h>

#define LEAF_MAX_CHAIN 16      /* longer chains are refused (LEAF_ECHAIN) */
#define LEAF_FP_LEN 32         /* SHA-256 fingerprint / issuer key hash */

enum leaf_type { LEAF_X509 = 0, LEAF_PRECERT = 1 };

enum leaf_err {
	LEAF_OK = 0,
	LEAF_ETRUNC = -1,      /* a length or field runs past the bytes present */
	LEAF_ETRAIL = -2,      /* bytes left over after the structure */
	LEAF_ELONG = -3,       /* a length above its bound (e.g. 2^24-1, chain > LEAF_MAX_CHAIN) */
	LEAF_EVERSION = -4,    /* MerkleTreeLeaf version not v1 (0) */
	LEAF_ELEAFTYPE = -5,   /* MerkleTreeLeaf leaf_type not timestamped_entry (0) */
	LEAF_EENTRYTYPE = -6,  /* entry_type neither x509_entry nor precert_entry */
	LEAF_EEMPTY = -7,      /* a certificate of length 0 (minimum is 1) */
	LEAF_EEXT = -8,        /* bad CtExtensions / missing or bad leaf_index */
	LEAF_EISSUER = -9,     /* issuer lookup did not know a fingerprint */
	LEAF_EARG = -10        /* NULL buffer with non-zero length */
};

struct leaf_span {
	const uint8_t *p;
	size_t len;
};

struct leaf_entry {
	enum leaf_type type;
	int is_static;                 /* from a static-ct-api tile */
	uint64_t timestamp_ms;         /* TimestampedEntry.timestamp */
	uint64_t index;                /* entry index (leaf_index, or set by the caller) */
	int has_index;                 /* index came from the leaf_index extension */

	struct leaf_span te;           /* the whole TimestampedEntry */
	struct leaf_span leaf;         /* RFC 6962: the whole MerkleTreeLeaf; static: = te */
	struct leaf_span signed_entry; /* x509: the cert DER; precert: TBSCertificate */
	const uint8_t *issuer_key_hash;/* precert only: 32 bytes */
	struct leaf_span extensions;   /* CtExtensions body */

	/* The certificate certstream shows: x509 -> the cert; precert -> the
	 * pre-certificate (extra_data, or the tile leaf). */
	struct leaf_span cert;
	/* SHA-256 of cert when a caller computed it (the ingest pipeline, for
	 * dedup): rendering uses it instead of hashing again. NULL: not known.
	 * The decoders leave it NULL. */
	const uint8_t *cert_sha256;

	/* Issuing chain, leaf's issuer first. Static: filled by
	 * leaf_resolve_chain(); chain_fp lists nchain_fp fingerprints. */
	struct leaf_span chain[LEAF_MAX_CHAIN];
	size_t nchain;
	const uint8_t *chain_fp;       /* static only: nchain_fp * 32 bytes */
	size_t nchain_fp;
};

/* Issuer lookup for static logs: fill *der and *len for the issuer whose
 * SHA-256 of DER is fp; return 0, or -1 when unknown. The bytes must
 * outlive the entry. */
typedef int (*leaf_issuer_fn)(void *arg, const uint8_t fp[LEAF_FP_LEN],
    const uint8_t **der, size_t *len);

/* Decodes one RFC 6962 entry: leaf_input and extra_data, both decoded
 * (base64 is the caller's job). An x509 entry's extra_data is the chain
 * vector (at least its 3 length bytes); a precert's is PrecertChainEntry.
 * e->index is left 0: the caller knows it. Returns 0 or LEAF_E*. */
int leaf_decode_rfc6962(const uint8_t *leaf, size_t leaf_len,
    const uint8_t *extra, size_t extra_len, struct leaf_entry *e);

/* Decodes the TileLeaf at buf[*off] and advances *off past it. If lookup
 * is not NULL the chain is resolved (LEAF_EISSUER if a fingerprint is
 * unknown); with NULL, nchain is 0 and chain_fp/nchain_fp say what to
 * fetch. A leaf without a valid leaf_index extension is LEAF_EEXT.
 * Returns 0 or LEAF_E*; *off is only advanced on success. */
int leaf_decode_tile(const uint8_t *buf, size_t len, size_t *off,
    leaf_issuer_fn lookup, void *arg, struct leaf_entry *e);

/* Fills e->chain from e->chain_fp through lookup. 0 or LEAF_EISSUER. */
int leaf_resolve_chain(struct leaf_entry *e, leaf_issuer_fn lookup, void *arg);

/* RFC 6962 leaf hash: SHA-256(0x00 || MerkleTreeLeaf). For static leaves
 * the MerkleTreeLeaf is 0x00 0x00 || te. Returns 0 or -1 (OpenSSL). */
int leaf_hash(const struct leaf_entry *e, uint8_t out[32]);

/* The same over raw bytes, for an entry that may not decode: `leaf` is the
 * MerkleTreeLeaf, or with `tile_entry` a static tile's TimestampedEntry. */
int leaf_hash_bytes(const uint8_t *leaf, size_t len, int tile_entry,
    uint8_t out[32]);

/* Static text for a LEAF_E* code. */
const char *leaf_strerror(int err);

#endif
