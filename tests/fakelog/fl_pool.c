#include "tests/fakelog/fl_pool.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

void
fl_pool_free(struct fl_pool *pool)
{
	for (size_t i = 0; i < pool->n; i++)
		free(pool->v[i].der);
	free(pool->v);
	memset(pool, 0, sizeof(*pool));
}

long
fl_pool_find(const struct fl_pool *pool, const uint8_t sha256[32])
{
	for (size_t i = 0; i < pool->n; i++)
		if (memcmp(pool->v[i].sha256, sha256, 32) == 0)
			return (long)i;
	return -1;
}

long
fl_pool_add(struct fl_pool *pool, const uint8_t *der, size_t len)
{
	uint8_t h[32];
	long i;
	struct fl_cert *c;

	SHA256(der, len, h);
	if ((i = fl_pool_find(pool, h)) >= 0)
		return i;
	if (pool->n == pool->cap) {
		size_t cap = pool->cap ? pool->cap * 2 : 16;
		void *np = realloc(pool->v, cap * sizeof(*pool->v));

		if (np == NULL)
			return -1;
		pool->v = np;
		pool->cap = cap;
	}
	c = &pool->v[pool->n];
	if ((c->der = malloc(len)) == NULL)
		return -1;
	memcpy(c->der, der, len);
	c->len = len;
	memcpy(c->sha256, h, 32);
	return (long)pool->n++;
}
