/*
 * The bounded issuer cache of one static-ct-api log (issuer_cache.h).
 */
#include "ingest/issuer_cache.h"

#include <stdlib.h>
#include <string.h>

const struct issuer *
issuer_cache_find(struct issuer_cache *c, const uint8_t fp[LEAF_FP_LEN])
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (memcmp(c->e[i].fp, fp, LEAF_FP_LEN) == 0) {
			c->e[i].used = ++c->tick;
			return &c->e[i];
		}
	}
	return NULL;
}

int
issuer_cache_lookup(void *arg, const uint8_t fp[LEAF_FP_LEN],
    const uint8_t **der, size_t *len)
{
	const struct issuer *is = issuer_cache_find(arg, fp);

	if (is == NULL)
		return -1;
	*der = is->der;
	*len = is->len;
	return 0;
}

size_t
issuer_cache_add(struct issuer_cache *c, const uint8_t fp[LEAF_FP_LEN],
    uint8_t *der, size_t len)
{
	struct issuer *is;
	size_t i, lru;

	while (c->n > 0 && (c->n >= ISSUER_CACHE_MAX ||
	    c->bytes + len > ISSUER_CACHE_BYTES)) {
		for (lru = 0, i = 1; i < c->n; i++)
			if (c->e[i].used < c->e[lru].used)
				lru = i;
		c->bytes -= c->e[lru].len;
		free(c->e[lru].der);
		c->e[lru] = c->e[--c->n];
	}
	is = &c->e[c->n++];
	memcpy(is->fp, fp, LEAF_FP_LEN);
	is->der = der;
	is->len = len;
	is->used = ++c->tick;
	c->bytes += len;
	return c->n;
}

void
issuer_cache_free(struct issuer_cache *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->e[i].der);
	memset(c, 0, sizeof(*c));
}
