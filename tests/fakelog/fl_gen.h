/*
 * Generated log entries: leaf certificates and precertificates made with
 * OpenSSL at run time, a pure function of (seed, log name, index), issued
 * by two test CAs (Ed25519 and RSA, both deterministic signers), with
 * varied subjects, SANs, key types and extensions.
 */
#ifndef FAKELOG_FL_GEN_H
#define FAKELOG_FL_GEN_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tests/fakelog/fl_entry.h"

struct fl_gen {
	uint8_t seed[32];
	EVP_PKEY *ed_key;        /* Ed25519 CA key, from the seed */
	EVP_PKEY *rsa_key;       /* RSA CA key, fixture file */
	EVP_PKEY *p256_pub;      /* leaf public keys, fixture files */
	EVP_PKEY *rsa_pub;
	/* One reusable certificate per leaf key: setting a public key costs
	 * an encode and a decode in OpenSSL 3, so each entry only rewrites
	 * the other fields of one of these. */
#define FL_GEN_TMPL 10
	X509 *tmpl[FL_GEN_TMPL];
	X509 *ed_ca;
	X509 *rsa_ca;
	uint32_t ed_idx;         /* CA certificates in the pool */
	uint32_t rsa_idx;
	uint8_t ed_ikh[32];      /* SHA-256 of each CA's SubjectPublicKeyInfo */
	uint8_t rsa_ikh[32];
	/* --pairs: a generated precertificate's certificate is the next
	 * entry (same TBS, the poison replaced by an SCT list) */
	int pairs;
};

/* datadir holds keys/ca-rsa.pem, keys/leaf-p256.pub.pem, keys/leaf-rsa.pub.pem. */
int fl_gen_init(struct fl_gen *g, const char *seed, const char *datadir,
    struct fl_pool *pool, char *err, size_t errlen);
void fl_gen_fini(struct fl_gen *g);
int fl_gen_entry(struct fl_gen *g, const char *log, uint64_t index,
    struct fl_entry *out, char *err, size_t errlen);
/* An x509_entry whose certificate bytes are not DER (hostile-log tests). */
int fl_gen_garbage(struct fl_gen *g, uint64_t index, struct fl_entry *out);
/* Deterministic bytes: SHA-256(seed || label || index). */
void fl_gen_hash(const struct fl_gen *g, const char *label, uint64_t index,
    uint8_t out[32]);

#endif
