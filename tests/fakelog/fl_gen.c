#include "tests/fakelog/fl_gen.h"
#include "tests/tools/x509_ext.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_TIME 1767225600 /* 2026-01-01T00:00:00Z: entries are stable */

void
fl_gen_hash(const struct fl_gen *g, const char *label, uint64_t index,
    uint8_t out[32])
{
	uint8_t in[32 + 128 + 8];
	size_t l = strlen(label);

	if (l > 128)
		l = 128;
	memcpy(in, g->seed, 32);
	memcpy(in + 32, label, l);
	for (int i = 0; i < 8; i++)
		in[32 + l + (size_t)i] = (uint8_t)(index >> (56 - 8 * i));
	SHA256(in, 32 + l + 8, out);
}

static EVP_PKEY *
load_key(const char *dir, const char *name, int priv, char *err, size_t errlen)
{
	char path[1024];
	FILE *f;
	EVP_PKEY *k;

	snprintf(path, sizeof(path), "%s/keys/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "open %s failed", path);
		return NULL;
	}
	k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) :
	    PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		snprintf(err, errlen, "%s: not a PEM key", path);
	return k;
}


static int
spki_hash(X509 *x, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

	if (n <= 0)
		return -1;
	SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

static int
set_time(ASN1_TIME *t, time_t when)
{
	return ASN1_TIME_set(t, when) ? 0 : -1;
}

static int
sign(X509 *x, EVP_PKEY *key)
{
	const EVP_MD *md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ?
	    NULL : EVP_sha256();

	return X509_sign(x, key, md) > 0 ? 0 : -1;
}

static X509 *
make_ca(EVP_PKEY *key, const char *cn, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n;

	if (x == NULL)
		return NULL;
	n = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
	    !X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC,
		(const unsigned char *)"ZZ", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
		(const unsigned char *)"Fakelog Test", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
		(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, n) ||
	    set_time(X509_getm_notBefore(x), BASE_TIME - 365 * 86400) < 0 ||
	    set_time(X509_getm_notAfter(x), BASE_TIME + 10 * 365 * 86400L) < 0 ||
	    !X509_set_pubkey(x, key) ||
	    x509_ext_add(x, x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    x509_ext_add(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    x509_ext_add(x, x, NID_subject_key_identifier, "hash") < 0 ||
	    sign(x, key) < 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
pool_add_x509(struct fl_pool *pool, X509 *x, uint32_t *idx)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	long i;

	if (n <= 0)
		return -1;
	i = fl_pool_add(pool, der, (size_t)n);
	OPENSSL_free(der);
	if (i < 0)
		return -1;
	*idx = (uint32_t)i;
	return 0;
}

int
fl_gen_init(struct fl_gen *g, const char *seed, const char *datadir,
    struct fl_pool *pool, char *err, size_t errlen)
{
	uint8_t h[32];

	memset(g, 0, sizeof(*g));
	SHA256((const unsigned char *)seed, strlen(seed), g->seed);
	fl_gen_hash(g, "ca-ed25519", 0, h);
	g->ed_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, h, 32);
	if (g->ed_key == NULL) {
		snprintf(err, errlen, "Ed25519 CA key failed");
		goto fail;
	}
	if ((g->rsa_key = load_key(datadir, "ca-rsa.pem", 1, err, errlen)) == NULL ||
	    (g->p256_pub = load_key(datadir, "leaf-p256.pub.pem", 0, err, errlen)) == NULL ||
	    (g->rsa_pub = load_key(datadir, "leaf-rsa.pub.pem", 0, err, errlen)) == NULL)
		goto fail;
	for (int i = 0; i < FL_GEN_TMPL; i++) {
		EVP_PKEY *k = NULL, *pub = i == 0 ? g->p256_pub : g->rsa_pub;

		if (i >= 2) {
			fl_gen_hash(g, "leafkey", (uint64_t)i, h);
			pub = k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519,
			    NULL, h, 32);
		}
		if (pub == NULL || (g->tmpl[i] = X509_new()) == NULL ||
		    !X509_set_pubkey(g->tmpl[i], pub)) {
			EVP_PKEY_free(k);
			snprintf(err, errlen, "leaf key %d failed", i);
			goto fail;
		}
		EVP_PKEY_free(k);
	}
	g->ed_ca = make_ca(g->ed_key, "Fakelog Test Ed25519 CA", 1);
	g->rsa_ca = make_ca(g->rsa_key, "Fakelog Test RSA CA", 2);
	if (g->ed_ca == NULL || g->rsa_ca == NULL ||
	    pool_add_x509(pool, g->ed_ca, &g->ed_idx) < 0 ||
	    pool_add_x509(pool, g->rsa_ca, &g->rsa_idx) < 0 ||
	    spki_hash(g->ed_ca, g->ed_ikh) < 0 ||
	    spki_hash(g->rsa_ca, g->rsa_ikh) < 0) {
		snprintf(err, errlen, "test CA certificates failed");
		goto fail;
	}
	return 0;
fail:
	fl_gen_fini(g);
	return -1;
}

void
fl_gen_fini(struct fl_gen *g)
{
	for (int i = 0; i < FL_GEN_TMPL; i++)
		X509_free(g->tmpl[i]);
	X509_free(g->ed_ca);
	X509_free(g->rsa_ca);
	EVP_PKEY_free(g->ed_key);
	EVP_PKEY_free(g->rsa_key);
	EVP_PKEY_free(g->p256_pub);
	EVP_PKEY_free(g->rsa_pub);
	memset(g, 0, sizeof(*g));
}

static const char *const words[] = {
	"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
	"hotel", "india", "juliet", "kilo", "lima", "mike", "november",
	"oscar", "papa", "quebec", "romeo", "sierra", "tango",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* The SAN list: every name carries the log and the index so that two
 * generated entries never share a certificate. */
static int
build_sans(const uint8_t *h, const char *log, uint64_t index, char *out,
    size_t outlen, char *cn, size_t cnlen)
{
	int nd = 1 + h[4] % 6;
	size_t off = 0;
	const char *w = words[h[5] % NWORDS];
	int n;

	for (int i = 0; i < nd; i++) {
		char name[256];

		switch ((h[6] + i) % 5) {
		case 0:
			snprintf(name, sizeof(name), "%s-%llu.%s.fakelog.test", w,
			    (unsigned long long)index, log);
			break;
		case 1:
			snprintf(name, sizeof(name), "www.%s-%llu.%s.fakelog.test",
			    w, (unsigned long long)index, log);
			break;
		case 2:
			snprintf(name, sizeof(name), "*.%s-%llu.%s.fakelog.test", w,
			    (unsigned long long)index, log);
			break;
		case 3:
			snprintf(name, sizeof(name), "api%d.%s-%llu.%s.fakelog.test",
			    i, w, (unsigned long long)index, log);
			break;
		default:
			snprintf(name, sizeof(name),
			    "xn--bcher-kva%d.%s-%llu.%s.fakelog.test", i, w,
			    (unsigned long long)index, log);
			break;
		}
		if (i == 0)
			snprintf(cn, cnlen, "%s", name);
		n = snprintf(out + off, outlen - off, "%sDNS:%s", i ? "," : "",
		    name);
		if (n < 0 || (size_t)n >= outlen - off)
			return -1;
		off += (size_t)n;
	}
	if (h[7] % 10 == 0) {
		n = snprintf(out + off, outlen - off, ",IP:127.0.%u.%u", h[8],
		    h[9]);
		if (n < 0 || (size_t)n >= outlen - off)
			return -1;
		off += (size_t)n;
	}
	if (h[10] % 13 == 0) {
		n = snprintf(out + off, outlen - off,
		    ",email:hostmaster@%s.fakelog.test", log);
		if (n < 0 || (size_t)n >= outlen - off)
			return -1;
	}
	return 0;
}


/* The SCT list extension of a certificate issued from a precertificate
 * (its contents are not checked by anyone here: one empty SCT). */
static int
add_sct_list(X509 *x)
{
	static const unsigned char list[] = { 0x04, 0x0a, 0x00, 0x08, 0x00,
	    0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };

	return x509_ext_add_der(x, NID_ct_precert_scts, 0, list, sizeof(list));
}

/* Would entry index be generated as a precertificate (before pairing)? */
static int
hash_is_pre(const struct fl_gen *g, const char *label, uint64_t index)
{
	uint8_t h[32];

	fl_gen_hash(g, label, index, h);
	return h[0] % 3 == 0;
}

/* With pairs, is entry index the certificate of precertificate index-1?
 * Precertificates in a row pair up two by two: the first of each two is
 * the precertificate, the second its certificate. */
static int
is_final(const struct fl_gen *g, const char *label, uint64_t index)
{
	uint64_t k = 0;

	if (!g->pairs)
		return 0;
	while (index > k && hash_is_pre(g, label, index - 1 - k))
		k++;
	return k % 2 == 1;
}

static int
der_of(X509 *x, uint8_t **out, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		return -1;
	*out = malloc((size_t)n);
	if (*out == NULL) {
		OPENSSL_free(der);
		return -1;
	}
	memcpy(*out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	return 0;
}

int
fl_gen_entry(struct fl_gen *g, const char *log, uint64_t index,
    struct fl_entry *out, char *err, size_t errlen)
{
	uint8_t h[32], ser[16];
	char sans[2048], cn[256];
	X509 *x, *ca;
	X509_NAME *n = NULL;
	EVP_PKEY *ca_key;
	BIGNUM *bn = NULL;
	unsigned char *tbs = NULL;
	int tl, is_pre, rsa, final;
	uint64_t bindex;
	time_t nb;
	char label[160];

	memset(out, 0, sizeof(*out));
	snprintf(label, sizeof(label), "leaf:%s", log);
	/* the certificate of the precertificate before: made from its hash
	 * and index, so that every field but the poison is the same */
	final = is_final(g, label, index);
	bindex = final ? index - 1 : index;
	fl_gen_hash(g, label, bindex, h);
	is_pre = h[0] % 3 == 0 && !final;
	rsa = h[1] % 64 == 0;   /* RSA signing is slow: keep it rare */
	ca = rsa ? g->rsa_ca : g->ed_ca;
	ca_key = rsa ? g->rsa_key : g->ed_key;
	/* P-256 and RSA leaf keys one in four each, else Ed25519 ones. */
	x = g->tmpl[h[2] % 4 < 2 ? h[2] % 4 : 2 + h[12] % (FL_GEN_TMPL - 2)];
	while (X509_get_ext_count(x) > 0)
		X509_EXTENSION_free(X509_delete_ext(x, 0));
	if (build_sans(h, log, bindex, sans, sizeof(sans), cn, sizeof(cn)) < 0) {
		snprintf(err, errlen, "SANs too long");
		goto fail;
	}
	memcpy(ser, h + 16, 16);
	ser[0] = (uint8_t)((ser[0] & 0x7f) | 0x01);
	nb = BASE_TIME + (time_t)(bindex % 100000) * 60;
	if ((bn = BN_bin2bn(ser, sizeof(ser), NULL)) == NULL ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, 2) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca)) ||
	    set_time(X509_getm_notBefore(x), nb) < 0 ||
	    set_time(X509_getm_notAfter(x), nb + 90 * 86400) < 0 ||
	    (n = X509_NAME_new()) == NULL) {
		snprintf(err, errlen, "leaf certificate fields failed");
		goto fail;
	}
	if (h[3] % 4 == 0 && !X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC,
	    (const unsigned char *)"ZZ", -1, -1, 0))
		goto fail_name;
	if (h[3] % 4 == 1 && !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Fakelog Org \xc3\xa9t\xc3\xa9", -1, -1, 0))
		goto fail_name;
	/* Some leaves have an empty subject, as many CAs issue now. */
	if (h[3] % 8 != 7 && !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0))
		goto fail_name;
	if (!X509_set_subject_name(x, n))
		goto fail_name;
	if (x509_ext_add(x, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    x509_ext_add(x, ca, NID_key_usage, "critical,digitalSignature") < 0 ||
	    x509_ext_add(x, ca, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
	    x509_ext_add(x, ca, NID_subject_key_identifier, "hash") < 0 ||
	    x509_ext_add(x, ca, NID_authority_key_identifier, "keyid:always") < 0 ||
	    x509_ext_add(x, ca, NID_subject_alt_name, sans) < 0 ||
	    x509_ext_add(x, ca, NID_certificate_policies, "2.23.140.1.2.1") < 0 ||
	    (is_pre && x509_ext_add_poison(x) < 0) || (final && add_sct_list(x) < 0) ||
	    sign(x, ca_key) < 0) {
		snprintf(err, errlen, "leaf extensions or signature failed: %s", ERR_error_string(ERR_get_error(), NULL));
		goto fail;
	}
	out->ts = (uint64_t)BASE_TIME * 1000 + index * 1000 + h[11] % 250;
	out->chain[0] = rsa ? g->rsa_idx : g->ed_idx;
	out->nchain = 1;
	if (is_pre) {
		out->type = FL_PRECERT_ENTRY;
		memcpy(out->ikh, rsa ? g->rsa_ikh : g->ed_ikh, 32);
		if (der_of(x, &out->precert, &out->precert_len) < 0)
			goto fail_der;
		/* The logged TBS is the precertificate's without the poison. */
		X509_EXTENSION_free(X509_delete_ext(x,
		    X509_get_ext_by_NID(x, NID_ct_precert_poison, -1)));
		if ((tl = i2d_re_X509_tbs(x, &tbs)) <= 0 ||
		    (out->cert = malloc((size_t)tl)) == NULL)
			goto fail_der;
		memcpy(out->cert, tbs, (size_t)tl);
		out->cert_len = (size_t)tl;
	} else {
		out->type = FL_X509_ENTRY;
		if (der_of(x, &out->cert, &out->cert_len) < 0)
			goto fail_der;
	}
	OPENSSL_free(tbs);
	BN_free(bn);
	X509_NAME_free(n);
	return 0;
fail_name:
	snprintf(err, errlen, "leaf subject failed");
	goto fail;
fail_der:
	snprintf(err, errlen, "leaf DER encoding failed");
fail:
	OPENSSL_free(tbs);
	BN_free(bn);
	X509_NAME_free(n);
	fl_entry_free(out);
	return -1;
}

int
fl_gen_garbage(struct fl_gen *g, uint64_t index, struct fl_entry *out)
{
	uint8_t h[32];
	size_t len = 300;

	memset(out, 0, sizeof(*out));
	if ((out->cert = malloc(len)) == NULL)
		return -1;
	/* Looks like a SEQUENCE whose length runs past the end. */
	for (size_t i = 0; i < len; i += 32) {
		fl_gen_hash(g, "garbage", index * 64 + i, h);
		memcpy(out->cert + i, h, len - i < 32 ? len - i : 32);
	}
	out->cert[0] = 0x30;
	out->cert[1] = 0x84;
	out->cert_len = len;
	out->type = FL_X509_ENTRY;
	out->ts = (uint64_t)BASE_TIME * 1000 + index * 1000;
	out->chain[0] = g->ed_idx;
	out->nchain = 1;
	return 0;
}
