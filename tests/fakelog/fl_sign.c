#include "tests/fakelog/fl_sign.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
key_finish(struct fl_key *k, char *err, size_t errlen)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k->pkey, &der);

	if (n <= 0 || (size_t)n > sizeof(k->spki)) {
		OPENSSL_free(der);
		snprintf(err, errlen, "encoding the public key failed");
		return -1;
	}
	memcpy(k->spki, der, (size_t)n);
	k->spki_len = (size_t)n;
	OPENSSL_free(der);
	SHA256(k->spki, k->spki_len, k->log_id);
	EVP_EncodeBlock((unsigned char *)k->spki_b64, k->spki, (int)k->spki_len);
	EVP_EncodeBlock((unsigned char *)k->log_id_b64, k->log_id, 32);
	return 0;
}

int
fl_sign_key_derive(struct fl_key *k, const uint8_t seed[32], const char *name,
    char *err, size_t errlen)
{
	uint8_t in[32 + 128], d[32], pub[65];
	size_t nl = strlen(name) > 128 ? 128 : strlen(name);
	EC_GROUP *grp = NULL;
	EC_POINT *pt = NULL;
	BIGNUM *priv = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	memcpy(in, seed, 32);
	memcpy(in + 32, name, nl);
	SHA256(in, 32 + nl, d);
	d[0] &= 0x7f;   /* below the P-256 order */
	if ((grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
	    (pt = EC_POINT_new(grp)) == NULL ||
	    (priv = BN_bin2bn(d, 32, NULL)) == NULL ||
	    !EC_POINT_mul(grp, pt, priv, NULL, NULL, NULL) ||
	    EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, pub,
		sizeof(pub), NULL) != sizeof(pub) ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		"prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
		sizeof(pub)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
		snprintf(err, errlen, "deriving the P-256 key for %s failed", name);
		goto done;
	}
	rc = key_finish(k, err, errlen);
done:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	if (rc < 0)
		fl_sign_key_fini(k);
	return rc;
}

int
fl_sign_key_load(struct fl_key *k, const char *path, char *err, size_t errlen)
{
	FILE *f;

	memset(k, 0, sizeof(*k));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "open %s failed", path);
		return -1;
	}
	k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k->pkey == NULL || !EVP_PKEY_is_a(k->pkey, "EC")) {
		snprintf(err, errlen, "%s: not a PEM EC private key", path);
		fl_sign_key_fini(k);
		return -1;
	}
	if (key_finish(k, err, errlen) < 0) {
		fl_sign_key_fini(k);
		return -1;
	}
	return 0;
}

void
fl_sign_key_fini(struct fl_key *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

void
fl_sign_sth_tbs(uint64_t ts, uint64_t size, const uint8_t root[32], uint8_t out[50])
{
	out[0] = 0;     /* version v1 */
	out[1] = 1;     /* signature_type tree_hash */
	for (int i = 0; i < 8; i++) {
		out[2 + i] = (uint8_t)(ts >> (56 - 8 * i));
		out[10 + i] = (uint8_t)(size >> (56 - 8 * i));
	}
	memcpy(out + 18, root, 32);
}

int
fl_sign_sth(const struct fl_key *k, uint64_t ts, uint64_t size,
    const uint8_t root[32], struct fl_buf *out)
{
	uint8_t tbs[50], sig[128];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int rc = -1;

	fl_sign_sth_tbs(ts, size, root, tbs);
	if (m == NULL || EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL,
	    k->pkey) <= 0 || EVP_DigestSign(m, sig, &siglen, tbs,
	    sizeof(tbs)) <= 0)
		goto done;
	fl_buf_uint(out, 4, 1);         /* hash: sha256 */
	fl_buf_uint(out, 3, 1);         /* signature: ecdsa */
	fl_buf_vec(out, 2, sig, siglen);
	rc = out->err ? -1 : 0;
done:
	EVP_MD_CTX_free(m);
	return rc;
}

