/* CT entry decoding (RFC 6962 leaves and static-ct-api tile leaves). */
#include "ingest/leaf.h"

#include <string.h>

#include <openssl/evp.h>

/* A bounded reader: every get checks the bytes left first. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static int
rd_uint(struct rd *r, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (r->left < n)
		return LEAF_ETRUNC;
	for (i = 0; i < n; i++)
		x = (x << 8) | r->p[i];
	r->p += n;
	r->left -= n;
	*v = x;
	return 0;
}

static int
rd_bytes(struct rd *r, size_t n, struct leaf_span *s)
{
	if (r->left < n)
		return LEAF_ETRUNC;
	s->p = r->p;
	s->len = n;
	r->p += n;
	r->left -= n;
	return 0;
}

/* opaque<min..2^(8*lenbytes)-1> */
static int
rd_vec(struct rd *r, size_t lenbytes, size_t min, struct leaf_span *s)
{
	uint64_t n;
	int rc;

	if ((rc = rd_uint(r, lenbytes, &n)) != 0)
		return rc;
	if (n < min)
		return min == 1 ? LEAF_EEMPTY : LEAF_ETRUNC;
	return rd_bytes(r, (size_t)n, s);
}

/* ASN.1Cert chain<0..2^24-1> of ASN.1Cert<1..2^24-1>, exactly filling s. */
static int
decode_chain(const struct leaf_span *s, struct leaf_entry *e)
{
	struct rd r = { s->p, s->len };
	int rc;

	e->nchain = 0;
	while (r.left > 0) {
		struct leaf_span c;

		if ((rc = rd_vec(&r, 3, 1, &c)) != 0)
			return rc;
		if (e->nchain == LEAF_MAX_CHAIN)
			return LEAF_ELONG;
		e->chain[e->nchain++] = c;
	}
	return 0;
}

/* TimestampedEntry, up to and including extensions. */
static int
decode_te(struct rd *r, struct leaf_entry *e)
{
	const uint8_t *start = r->p;
	uint64_t ts, type;
	int rc;

	if ((rc = rd_uint(r, 8, &ts)) != 0 || (rc = rd_uint(r, 2, &type)) != 0)
		return rc;
	e->timestamp_ms = ts;
	if (type == 0) {
		e->type = LEAF_X509;
		if ((rc = rd_vec(r, 3, 1, &e->signed_entry)) != 0)
			return rc;
		e->cert = e->signed_entry;
	} else if (type == 1) {
		struct leaf_span ikh;

		e->type = LEAF_PRECERT;
		if ((rc = rd_bytes(r, LEAF_FP_LEN, &ikh)) != 0)
			return rc;
		e->issuer_key_hash = ikh.p;
		if ((rc = rd_vec(r, 3, 1, &e->signed_entry)) != 0)
			return rc;
	} else
		return LEAF_EENTRYTYPE;
	if ((rc = rd_vec(r, 2, 0, &e->extensions)) != 0)
		return rc;
	e->te.p = start;
	e->te.len = (size_t)(r->p - start);
	return 0;
}

int
leaf_decode_rfc6962(const uint8_t *leaf, size_t leaf_len,
    const uint8_t *extra, size_t extra_len, struct leaf_entry *e)
{
	struct rd r = { leaf, leaf_len };
	struct rd x = { extra, extra_len };
	struct leaf_span chain;
	uint64_t ver, lt;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((leaf == NULL && leaf_len > 0) || (extra == NULL && extra_len > 0))
		return LEAF_EARG;
	if ((rc = rd_uint(&r, 1, &ver)) != 0)
		return rc;
	if (ver != 0)
		return LEAF_EVERSION;
	if ((rc = rd_uint(&r, 1, &lt)) != 0)
		return rc;
	if (lt != 0)
		return LEAF_ELEAFTYPE;
	if ((rc = decode_te(&r, e)) != 0)
		return rc;
	if (r.left != 0)
		return LEAF_ETRAIL;
	e->leaf.p = leaf;
	e->leaf.len = leaf_len;

	if (e->type == LEAF_PRECERT &&
	    (rc = rd_vec(&x, 3, 1, &e->cert)) != 0)
		return rc;
	if ((rc = rd_vec(&x, 3, 0, &chain)) != 0)
		return rc;
	if (x.left != 0)
		return LEAF_ETRAIL;
	return decode_chain(&chain, e);
}

/* CtExtensions: a list of {type(1), data<0..2^16-1>}; leaf_index is type 0
 * with exactly 5 bytes, and must appear once. */
