/* RFC 6962 STH parsing and signature verification, on real log responses. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "ingest/sth.h"
#include "tests/unit/fixture.h"

Suite *sth_suite(void);

#define KEY_ICARUS "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAETtK8v7MICve56qTHHDhhBOuV4IlUaESxZryCfk9QbG9co/CqPvTsgPDbCpp6oFtyAHwlDhnvr7JijXRD9Cb2FA=="
#define KEY_ARGON2024 "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHblsqctplMVc5ramA7vSuNxUQxcomQwGAVAdnWTAWUYr3MgDHQW0LagJ95lB7QT75Ve6JgT2EVLOFGU7L3YrwA=="
#define KEY_PILOT "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfahLEimAoz2t01p3uMziiLOl/fHTDM0YDOhBRuiBARsV4UvxG2LdNgoIGLrtCzWE0J5APC2em4JlvR8EEEFMoA=="

static int
verify_file(const char *path, const char *key, char *err, size_t errlen,
    struct sth *s)
{
	struct sth_key k;
	size_t len;
	char *json = fixture_slurp(path, &len);
	int rc;

	ck_assert_int_eq(sth_key_init(&k, key, err, errlen), 0);
	ck_assert_int_eq(sth_parse(json, len, s, err, errlen), 0);
	rc = sth_verify(s, &k, err, errlen);
	sth_key_fini(&k);
	free(json);
	return rc;
}

START_TEST(real_sths_verify_with_log_list_keys)
{
	struct sth s;
	char err[256];

	ck_assert_int_eq(verify_file("tests/data/ct/icarus_get-sth_129596132.json",
	    KEY_ICARUS, err, sizeof(err), &s), 0);
	ck_assert_uint_eq(s.tree_size, 129596132);
	ck_assert_uint_eq(s.timestamp, 1508198131197ULL);
	ck_assert_int_eq(verify_file("tests/data/ct/icarus_get-sth_129721434.json",
	    KEY_ICARUS, err, sizeof(err), &s), 0);
	ck_assert_int_eq(verify_file(
	    "tests/data/ct/argon2024_get-sth_1267285836.json", KEY_ARGON2024, err,
	    sizeof(err), &s), 0);
	ck_assert_uint_eq(s.tree_size, 1267285836);
	ck_assert_int_eq(verify_file("tests/data/ct/ctgo_get-sth_3721782.json",
	    KEY_PILOT, err, sizeof(err), &s), 0);
	ck_assert_uint_eq(s.tree_size, 3721782);
}
END_TEST

START_TEST(sth_with_another_logs_key_fails)
{
	struct sth s;
	char err[256];

	ck_assert_int_eq(verify_file("tests/data/ct/icarus_get-sth_129596132.json",
	    KEY_PILOT, err, sizeof(err), &s), -1);
	ck_assert_str_eq(err, "signature does not verify");
}
END_TEST

START_TEST(fake_signature_is_refused)
{
	struct sth s;
	char err[256];

	ck_assert_int_eq(verify_file(
	    "tests/data/ct/ctgo_scanner_get-sth_4_fakesig.json", KEY_PILOT, err,
	    sizeof(err), &s), -1);
	ck_assert_uint_eq(s.tree_size, 4);
}
END_TEST

/* Any change to a signed field breaks the signature. */
START_TEST(tampered_fields_fail)
{
	struct sth_key k;
	struct sth s, t;
	char err[256], *json;
	size_t len;

	json = fixture_slurp("tests/data/ct/icarus_get-sth_129721434.json", &len);
	ck_assert_int_eq(sth_key_init(&k, KEY_ICARUS, err, sizeof(err)), 0);
	ck_assert_int_eq(sth_parse(json, len, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(sth_verify(&s, &k, err, sizeof(err)), 0);
	t = s;
	t.tree_size++;
	ck_assert_int_eq(sth_verify(&t, &k, err, sizeof(err)), -1);
	t = s;
	t.timestamp--;
	ck_assert_int_eq(sth_verify(&t, &k, err, sizeof(err)), -1);
	t = s;
	t.root_hash[31] ^= 1;
	ck_assert_int_eq(sth_verify(&t, &k, err, sizeof(err)), -1);
	t = s;
	t.sig[0] = 2;  /* SHA-1 */
	ck_assert_int_eq(sth_verify(&t, &k, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "SHA-256"));
	t = s;
	t.sig[1] = 1;  /* RSA with an EC key */
	ck_assert_int_eq(sth_verify(&t, &k, err, sizeof(err)), -1);
	t = s;
	t.sig_len--;   /* length field disagrees */
	ck_assert_int_eq(sth_verify(&t, &k, err, sizeof(err)), -1);
	sth_key_fini(&k);
	free(json);
}
END_TEST

START_TEST(malformed_json_is_refused)
{
	static const char *bad[] = {
		"",
		"[]",
		"{\"tree_size\":1}",
		"{\"tree_size\":-1,\"timestamp\":1,\"sha256_root_hash\":\"qyJv/TObheataX8uFjAJsR+dJtJgNlfjzTe5CX8Ej2s=\",\"tree_head_signature\":\"BAMAAQA=\"}",
		"{\"tree_size\":\"5\",\"timestamp\":1,\"sha256_root_hash\":\"qyJv/TObheataX8uFjAJsR+dJtJgNlfjzTe5CX8Ej2s=\",\"tree_head_signature\":\"BAMAAQA=\"}",
		"{\"tree_size\":5,\"timestamp\":1,\"sha256_root_hash\":\"qyJv\",\"tree_head_signature\":\"BAMAAQA=\"}",
		"{\"tree_size\":5,\"timestamp\":1,\"sha256_root_hash\":\"qyJv/TObheataX8uFjAJsR+dJtJgNlfjzTe5CX8Ej2s=\",\"tree_head_signature\":\"!!!!\"}",
		"{\"tree_size\":5,\"timestamp\":1,\"sha256_root_hash\":\"qyJv/TObheataX8uFjAJsR+dJtJgNlfjzTe5CX8Ej2s=\",\"tree_head_signature\":\"BAMAAQA=\"} trailing",
	};
	struct sth s;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sth_parse(bad[i], strlen(bad[i]), &s, err,
		    sizeof(err)) == -1, "accepted case %zu", i);
}
END_TEST

START_TEST(bad_keys_are_refused)
{
	struct sth_key k;
	char err[256];

	ck_assert_int_eq(sth_key_init(&k, "", err, sizeof(err)), -1);
	ck_assert_int_eq(sth_key_init(&k, "not base64", err, sizeof(err)), -1);
	/* The bogus "Racketeer" key of the ct-go test list: base64, not SPKI. */
	ck_assert_int_eq(sth_key_init(&k, "Hy2TPTZ2yq9ASMmMZiB9SZEUx5WNH5G0Ft5"
	    "Tm9vKMcPXA+ic/Ap3gg6fXzBJR8zLkt5lQjvKMdbHYMGv7yrsZg==", err,
	    sizeof(err)), -1);
}
END_TEST

/* RSA logs exist (e.g. Venafi): a fresh RSA key signs a tree head the way
 * RFC 6962 says, and the verifier accepts it and refuses a changed one. */
START_TEST(rsa_signed_tree_head_verifies)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	uint8_t tbs[STH_TBS_LEN], b64[1024];
	struct sth_key k;
	struct sth s;
	size_t siglen;
	char err[256];
	int dlen;

	ck_assert_ptr_nonnull(pk);
	ck_assert_ptr_nonnull(ctx);
	dlen = i2d_PUBKEY(pk, &der);
	ck_assert_int_gt(dlen, 0);
	ck_assert_int_gt(EVP_EncodeBlock(b64, der, dlen), 0);
	ck_assert_int_eq(sth_key_init(&k, (char *)b64, err, sizeof(err)), 0);

	memset(&s, 0, sizeof(s));
	s.tree_size = 1000;
	s.timestamp = 1700000000000ULL;
	memset(s.root_hash, 0xab, sizeof(s.root_hash));
	sth_tbs(s.timestamp, s.tree_size, s.root_hash, tbs);
	siglen = sizeof(s.sig) - 4;
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, s.sig + 4, &siglen, tbs,
	    sizeof(tbs)), 1);
	s.sig[0] = 4;
	s.sig[1] = 1;
	s.sig[2] = (uint8_t)(siglen >> 8);
	s.sig[3] = (uint8_t)siglen;
	s.sig_len = siglen + 4;
	ck_assert_int_eq(sth_verify(&s, &k, err, sizeof(err)), 0);
	s.tree_size = 999;
	ck_assert_int_eq(sth_verify(&s, &k, err, sizeof(err)), -1);

	sth_key_fini(&k);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
}
END_TEST

