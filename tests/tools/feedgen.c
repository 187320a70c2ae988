/*
 * Test replay feeds with real certificates (feedgen.h): minting with
 * OpenSSL, rendering with the render library.
 */
#include "tests/tools/feedgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ingest/leaf.h"
#include "tests/tools/x509_ext.h"

#define FG_BASE_TIME 1735689600L        /* 2025-01-01: not_before */
#define FG_SEEN 1735689600.0
#define FG_MAX_CA 16

struct fg_ca {
	char *cn, *o;
	X509 *x;
	uint8_t *der;
	size_t len;
};

struct feedgen {
	EVP_PKEY *ca_key;       /* every test CA signs with one key */
	EVP_PKEY *leaf_key;     /* every leaf holds one public key */
	struct fg_ca ca[FG_MAX_CA];
	int nca;
	uint8_t *der;           /* the leaf minted last */
	struct render_out ro;
};

static EVP_PKEY *
ed25519_from(const char *label)
{
	uint8_t seed[32];

	SHA256((const unsigned char *)label, strlen(label), seed);
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed));
}

struct feedgen *
feedgen_new(char *err, size_t errlen)
{
	struct feedgen *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	render_out_init(&g->ro);
	if ((g->ca_key = ed25519_from("feedgen test CA")) == NULL ||
	    (g->leaf_key = ed25519_from("feedgen test leaf")) == NULL) {
		snprintf(err, errlen, "Ed25519 keys: OpenSSL failed");
		feedgen_free(g);
		return NULL;
	}
	return g;
}

void
feedgen_free(struct feedgen *g)
{
	if (g == NULL)
		return;
	for (int i = 0; i < g->nca; i++) {
		free(g->ca[i].cn);
		free(g->ca[i].o);
		X509_free(g->ca[i].x);
		OPENSSL_free(g->ca[i].der);
	}
	OPENSSL_free(g->der);
	EVP_PKEY_free(g->ca_key);
	EVP_PKEY_free(g->leaf_key);
	render_out_fini(&g->ro);
	free(g);
}


static int
add_name(X509_NAME *n, const char *field, const char *v)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
	    (const unsigned char *)v, -1, -1, 0) ? 0 : -1;
}

static int
set_validity(X509 *x, long from, long days)
{
	return ASN1_TIME_set(X509_getm_notBefore(x), from) != NULL &&
	    ASN1_TIME_set(X509_getm_notAfter(x), from + days * 86400L) != NULL ?
	    0 : -1;
}