static void
key_id(const char *name, size_t nlen, const uint8_t *spki, size_t spki_len,
    uint8_t out[4])
{
	uint8_t h[32], log_id[32];
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t sep[2] = { '\n', 0x05 };  /* 0x05: RFC6962NoteSignature */

	/* The key material hashed is the log ID, SHA-256(SPKI), not the SPKI
	 * itself (checked against the real rome2024h1 checkpoint). */
	SHA256(spki, spki_len, log_id);
	if (m == NULL || !EVP_DigestInit_ex(m, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(m, name, nlen) || !EVP_DigestUpdate(m, sep, 2) ||
	    !EVP_DigestUpdate(m, log_id, 32) ||
	    !EVP_DigestFinal_ex(m, h, NULL))
		abort();
	EVP_MD_CTX_free(m);
	memcpy(out, h, 4);
}

int
fl_sign_note(const struct fl_key *k, const char *origin, uint64_t size,
    const uint8_t root[32], uint64_t ts, struct fl_buf *out)
{
	struct fl_buf sig = { 0 };
	char line[256], rootb64[48];
	char *b64 = NULL;
	uint8_t kid[4];
	int rc = -1;

	key_id(origin, strlen(origin), k->spki, k->spki_len, kid);
	fl_buf_put(&sig, kid, 4);
	fl_buf_uint(&sig, ts, 8);
	if (fl_sign_sth(k, ts, size, root, &sig) < 0 ||
	    (b64 = fl_buf_b64(sig.p, sig.len)) == NULL)
		goto done;
	EVP_EncodeBlock((unsigned char *)rootb64, root, 32);
	snprintf(line, sizeof(line), "%s\n%llu\n%s\n\n", origin,
	    (unsigned long long)size, rootb64);
	fl_buf_put(out, line, strlen(line));
	fl_buf_put(out, "\xe2\x80\x94 ", 4);
	fl_buf_put(out, origin, strlen(origin));
	fl_buf_put(out, " ", 1);
	fl_buf_put(out, b64, strlen(b64));
	fl_buf_put(out, "\n", 1);
	rc = out->err ? -1 : 0;
done:
	free(b64);
	fl_buf_free(&sig);
	return rc;
}

static int
verify_sig(const uint8_t *spki, size_t spki_len, const uint8_t *tbs,
    size_t tbs_len, const uint8_t *sig, size_t sig_len)
{
	const unsigned char *p = spki;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = 0;

	if (pk != NULL && m != NULL &&
	    EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pk) > 0)
		ok = EVP_DigestVerify(m, sig, sig_len, tbs, tbs_len) == 1;
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(pk);
	return ok;
}

int
fl_sign_note_verify(const char *note, size_t len, const uint8_t *spki,
    size_t spki_len, char *err, size_t errlen)
{
	char text[1024], *lines[4], *save = NULL, *l;
	const char *sigs;
	size_t tl;
	uint8_t kid[4], root[32], tbs[50];
	unsigned long long size;
	struct fl_buf rb = { 0 };
	int nl = 0, rc = -1;

	/* Text ends at the first blank line; signatures follow it. */
	if ((sigs = memmem(note, len, "\n\n", 2)) == NULL) {
		snprintf(err, errlen, "no blank line before signatures");
		return -1;
	}
	tl = (size_t)(sigs - note) + 1;
	sigs += 2;
	if (tl >= sizeof(text)) {
		snprintf(err, errlen, "note text too long");
		return -1;
	}
	memcpy(text, note, tl);
	text[tl] = '\0';
	for (l = strtok_r(text, "\n", &save); l && nl < 4;
	    l = strtok_r(NULL, "\n", &save))
		lines[nl++] = l;
	if (nl < 3 || sscanf(lines[1], "%llu", &size) != 1 ||
	    fl_buf_unb64(lines[2], &rb) < 0 || rb.len != 32) {
		snprintf(err, errlen, "bad checkpoint body");
		goto done;
	}
	memcpy(root, rb.p, 32);
	key_id(lines[0], strlen(lines[0]), spki, spki_len, kid);
	while (sigs < note + len) {
		const char *end = memchr(sigs, '\n', (size_t)(note + len - sigs));
		char sl[1024], *name, *b64;
		struct fl_buf sb = { 0 };
		struct fl_rd r;
		const uint8_t *id, *s;
		size_t slen;
		uint64_t ts;
		int ok = 0;

		if (end == NULL || (size_t)(end - sigs) >= sizeof(sl))
			break;
		memcpy(sl, sigs, (size_t)(end - sigs));
		sl[end - sigs] = '\0';
		sigs = end + 1;
		if (strncmp(sl, "\xe2\x80\x94 ", 4) != 0)
			continue;
		name = sl + 4;
		if ((b64 = strchr(name, ' ')) == NULL)
			continue;
		*b64++ = '\0';
		if (strcmp(name, lines[0]) != 0 || fl_buf_unb64(b64, &sb) < 0) {
			fl_buf_free(&sb);
			continue;
		}
		r = (struct fl_rd){ sb.p, sb.len, 0, 0 };
		id = fl_buf_rd_bytes(&r, 4);
		ts = fl_buf_rd_uint(&r, 8);
		if (id != NULL && memcmp(id, kid, 4) == 0 &&
		    fl_buf_rd_uint(&r, 1) == 4 && fl_buf_rd_uint(&r, 1) == 3 &&
		    (s = fl_buf_rd_vec(&r, 2, &slen)) != NULL && r.off == r.len) {
			fl_sign_sth_tbs(ts, size, root, tbs);
			ok = verify_sig(spki, spki_len, tbs, sizeof(tbs), s, slen);
		}
		fl_buf_free(&sb);
		if (ok) {
			rc = 0;
			goto done;
		}
	}
	snprintf(err, errlen, "no valid signature by %s", lines[0]);
done:
	fl_buf_free(&rb);
	return rc;
}
