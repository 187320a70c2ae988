/*
 * Chain certificates, held once and named by SHA-256: the fingerprints
 * static-ct-api tiles carry and /issuer/<hex> serves.
 */
#ifndef FAKELOG_FL_POOL_H
#define FAKELOG_FL_POOL_H

#include <stddef.h>
#include <stdint.h>

struct fl_cert {
	uint8_t *der;
	size_t len;
	uint8_t sha256[32];
};

struct fl_pool {
	struct fl_cert *v;
	size_t n;
	size_t cap;
};

void fl_pool_free(struct fl_pool *pool);
/* Adds (or finds) a certificate. Returns its index, or -1 (no memory). */
long fl_pool_add(struct fl_pool *pool, const uint8_t *der, size_t len);
long fl_pool_find(const struct fl_pool *pool, const uint8_t sha256[32]);

#endif