/* The CA named (cn, o), made on first use. NULL when OpenSSL fails. */
static struct fg_ca *
ca_for(struct feedgen *g, const char *cn, const char *o)
{
	struct fg_ca *c;
	X509_NAME *n;
	unsigned char *p = NULL;
	int len;

	for (int i = 0; i < g->nca; i++)
		if (strcmp(g->ca[i].cn, cn) == 0 && strcmp(g->ca[i].o, o) == 0)
			return &g->ca[i];
	if (g->nca == FG_MAX_CA)
		return NULL;
	c = &g->ca[g->nca];
	memset(c, 0, sizeof(*c));
	if ((c->x = X509_new()) == NULL)
		return NULL;
	n = X509_get_subject_name(c->x);
	if (!X509_set_version(c->x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(c->x), 1000 + g->nca) ||
	    add_name(n, "O", o) < 0 || add_name(n, "CN", cn) < 0 ||
	    !X509_set_issuer_name(c->x, n) ||
	    set_validity(c->x, FG_BASE_TIME - 365 * 86400L, 3650) < 0 ||
	    !X509_set_pubkey(c->x, g->ca_key) ||
	    x509_ext_add(c->x, c->x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    x509_ext_add(c->x, c->x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    x509_ext_add(c->x, c->x, NID_subject_key_identifier, "hash") < 0 ||
	    X509_sign(c->x, g->ca_key, NULL) <= 0 ||
	    (len = i2d_X509(c->x, &p)) <= 0)
		goto fail;
	if ((c->cn = strdup(cn)) == NULL || (c->o = strdup(o)) == NULL) {
		OPENSSL_free(p);
		goto fail;
	}
	c->der = p;
	c->len = (size_t)len;
	g->nca++;
	return c;
fail:
	free(c->cn);
	free(c->o);
	X509_free(c->x);
	memset(c, 0, sizeof(*c));
	return NULL;
}

static int
add_sans(X509 *x, const struct feedgen_rec *r)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	int rc = -1;

	if (gens == NULL)
		return -1;
	for (size_t i = 0; i < r->ndomains; i++) {
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		if (gn == NULL || s == NULL ||
		    !ASN1_STRING_set(s, r->domains[i], -1)) {
			GENERAL_NAME_free(gn);
			ASN1_IA5STRING_free(s);
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(gens, gn)) {
			GENERAL_NAME_free(gn);
			goto out;
		}
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}


/* A serial from the record: its index and first name. */
static int
set_serial(X509 *x, const struct feedgen_rec *r)
{
	uint8_t h[32];
	char buf[320];
	BIGNUM *bn;
	int ok;

	snprintf(buf, sizeof(buf), "%llu %s %d", (unsigned long long)r->index,
	    r->domains[0], r->precert);
	SHA256((const unsigned char *)buf, strlen(buf), h);
	h[0] &= 0x7f;                   /* positive */
	if ((bn = BN_bin2bn(h, 16, NULL)) == NULL)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* The leaf certificate of r, DER into g->der. */
static int
mint(struct feedgen *g, const struct feedgen_rec *r, struct fg_ca *ca,
    size_t *len)
{
	X509 *x = X509_new();
	unsigned char *p = NULL;
	int n, rc = -1;

	if (x == NULL)
		return -1;
	if (!X509_set_version(x, 2) || set_serial(x, r) < 0 ||
	    add_name(X509_get_subject_name(x), "CN", r->domains[0]) < 0 ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->x)) ||
	    set_validity(x, FG_BASE_TIME, 90) < 0 ||
	    !X509_set_pubkey(x, g->leaf_key) ||
	    x509_ext_add(x, ca->x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    x509_ext_add(x, ca->x, NID_ext_key_usage, "serverAuth") < 0 ||
	    x509_ext_add(x, ca->x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    x509_ext_add(x, ca->x, NID_subject_key_identifier, "hash") < 0 ||
	    x509_ext_add(x, ca->x, NID_authority_key_identifier, "keyid") < 0 ||
	    add_sans(x, r) < 0 || (r->precert && x509_ext_add_poison(x) < 0) ||
	    X509_sign(x, g->ca_key, NULL) <= 0 || (n = i2d_X509(x, &p)) <= 0)
		goto out;
	OPENSSL_free(g->der);
	g->der = p;
	*len = (size_t)n;
	rc = 0;
out:
	X509_free(x);
	return rc;
}

int
feedgen_line(struct feedgen *g, const struct feedgen_rec *r,
    const char **line, size_t *len, char *err, size_t errlen)
{
	const char *cn = r->issuer_cn ? r->issuer_cn : "Feedgen Test CA";
	const char *o = r->issuer_o ? r->issuer_o : "Feedgen Test";
	struct leaf_entry e;
	struct fg_ca *ca;
	size_t dlen;

	if (r->ndomains == 0) {
		snprintf(err, errlen, "record %llu: no domain",
		    (unsigned long long)r->index);
		return -1;
	}
	if ((ca = ca_for(g, cn, o)) == NULL || mint(g, r, ca, &dlen) == -1) {
		snprintf(err, errlen, "record %llu: minting failed (OpenSSL)",
		    (unsigned long long)r->index);
		return -1;
	}
	memset(&e, 0, sizeof(e));
	e.type = r->precert ? LEAF_PRECERT : LEAF_X509;
	e.is_static = r->src.type != NULL && strcmp(r->src.type, "static") == 0;
	e.index = r->index;
	e.timestamp_ms = r->timestamp_ms ? r->timestamp_ms :
	    (uint64_t)FG_BASE_TIME * 1000 + 500;
	e.cert.p = g->der;
	e.cert.len = dlen;
	if (r->with_chain) {
		e.chain[0].p = ca->der;
		e.chain[0].len = ca->len;
		e.nchain = 1;
	}
	if (render_entry(&e, &r->src, FG_SEEN, &g->ro, err, errlen) == -1)
		return -1;
	*line = g->ro.json[RV_FULL];
	*len = g->ro.len[RV_FULL];
	return 0;
}
