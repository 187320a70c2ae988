/*
 * Private to the renderer's files (x509_*.c): its state, the DER parts of
 * a certificate, and the functions one file calls in another.
 */
#ifndef INGEST_RENDER_X509_PRIV_H
#define INGEST_RENDER_X509_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>

#include "ingest/render/x509_json.h"

#define NO_REC SIZE_MAX

struct ext_rec {
	const char *key;      /* static name, or into keybuf */
	size_t keyoff;        /* into keybuf when key is NULL */
	size_t off, len;      /* value text in x->vals */
	int is_bool;
	int first;            /* first of its key: writes the key */
	size_t same;          /* next record of the same key, or NO_REC */
};

struct dom_rec {
	size_t off, len;      /* into x->doms */
	int dup;              /* an earlier entry has the same bytes */
};

/* One string of a list to de-duplicate. Sorted by bytes then position,
 * the copies of a string are side by side, its first occurrence first:
 * n log n whatever the names, which a hash set keyed by nothing secret
 * would not be (certificates are the input of whoever asks a CA). */
struct sortkey {
	const char *p;
	size_t len;
	size_t idx;
};

struct name_rec {
	int nid;
	size_t off, len;      /* into x->nv */
};

struct x509j {
	BIO *mem;
	struct x509j_buf nv;      /* converted name values */
	struct name_rec *nrec;
	size_t nreccap;
	size_t ncn;               /* CN domain candidates at the list head */
	EVP_MD *sha1, *sha256;
	EVP_MD_CTX *mdctx;        /* tbs_sha256, hashed in pieces */
	struct x509j_buf tmp;     /* one converted name value */
	struct x509j_buf vals;    /* extension texts */
	struct x509j_buf keybuf;  /* dotted OIDs */
	struct x509j_buf doms;    /* domain bytes */
	struct ext_rec *exts;
	size_t next, extcap;
	struct dom_rec *dom;
	size_t ndom, domcap;
	struct sortkey *sk;       /* de-duplication scratch */
	size_t skcap;
};

struct der {
	const uint8_t *p;    /* content */
	size_t len;
	const uint8_t *tlv;  /* whole element, header included */
	size_t tlvlen;
};

struct certparts {
	struct der tbs, serial, issuer, subject, nb, na, exts, sigalg;
	struct der exts_wrap;               /* [3] EXPLICIT around exts */
	struct der tbs_sigalg, spki_alg;    /* only checked */
	int nb_tag, na_tag;
	int has_exts;
};

/* x509_buf.c: hex bytes, upper case (fingerprints) or with the digits given */
void x509j_hex(struct x509j_buf *b, const uint8_t *s, size_t n, int colons);
void x509j_hex_in(struct x509j_buf *b, const uint8_t *s, size_t n, int colons,
    const char *hex);

/* x509_der.c */
int x509j_der_next(const uint8_t **pp, const uint8_t *end, int *tag, struct der *d);
int x509j_der_expect(const uint8_t **pp, const uint8_t *end, int want, struct der *d);
int x509j_der_peek(const uint8_t *p, const uint8_t *end);
int x509j_split(const uint8_t *der, size_t len, struct certparts *c, const char **why);
int x509j_check_algor(const struct der *d);

/* x509_names.c */
const char *x509j_obj_name(const ASN1_OBJECT *o, char *buf, size_t buflen);
int x509j_grow(void **arr, size_t *cap, size_t need, size_t elem);
int x509j_sortkey_same(const struct sortkey *u, const struct sortkey *v);
void x509j_sortkeys(struct x509j *x, size_t n);
int x509j_add_domain(struct x509j *x, const uint8_t *s, size_t n);
int x509j_name(struct x509j *x, const struct der *nd, struct x509j_buf *o,
    int add_cn);
int x509j_mark_dup_domains(struct x509j *x, size_t first);
void x509j_put_domains(struct x509j *x, size_t first, struct x509j_buf *o);

/* x509_exts.c */
int x509j_exts(struct x509j *x, const struct certparts *c, int leaf,
    struct x509j_buf *o, int *is_ca);
int x509j_tbs_digest(struct x509j *x, const struct certparts *c, uint8_t *md,
    unsigned int *mdlen);

#endif