static void
load_sth(const char *path, struct sth *s)
{
	char err[256], *json;
	size_t len;

	json = fixture_slurp(path, &len);
	ck_assert_int_eq(sth_parse(json, len, s, err, sizeof(err)), 0);
	free(json);
}

/* The real Icarus proof between its two real STHs. */
START_TEST(real_consistency_proof_verifies)
{
	uint8_t proof[STH_PROOF_MAX][STH_HASH_LEN];
	struct sth a, b;
	char err[256], *json;
	size_t len;
	int n;

	load_sth("tests/data/ct/icarus_get-sth_129596132.json", &a);
	load_sth("tests/data/ct/icarus_get-sth_129721434.json", &b);
	json = fixture_slurp("tests/data/ct/icarus_get-sth-consistency_129596132_"
	    "129721434.json", &len);
	n = sth_consistency_parse(json, len, proof, STH_PROOF_MAX, err,
	    sizeof(err));
	free(json);
	ck_assert_int_eq(n, 24);
	ck_assert_msg(sth_consistency_verify(a.tree_size, a.root_hash,
	    b.tree_size, b.root_hash, proof, (size_t)n, err, sizeof(err)) == 0,
	    "%s", err);

	/* a forked second tree, a changed first tree, a changed proof */
	b.root_hash[0] ^= 1;
	ck_assert_int_eq(sth_consistency_verify(a.tree_size, a.root_hash,
	    b.tree_size, b.root_hash, proof, (size_t)n, err, sizeof(err)), -1);
	b.root_hash[0] ^= 1;
	a.root_hash[5] ^= 0x80;
	ck_assert_int_eq(sth_consistency_verify(a.tree_size, a.root_hash,
	    b.tree_size, b.root_hash, proof, (size_t)n, err, sizeof(err)), -1);
	a.root_hash[5] ^= 0x80;
	proof[7][3] ^= 1;
	ck_assert_int_eq(sth_consistency_verify(a.tree_size, a.root_hash,
	    b.tree_size, b.root_hash, proof, (size_t)n, err, sizeof(err)), -1);
	proof[7][3] ^= 1;
	/* wrong sizes, short or long proofs */
	ck_assert_int_eq(sth_consistency_verify(a.tree_size + 1, a.root_hash,
	    b.tree_size, b.root_hash, proof, (size_t)n, err, sizeof(err)), -1);
	ck_assert_int_eq(sth_consistency_verify(a.tree_size, a.root_hash,
	    b.tree_size, b.root_hash, proof, (size_t)n - 1, err, sizeof(err)), -1);
	ck_assert_int_eq(sth_consistency_verify(a.tree_size, a.root_hash,
	    b.tree_size, b.root_hash, proof, 0, err, sizeof(err)), -1);
	ck_assert_int_eq(sth_consistency_verify(b.tree_size, b.root_hash,
	    a.tree_size, a.root_hash, proof, (size_t)n, err, sizeof(err)), -1);
	/* the trivial cases */
	ck_assert_int_eq(sth_consistency_verify(0, a.root_hash, b.tree_size,
	    b.root_hash, proof, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(sth_consistency_verify(b.tree_size, b.root_hash,
	    b.tree_size, b.root_hash, proof, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(sth_consistency_verify(b.tree_size, a.root_hash,
	    b.tree_size, b.root_hash, proof, 0, err, sizeof(err)), -1);
}
END_TEST

/*
 * Small trees built here: leaves h(i) = SHA-256(0x00 || i). For every pair
 * 1 <= m < n <= 16 the proof below (RFC 9162 §2.1.4.1 SUBPROOF) verifies.
 */
static void
leaf_h(unsigned i, uint8_t out[STH_HASH_LEN])
{
	uint8_t b[2] = { 0x00, (uint8_t)i };

	SHA256(b, sizeof(b), out);
}

static void
mth(unsigned lo, unsigned hi, uint8_t out[STH_HASH_LEN])
{
	uint8_t l[STH_HASH_LEN], r[STH_HASH_LEN], b[1 + 2 * STH_HASH_LEN];
	unsigned k = 1;

	if (hi - lo == 1) {
		leaf_h(lo, out);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	mth(lo, lo + k, l);
	mth(lo + k, hi, r);
	b[0] = 1;
	memcpy(b + 1, l, STH_HASH_LEN);
	memcpy(b + 1 + STH_HASH_LEN, r, STH_HASH_LEN);
	SHA256(b, sizeof(b), out);
}

static size_t
subproof(unsigned m, unsigned lo, unsigned hi, int whole,
    uint8_t proof[][STH_HASH_LEN], size_t n)
{
	unsigned k = 1;

	if (m == hi - lo) {
		if (!whole)
			mth(lo, hi, proof[n++]);
		return n;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	if (m <= k) {
		n = subproof(m, lo, lo + k, whole, proof, n);
		mth(lo + k, hi, proof[n++]);
	} else {
		n = subproof(m - k, lo + k, hi, 0, proof, n);
		mth(lo, lo + k, proof[n++]);
	}
	return n;
}

START_TEST(generated_consistency_proofs_verify)
{
	uint8_t proof[STH_PROOF_MAX][STH_HASH_LEN], r1[STH_HASH_LEN],
	    r2[STH_HASH_LEN];
	char err[256];
	unsigned m, n;
	size_t k;

	for (n = 2; n <= 16; n++) {
		mth(0, n, r2);
		for (m = 1; m < n; m++) {
			mth(0, m, r1);
			k = subproof(m, 0, n, 1, proof, 0);
			ck_assert_msg(sth_consistency_verify(m, r1, n, r2, proof, k,
			    err, sizeof(err)) == 0, "%u -> %u: %s", m, n, err);
			ck_assert_int_eq(sth_consistency_verify(m, r2, n, r2, proof,
			    k, err, sizeof(err)), -1);
		}
	}
}
END_TEST

/* The frontier a consistency proof gives for tree m, with leaves m..n-1
 * appended, has tree n's root; a wrong leaf gives another root. Leaf i's
 * leaf hash is leaf_h(i) above. */
START_TEST(frontier_from_proof_reaches_the_larger_root)
{
	uint8_t proof[STH_PROOF_MAX][STH_HASH_LEN], r1[STH_HASH_LEN],
	    r2[STH_HASH_LEN], got[STH_HASH_LEN], lh[STH_HASH_LEN];
	struct sth_frontier f;
	char err[256];
	unsigned m, n, i;
	size_t k;

	for (n = 2; n <= 40; n++) {
		mth(0, n, r2);
		for (m = 1; m < n; m++) {
			mth(0, m, r1);
			k = subproof(m, 0, n, 1, proof, 0);
			ck_assert_msg(sth_consistency_frontier(m, r1, n, r2, proof, k,
			    &f, err, sizeof(err)) == 0, "%u -> %u: %s", m, n, err);
			ck_assert_int_eq(f.size, m);
			ck_assert_int_eq(sth_frontier_root(&f, got), 0);
			ck_assert_msg(memcmp(got, r1, STH_HASH_LEN) == 0,
			    "frontier of %u (from the proof to %u) has another root",
			    m, n);
			for (i = m; i < n; i++) {
				leaf_h(i, lh);
				ck_assert_int_eq(sth_frontier_append(&f, lh), 0);
			}
			ck_assert_int_eq(sth_frontier_root(&f, got), 0);
			ck_assert_msg(memcmp(got, r2, STH_HASH_LEN) == 0,
			    "%u + leaves %u..%u does not give tree %u's root", m, m,
			    n - 1, n);
			/* a proof that does not verify gives no frontier */
			ck_assert_int_eq(sth_consistency_frontier(m, r2, n, r2, proof,
			    k, &f, err, sizeof(err)), -1);
		}
	}
	/* the same from nothing, and a swapped leaf */
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(sth_frontier_root(&f, got), 0);
	SHA256(NULL, 0, r1);
	ck_assert(memcmp(got, r1, STH_HASH_LEN) == 0);
	for (i = 0; i < 37; i++) {
		leaf_h(i == 20 ? 99 : i, lh);
		ck_assert_int_eq(sth_frontier_append(&f, lh), 0);
		if (i == 19) {
			mth(0, 20, r1);
			ck_assert_int_eq(sth_frontier_root(&f, got), 0);
			ck_assert(memcmp(got, r1, STH_HASH_LEN) == 0);
		}
	}
	mth(0, 37, r2);
	ck_assert_int_eq(sth_frontier_root(&f, got), 0);
	ck_assert(memcmp(got, r2, STH_HASH_LEN) != 0);
}
END_TEST

/* RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]): the audit path of leaf m. */
static size_t
audit_path(unsigned m, unsigned lo, unsigned hi, uint8_t path[][STH_HASH_LEN])
{
	unsigned k = 1;
	size_t n;

	if (hi - lo == 1)
		return 0;
	while (k * 2 < hi - lo)
		k *= 2;
	if (m < k) {
		n = audit_path(m, lo, lo + k, path);
		mth(lo + k, hi, path[n]);
	} else {
		n = audit_path(m - k, lo + k, hi, path);
		mth(lo, lo + k, path[n]);
	}
	return n + 1;
}

/* The audit path of leaf m in tree n verifies and gives the frontier of
 * the first m leaves: appending leaves m..n-1 reaches tree n's root. A
 * wrong leaf, index or path node, or a path cut short, gives none. */
START_TEST(inclusion_proof_gives_the_frontier_before_the_leaf)
{
	uint8_t path[STH_PROOF_MAX][STH_HASH_LEN], root[STH_HASH_LEN],
	    got[STH_HASH_LEN], lh[STH_HASH_LEN], r1[STH_HASH_LEN];
	struct sth_frontier f;
	char err[256];
	unsigned m, n, i;
	size_t k, j;

	for (n = 1; n <= 40; n++) {
		mth(0, n, root);
		for (m = 0; m < n; m++) {
			k = audit_path(m, 0, n, path);
			leaf_h(m, lh);
			ck_assert_msg(sth_inclusion_frontier(m, n, root, lh, path, k,
			    &f, err, sizeof(err)) == 0, "%u in %u: %s", m, n, err);
			ck_assert_int_eq(f.size, m);
			if (m > 0) {
				mth(0, m, r1);
				ck_assert_int_eq(sth_frontier_root(&f, got), 0);
				ck_assert_msg(memcmp(got, r1, STH_HASH_LEN) == 0,
				    "frontier before %u (in %u) has another root", m, n);
			}
			for (i = m; i < n; i++) {
				leaf_h(i, lh);
				ck_assert_int_eq(sth_frontier_append(&f, lh), 0);
			}
			ck_assert_int_eq(sth_frontier_root(&f, got), 0);
			ck_assert(memcmp(got, root, STH_HASH_LEN) == 0);

			leaf_h(m, lh);
			lh[0] ^= 1;
			ck_assert_int_eq(sth_inclusion_frontier(m, n, root, lh, path,
			    k, &f, err, sizeof(err)), -1);
			lh[0] ^= 1;
			if (n > 1)
				ck_assert_int_eq(sth_inclusion_frontier((m + 1) % n, n,
				    root, lh, path, k, &f, err, sizeof(err)), -1);
			if (k > 0)
				ck_assert_int_eq(sth_inclusion_frontier(m, n, root, lh,
				    path, k - 1, &f, err, sizeof(err)), -1);
			for (j = 0; j < k; j++) {
				path[j][5] ^= 0x80;
				ck_assert_int_eq(sth_inclusion_frontier(m, n, root, lh,
				    path, k, &f, err, sizeof(err)), -1);
				path[j][5] ^= 0x80;
			}
		}
	}
	ck_assert_int_eq(sth_inclusion_frontier(3, 3, root, lh, path, 0, &f,
	    err, sizeof(err)), -1);
}
END_TEST

START_TEST(inclusion_proof_json_parses)
{
	static const char ok[] = "{\"leaf_index\": 7, \"audit_path\": "
	    "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]}";
	static const char *const bad[] = {
		"{\"audit_path\": []}",
		"{\"leaf_index\": -1, \"audit_path\": []}",
		"{\"leaf_index\": 1, \"audit_path\": [\"AAAA\"]}",
		"{\"leaf_index\": 1, \"audit_path\": {}}",
		"[1]",
	};
	uint8_t path[STH_PROOF_MAX][STH_HASH_LEN];
	uint64_t idx = 0;
	char err[256];
	size_t i;

	ck_assert_int_eq(sth_inclusion_parse(ok, strlen(ok), &idx, path,
	    STH_PROOF_MAX, err, sizeof(err)), 1);
	ck_assert_uint_eq(idx, 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(sth_inclusion_parse(bad[i], strlen(bad[i]), &idx,
		    path, STH_PROOF_MAX, err, sizeof(err)), -1);
}
END_TEST

/* The same parser serves get-sth-consistency: a hash array under
 * "consistency", no leaf_index; anything else is refused, as is a proof
 * longer than the caller's room. */
START_TEST(consistency_proof_json_parses)
{
	static const char ok[] = "{\"consistency\": "
	    "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", "
	    "\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"]}";
	static const char *const bad[] = {
		"{\"audit_path\": []}",
		"{\"consistency\": [\"AAAA\"]}",
		"{\"consistency\": [1]}",
		"{\"consistency\": {}}",
		"{\"consistency\": []} x",
		"[1]",
	};
	uint8_t proof[STH_PROOF_MAX][STH_HASH_LEN];
	char err[256];
	size_t i;

	ck_assert_int_eq(sth_consistency_parse(ok, strlen(ok), proof,
	    STH_PROOF_MAX, err, sizeof(err)), 2);
	ck_assert_int_eq(proof[0][0], 0);
	ck_assert_int_eq(proof[1][31], 1);
	ck_assert_int_eq(sth_consistency_parse(ok, strlen(ok), proof, 1, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "get-sth-consistency: 2 hashes");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(sth_consistency_parse(bad[i], strlen(bad[i]),
		    proof, STH_PROOF_MAX, err, sizeof(err)), -1);
		ck_assert_msg(strncmp(err, "get-sth-consistency: ", 21) == 0,
		    "%s", err);
	}
}
END_TEST

Suite *
sth_suite(void)
{
	Suite *s = suite_create("sth");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, real_sths_verify_with_log_list_keys);
	tcase_add_test(tc, sth_with_another_logs_key_fails);
	tcase_add_test(tc, fake_signature_is_refused);
	tcase_add_test(tc, tampered_fields_fail);
	tcase_add_test(tc, malformed_json_is_refused);
	tcase_add_test(tc, bad_keys_are_refused);
	tcase_add_test(tc, rsa_signed_tree_head_verifies);
	tcase_add_test(tc, real_consistency_proof_verifies);
	tcase_add_test(tc, generated_consistency_proofs_verify);
	tcase_add_test(tc, frontier_from_proof_reaches_the_larger_root);
	tcase_add_test(tc, inclusion_proof_gives_the_frontier_before_the_leaf);
	tcase_add_test(tc, inclusion_proof_json_parses);
	tcase_add_test(tc, consistency_proof_json_parses);
	suite_add_tcase(s, tc);
	return s;
}
