#include "tests/fakelog/fl_merkle.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

void
fl_merkle_free(struct fl_merkle *m)
{
	for (int l = 0; l < FL_MERKLE_LEVELS; l++)
		free(m->lv[l]);
	memset(m, 0, sizeof(*m));
}

void
fl_merkle_leaf_hash(const uint8_t *leaf, size_t len, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t z = 0;

	/* Only allocation failure can fail here: abort, a test tool. */
	if (c == NULL || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, &z, 1) || !EVP_DigestUpdate(c, leaf, len) ||
	    !EVP_DigestFinal_ex(c, out, NULL))
		abort();
	EVP_MD_CTX_free(c);
}

static void
node_hash(const uint8_t *l, const uint8_t *r, uint8_t out[32])
{
	uint8_t in[65];

	in[0] = 1;
	memcpy(in + 1, l, 32);
	memcpy(in + 33, r, 32);
	SHA256(in, sizeof(in), out);
}

static int
level_put(struct fl_merkle *m, int l, size_t idx, const uint8_t h[32])
{
	if (idx >= m->lvcap[l]) {
		size_t cap = m->lvcap[l] ? m->lvcap[l] * 2 : 1024;
		void *np = realloc(m->lv[l], cap * 32);

		if (np == NULL)
			return -1;
		m->lv[l] = np;
		m->lvcap[l] = cap;
	}
	memcpy(m->lv[l][idx], h, 32);
	return 0;
}

int
fl_merkle_append(struct fl_merkle *m, const uint8_t hash[32])
{
	size_t idx = m->n;
	uint8_t h[32];

	memcpy(h, hash, 32);
	if (level_put(m, 0, idx, h) < 0)
		return -1;
	/* Each time the new leaf completes a right child, its parent exists. */
	for (int l = 0; (idx & 1) && l + 1 < FL_MERKLE_LEVELS; l++) {
		node_hash(m->lv[l][idx - 1], m->lv[l][idx], h);
		idx >>= 1;
		if (level_put(m, l + 1, idx, h) < 0)
			return -1;
	}
	m->n++;
	return 0;
}

const uint8_t *
fl_merkle_node(const struct fl_merkle *m, int level, size_t idx)
{
	if (level < 0 || level >= FL_MERKLE_LEVELS)
		return NULL;
	if (((idx + 1) << level) > m->n)
		return NULL;
	return m->lv[level][idx];
}

static size_t
split(size_t n)
{
	size_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* MTH(D[lo:hi]); lo is always aligned to the largest power of two < hi-lo. */
static void
mth(const struct fl_merkle *m, size_t lo, size_t hi, uint8_t out[32])
{
	size_t n = hi - lo, k;
	uint8_t a[32], b[32];

	if (n == 0) {
		SHA256(NULL, 0, out);
		return;
	}
	if ((n & (n - 1)) == 0 && lo % n == 0) {
		int l = __builtin_ctzll(n);

		memcpy(out, m->lv[l][lo >> l], 32);
		return;
	}
	k = split(n);
	mth(m, lo, lo + k, a);
	mth(m, lo + k, hi, b);
	node_hash(a, b, out);
}

void
fl_merkle_root(const struct fl_merkle *m, size_t n, uint8_t out[32])
{
	mth(m, 0, n, out);
}

static size_t
path(const struct fl_merkle *m, size_t idx, size_t lo, size_t hi,
    uint8_t out[][32], size_t at)
{
	size_t n = hi - lo, k;

	if (n <= 1)
		return at;
	k = split(n);
	if (idx < k) {
		at = path(m, idx, lo, lo + k, out, at);
		mth(m, lo + k, hi, out[at]);
	} else {
		at = path(m, idx - k, lo + k, hi, out, at);
		mth(m, lo, lo + k, out[at]);
	}
	return at + 1;
}

size_t
fl_merkle_audit(const struct fl_merkle *m, size_t index, size_t n,
    uint8_t out[][32])
{
	if (index >= n || n > m->n)
		return 0;
	return path(m, index, 0, n, out, 0);
}

static size_t
subproof(const struct fl_merkle *m, size_t m1, size_t lo, size_t hi, int b,
    uint8_t out[][32], size_t at)
{
	size_t n = hi - lo, k;

	if (m1 == n) {
		if (b)
			return at;
		mth(m, lo, hi, out[at]);
		return at + 1;
	}
	k = split(n);
	if (m1 <= k) {
		at = subproof(m, m1, lo, lo + k, b, out, at);
		mth(m, lo + k, hi, out[at]);
	} else {
		at = subproof(m, m1 - k, lo + k, hi, 0, out, at);
		mth(m, lo, lo + k, out[at]);
	}
	return at + 1;
}

size_t
fl_merkle_consistency(const struct fl_merkle *m, size_t m1, size_t n,
    uint8_t out[][32])
{
	if (m1 == 0 || m1 >= n || n > m->n)
		return 0;
	return subproof(m, m1, 0, n, 1, out, 0);
}
