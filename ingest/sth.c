/*
 * RFC 6962 signed tree heads: parsing and signature verification.
 */
#include "ingest/sth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "common/base64.h"

/* TLS HashAlgorithm / SignatureAlgorithm codes (RFC 5246 §7.4.1.4.1). */
#define TLS_HASH_SHA256 4
#define TLS_SIG_RSA 1
#define TLS_SIG_ECDSA 3

int
sth_key_init(struct sth_key *k, const char *b64, char *err, size_t errlen)
{
	const unsigned char *p;
	size_t inlen = strlen(b64);
	long n;
	int id;

	memset(k, 0, sizeof(*k));
	k->der = malloc(inlen / 4 * 3 + 3);
	if (k->der == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n = base64_decode(b64, inlen, k->der, inlen / 4 * 3 + 3);
	if (n <= 0) {
		snprintf(err, errlen, "log key is not base64");
		goto fail;
	}
	k->der_len = (size_t)n;
	p = k->der;
	k->pkey = d2i_PUBKEY(NULL, &p, n);
	if (k->pkey == NULL || p != k->der + n) {
		ERR_clear_error();
		snprintf(err, errlen, "log key is not a DER SubjectPublicKeyInfo");
		goto fail;
	}
	id = EVP_PKEY_get_base_id(k->pkey);
	if (id != EVP_PKEY_EC && id != EVP_PKEY_RSA) {
		snprintf(err, errlen, "log key is neither ECDSA nor RSA");
		goto fail;
	}
	SHA256(k->der, k->der_len, k->log_id);
	return 0;
fail:
	sth_key_fini(k);
	return -1;
}

void
sth_key_fini(struct sth_key *k)
{
	EVP_PKEY_free(k->pkey);
	free(k->der);
	memset(k, 0, sizeof(*k));
}

/* A JSON integer that must be present and non-negative. */
static int
get_u64(json_object *o, const char *key, uint64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	if (json_object_get_int64(v) < 0)
		return -1;
	*out = json_object_get_uint64(v);
	return 0;
}

static const char *
get_str(json_object *o, const char *key, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

int
sth_parse(const char *json, size_t len, struct sth *out, char *err,
    size_t errlen)
{
	struct json_tokener *tok = NULL;
	json_object *o = NULL;
	const char *s;
	size_t slen;
	long n;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	tok = json_tokener_new();
	if (tok == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o == NULL || json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "get-sth: not a JSON object");
		goto done;
	}
	if (get_u64(o, "tree_size", &out->tree_size) < 0) {
		snprintf(err, errlen, "get-sth: bad tree_size");
		goto done;
	}
	if (get_u64(o, "timestamp", &out->timestamp) < 0) {
		snprintf(err, errlen, "get-sth: bad timestamp");
		goto done;
	}
	s = get_str(o, "sha256_root_hash", &slen);
	if (s == NULL || base64_decode(s, slen, out->root_hash,
	    sizeof(out->root_hash)) != STH_HASH_LEN) {
		snprintf(err, errlen, "get-sth: bad sha256_root_hash");
		goto done;
	}
	s = get_str(o, "tree_head_signature", &slen);
	n = s == NULL ? -1 : base64_decode(s, slen, out->sig,
	    sizeof(out->sig));
	if (n < 4) {
		snprintf(err, errlen, "get-sth: bad tree_head_signature");
		goto done;
	}
	out->sig_len = (size_t)n;
	rc = 0;
done:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

void
sth_tbs(uint64_t timestamp, uint64_t tree_size,
    const uint8_t root[STH_HASH_LEN], uint8_t out[STH_TBS_LEN])
{
	out[0] = 0;  /* Version v1 */
	out[1] = 1;  /* SignatureType tree_hash */
	put_u64(out + 2, timestamp);
	put_u64(out + 10, tree_size);
	memcpy(out + 18, root, STH_HASH_LEN);
}

int
sth_verify_ds(const struct sth_key *k, const uint8_t *msg, size_t msglen,
    const uint8_t *ds, size_t dslen, char *err, size_t errlen)
{
	EVP_MD_CTX *ctx = NULL;
	size_t siglen;
	int want, rc = -1;

	if (k->pkey == NULL) {
		snprintf(err, errlen, "no log key");
		goto done;
	}
	if (dslen < 4) {
		snprintf(err, errlen, "signature too short");
		goto done;
	}
	siglen = (size_t)ds[2] << 8 | ds[3];
	if (siglen + 4 != dslen) {
		snprintf(err, errlen, "signature length %zu disagrees with %zu",
		    siglen, dslen - 4);
		goto done;
	}
	if (ds[0] != TLS_HASH_SHA256) {
		snprintf(err, errlen, "signature hash algorithm %u is not SHA-256",
		    ds[0]);
		goto done;
	}
	want = EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_EC ? TLS_SIG_ECDSA :
	    TLS_SIG_RSA;
	if (ds[1] != want) {
		snprintf(err, errlen, "signature algorithm %u does not match the "
		    "log key", ds[1]);
		goto done;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	/* RSA keys default to PKCS#1 v1.5 padding, as RFC 6962 requires. */
	if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestVerify(ctx, ds + 4, siglen, msg, msglen) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "signature does not verify");
		goto done;
	}
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
sth_verify(const struct sth *s, const struct sth_key *k, char *err,
    size_t errlen)
{
	uint8_t tbs[STH_TBS_LEN];

	sth_tbs(s->timestamp, s->tree_size, s->root_hash, tbs);
	return sth_verify_ds(k, tbs, sizeof(tbs), s->sig, s->sig_len, err,
	    errlen);
}

/*
 * A proof answer: a JSON object whose member `key` is an array of base64
 * hashes, decoded into proof[max]; with leaf_index, also its "leaf_index".
 * The number of hashes, or -1 with err naming `what` (the endpoint).
 */
static int
proof_parse(const char *what, const char *json, size_t len, const char *key,
    uint64_t *leaf_index, uint8_t proof[][STH_HASH_LEN], size_t max,
    char *err, size_t errlen)
{
	struct json_tokener *tok = NULL;
	json_object *o = NULL, *arr, *ix = NULL, *h;
	size_t i, n;
	int rc = -1;

	tok = json_tokener_new();
	if (tok == NULL || len > INT32_MAX) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o == NULL || json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(o, json_type_object) ||
	    (leaf_index != NULL &&
	    (!json_object_object_get_ex(o, "leaf_index", &ix) ||
	    !json_object_is_type(ix, json_type_int) ||
	    json_object_get_int64(ix) < 0)) ||
	    !json_object_object_get_ex(o, key, &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "%s: malformed JSON", what);
		goto done;
	}
	if (leaf_index != NULL)
		*leaf_index = json_object_get_uint64(ix);
	n = json_object_array_length(arr);
	if (n > max) {
		snprintf(err, errlen, "%s: %zu hashes", what, n);
		goto done;
	}
	for (i = 0; i < n; i++) {
		h = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(h, json_type_string) ||
		    base64_decode(json_object_get_string(h),
		    (size_t)json_object_get_string_len(h), proof[i],
		    STH_HASH_LEN) != STH_HASH_LEN) {
			snprintf(err, errlen, "%s: bad hash %zu", what, i);
			goto done;
		}
	}
	rc = (int)n;
done:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

int
sth_consistency_parse(const char *json, size_t len,
    uint8_t proof[][STH_HASH_LEN], size_t max, char *err, size_t errlen)
{
	return proof_parse("get-sth-consistency", json, len, "consistency",
	    NULL, proof, max, err, errlen);
}

int
sth_node_hash(const uint8_t l[STH_HASH_LEN], const uint8_t r[STH_HASH_LEN],
    uint8_t out[STH_HASH_LEN])
{
	uint8_t buf[1 + 2 * STH_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, l, STH_HASH_LEN);
	memcpy(buf + 1 + STH_HASH_LEN, r, STH_HASH_LEN);
	return SHA256(buf, sizeof(buf), out) != NULL ? 0 : -1;
}

/* The RFC 9162 walk. With `left`, also collects the nodes that make up
 * the first tree, lowest first: the node the walk starts from, then every
 * left sibling hashed in (*nleft of them; at most 64). */
static int
consistency_walk(uint64_t size1, const uint8_t root1[STH_HASH_LEN],
    uint64_t size2, const uint8_t root2[STH_HASH_LEN],
    const uint8_t proof[][STH_HASH_LEN], size_t n,
    uint8_t left[][STH_HASH_LEN], size_t *nleft, char *err, size_t errlen)
{
	uint8_t fr[STH_HASH_LEN], sr[STH_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (nleft != NULL)
		*nleft = 0;

	if (size1 > size2) {
		snprintf(err, errlen, "consistency: tree shrank");
		return -1;
	}
	if (size1 == 0)
		return 0;
	if (size1 == size2) {
		if (n != 0 || memcmp(root1, root2, STH_HASH_LEN) != 0) {
			snprintf(err, errlen, "consistency: same size, other root");
			return -1;
		}
		return 0;
	}
	if (n == 0) {
		snprintf(err, errlen, "consistency: empty proof");
		return -1;
	}
	/* A power-of-two first tree is itself the proof's first node. */
	if ((size1 & (size1 - 1)) == 0) {
		memcpy(fr, root1, STH_HASH_LEN);
	} else {
		memcpy(fr, proof[0], STH_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, STH_HASH_LEN);
	if (left != NULL)
		memcpy(left[(*nleft)++], fr, STH_HASH_LEN);
	fn = size1 - 1;
	sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++) {
		if (sn == 0) {
			snprintf(err, errlen, "consistency: proof too long");
			return -1;
		}
		if ((fn & 1) || fn == sn) {
			if (left != NULL && *nleft < 64)
				memcpy(left[(*nleft)++], proof[i], STH_HASH_LEN);
			if (sth_node_hash(proof[i], fr, fr) < 0 ||
			    sth_node_hash(proof[i], sr, sr) < 0)
				goto hash;
			if (!(fn & 1)) {
				do {
					fn >>= 1;
					sn >>= 1;
				} while (!(fn & 1) && fn != 0);
			}
		} else if (sth_node_hash(sr, proof[i], sr) < 0) {
			goto hash;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(fr, root1, STH_HASH_LEN) != 0 ||
	    memcmp(sr, root2, STH_HASH_LEN) != 0) {
		snprintf(err, errlen, "consistency proof does not verify");
		return -1;
	}
	return 0;
hash:
	snprintf(err, errlen, "consistency: SHA-256 failed");
	return -1;
}

int
sth_consistency_verify(uint64_t size1, const uint8_t root1[STH_HASH_LEN],
    uint64_t size2, const uint8_t root2[STH_HASH_LEN],
    const uint8_t proof[][STH_HASH_LEN], size_t n, char *err, size_t errlen)
{
	return consistency_walk(size1, root1, size2, root2, proof, n, NULL, NULL,
	    err, errlen);
}

int
sth_consistency_frontier(uint64_t size1, const uint8_t root1[STH_HASH_LEN],
    uint64_t size2, const uint8_t root2[STH_HASH_LEN],
    const uint8_t proof[][STH_HASH_LEN], size_t n, struct sth_frontier *f,
    char *err, size_t errlen)
{
	uint8_t left[64][STH_HASH_LEN];
	size_t nleft = 0, j = 0;
	int b;

	if (size1 == 0 || size1 == size2) {
		snprintf(err, errlen, "consistency: no proof to take a frontier from");
		return -1;
	}
	if (consistency_walk(size1, root1, size2, root2, proof, n, left, &nleft,
	    err, errlen) < 0)
		return -1;
	/* One node per set bit of size1, the lowest bit first. */
	if (nleft != (size_t)__builtin_popcountll(size1)) {
		snprintf(err, errlen, "consistency: %zu nodes for a tree of %"
		    PRIu64, nleft, size1);
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->size = size1;
	for (b = 0; b < 64; b++)
		if (size1 & ((uint64_t)1 << b))
			memcpy(f->node[b], left[j++], STH_HASH_LEN);
	return 0;
}

int
sth_frontier_append(struct sth_frontier *f,
    const uint8_t leaf_hash[STH_HASH_LEN])
{
	uint8_t h[STH_HASH_LEN];
	int b;

	if (f->size == UINT64_MAX)
		return -1;
	memcpy(h, leaf_hash, STH_HASH_LEN);
	/* Carry up through every complete subtree the new leaf closes. */
	for (b = 0; b < 64 && (f->size & ((uint64_t)1 << b)); b++)
		if (sth_node_hash(f->node[b], h, h) < 0)
			return -1;
	memcpy(f->node[b], h, STH_HASH_LEN);
	f->size++;
	return 0;
}

int
sth_frontier_root(const struct sth_frontier *f, uint8_t out[STH_HASH_LEN])
{
	int b, have = 0;

	if (f->size == 0)
		return SHA256(NULL, 0, out) != NULL ? 0 : -1;
	for (b = 0; b < 64; b++) {
		if (!(f->size & ((uint64_t)1 << b)))
			continue;
		if (!have) {
			memcpy(out, f->node[b], STH_HASH_LEN);
			have = 1;
		} else if (sth_node_hash(f->node[b], out, out) < 0) {
			return -1;
		}
	}
	return 0;
}

int
sth_inclusion_parse(const char *json, size_t len, uint64_t *leaf_index,
    uint8_t path[][STH_HASH_LEN], size_t max, char *err, size_t errlen)
{
	return proof_parse("get-proof-by-hash", json, len, "audit_path",
	    leaf_index, path, max, err, errlen);
}

int
sth_inclusion_frontier(uint64_t index, uint64_t size,
    const uint8_t root[STH_HASH_LEN], const uint8_t leaf_hash[STH_HASH_LEN],
    const uint8_t path[][STH_HASH_LEN], size_t n, struct sth_frontier *f,
    char *err, size_t errlen)
{
	uint8_t left[64][STH_HASH_LEN], r[STH_HASH_LEN];
	uint64_t fn = index, sn;
	size_t i, nleft = 0, j;
	int b;

	if (index >= size) {
		snprintf(err, errlen, "inclusion: leaf %" PRIu64 " outside a tree "
		    "of %" PRIu64, index, size);
		return -1;
	}
	sn = size - 1;
	memcpy(r, leaf_hash, STH_HASH_LEN);
	for (i = 0; i < n; i++) {
		if (sn == 0) {
			snprintf(err, errlen, "inclusion: proof too long");
			return -1;
		}
		if ((fn & 1) || fn == sn) {
			/* a left sibling: a complete subtree before the leaf */
			if (nleft == 64)
				goto bad;
			memcpy(left[nleft++], path[i], STH_HASH_LEN);
			if (sth_node_hash(path[i], r, r) < 0)
				goto bad;
			if (!(fn & 1)) {
				do {
					fn >>= 1;
					sn >>= 1;
				} while (!(fn & 1) && fn != 0);
			}
		} else if (sth_node_hash(r, path[i], r) < 0) {
			goto bad;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(r, root, STH_HASH_LEN) != 0) {
		snprintf(err, errlen, "inclusion proof of leaf %" PRIu64 " in tree "
		    "%" PRIu64 " does not verify", index, size);
		return -1;
	}
	/* One left sibling per set bit of index, the lowest bit first. */
	if (nleft != (size_t)__builtin_popcountll(index)) {
		snprintf(err, errlen, "inclusion: %zu left nodes for leaf %" PRIu64,
		    nleft, index);
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->size = index;
	for (b = 0, j = 0; b < 64; b++)
		if (index & ((uint64_t)1 << b))
			memcpy(f->node[b], left[j++], STH_HASH_LEN);
	return 0;
bad:
	snprintf(err, errlen, "inclusion: bad proof");
	return -1;
}