static int
decode_leaf_index(struct leaf_entry *e)
{
	struct rd r = { e->extensions.p, e->extensions.len };

	while (r.left > 0) {
		struct leaf_span d;
		uint64_t type;
		int rc;

		if ((rc = rd_uint(&r, 1, &type)) != 0 ||
		    (rc = rd_vec(&r, 2, 0, &d)) != 0)
			return LEAF_EEXT;
		if (type != 0)
			continue;
		if (d.len != 5 || e->has_index)
			return LEAF_EEXT;
		e->index = ((uint64_t)d.p[0] << 32) | ((uint64_t)d.p[1] << 24) |
		    ((uint64_t)d.p[2] << 16) | ((uint64_t)d.p[3] << 8) | d.p[4];
		e->has_index = 1;
	}
	return e->has_index ? 0 : LEAF_EEXT;
}

int
leaf_decode_tile(const uint8_t *buf, size_t len, size_t *off,
    leaf_issuer_fn lookup, void *arg, struct leaf_entry *e)
{
	struct rd r;
	struct leaf_span fps;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((buf == NULL && len > 0) || off == NULL)
		return LEAF_EARG;
	if (*off > len)
		return LEAF_ETRUNC;
	r.p = buf + *off;
	r.left = len - *off;
	if ((rc = decode_te(&r, e)) != 0)
		return rc;
	if (e->type == LEAF_PRECERT &&
	    (rc = rd_vec(&r, 3, 1, &e->cert)) != 0)
		return rc;
	if ((rc = rd_vec(&r, 2, 0, &fps)) != 0)
		return rc;
	if (fps.len % LEAF_FP_LEN != 0)
		return LEAF_ETRUNC;
	if (fps.len / LEAF_FP_LEN > LEAF_MAX_CHAIN)
		return LEAF_ELONG;
	e->is_static = 1;
	e->leaf = e->te;
	e->chain_fp = fps.p;
	e->nchain_fp = fps.len / LEAF_FP_LEN;
	if ((rc = decode_leaf_index(e)) != 0)
		return rc;
	if (lookup != NULL && (rc = leaf_resolve_chain(e, lookup, arg)) != 0)
		return rc;
	*off = (size_t)(r.p - buf);
	return 0;
}

int
leaf_resolve_chain(struct leaf_entry *e, leaf_issuer_fn lookup, void *arg)
{
	size_t i;

	e->nchain = 0;
	for (i = 0; i < e->nchain_fp; i++) {
		struct leaf_span s = { NULL, 0 };

		if (lookup(arg, e->chain_fp + i * LEAF_FP_LEN, &s.p, &s.len) != 0 ||
		    s.p == NULL || s.len == 0) {
			e->nchain = 0;
			return LEAF_EISSUER;
		}
		e->chain[i] = s;
	}
	e->nchain = e->nchain_fp;
	return 0;
}

int
leaf_hash_bytes(const uint8_t *leaf, size_t len, int tile_entry,
    uint8_t out[32])
{
	static const uint8_t pfx_static[3] = { 0, 0, 0 };
	static const uint8_t pfx_rfc[1] = { 0 };
	/* one context and one fetched digest for every leaf of the thread:
	 * a context per hash, and EVP_sha256()'s provider look-up, cost as
	 * much as hashing a small leaf (kept to the end: still reachable) */
	static _Thread_local EVP_MD_CTX *ctx;
	static _Thread_local EVP_MD *md;

	if (ctx == NULL && (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (md == NULL && (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return -1;
	/* static tiles hold only the TimestampedEntry: the MerkleTreeLeaf
	 * header (version 0, leaf_type 0) is implied. */
	if (EVP_DigestInit_ex(ctx, md, NULL) &&
	    (tile_entry ? EVP_DigestUpdate(ctx, pfx_static, 3)
			: EVP_DigestUpdate(ctx, pfx_rfc, 1)) &&
	    EVP_DigestUpdate(ctx, leaf, len) &&
	    EVP_DigestFinal_ex(ctx, out, NULL))
		return 0;
	return -1;
}

int
leaf_hash(const struct leaf_entry *e, uint8_t out[32])
{
	return leaf_hash_bytes(e->leaf.p, e->leaf.len, e->is_static, out);
}

const char *
leaf_strerror(int err)
{
	switch (err) {
	case LEAF_OK: return "ok";
	case LEAF_ETRUNC: return "truncated: a length runs past the bytes present";
	case LEAF_ETRAIL: return "trailing bytes after the structure";
	case LEAF_ELONG: return "over-long: a length or count above its bound";
	case LEAF_EVERSION: return "unknown MerkleTreeLeaf version";
	case LEAF_ELEAFTYPE: return "unknown MerkleTreeLeaf leaf_type";
	case LEAF_EENTRYTYPE: return "unknown entry_type";
	case LEAF_EEMPTY: return "empty certificate";
	case LEAF_EEXT: return "bad CT extensions or leaf_index";
	case LEAF_EISSUER: return "issuer fingerprint unknown to the lookup";
	case LEAF_EARG: return "bad argument";
	}
	return "unknown leaf error";
}
