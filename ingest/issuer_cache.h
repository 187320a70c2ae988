/*
 * The issuer certificates a static-ct-api log names by SHA-256 fingerprint,
 * kept once fetched: bounded by count and by bytes, least recently used
 * evicted first, so a log cannot make the ingest hold more than
 * ISSUER_CACHE_BYTES of them however many or large it names.
 */
#ifndef INGEST_ISSUER_CACHE_H
#define INGEST_ISSUER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/leaf.h"

#define ISSUER_CACHE_MAX 512               /* issuers kept per log */
/* A real issuer certificate is 1-2 KiB; 16 KiB is far above any seen. */
#define ISSUER_MAX_BYTES 16384
#define ISSUER_CACHE_BYTES (2u << 20)      /* kept per log, at most */

struct issuer {
	uint8_t fp[LEAF_FP_LEN];
	uint8_t *der;
	size_t len;
	uint64_t used;              /* LRU tick */
};

struct issuer_cache {
	struct issuer e[ISSUER_CACHE_MAX];
	size_t n, bytes;
	uint64_t tick;
};

/* The issuer with fingerprint fp (marked used), or NULL. */
const struct issuer *issuer_cache_find(struct issuer_cache *c,
    const uint8_t fp[LEAF_FP_LEN]);

/* A leaf_issuer_fn over the cache (arg: the cache). */
int issuer_cache_lookup(void *arg, const uint8_t fp[LEAF_FP_LEN],
    const uint8_t **der, size_t *len);

/* Keep der (owned from now on; len <= ISSUER_MAX_BYTES), evicting the
 * least recently used until count and bytes fit. Returns how many the
 * cache holds now. Never called while entries point into the cache. */
size_t issuer_cache_add(struct issuer_cache *c,
    const uint8_t fp[LEAF_FP_LEN], uint8_t *der, size_t len);

void issuer_cache_free(struct issuer_cache *c);

#endif
