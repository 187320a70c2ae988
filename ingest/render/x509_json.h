/*
 * One X.509 certificate (DER) to the certstream leaf_cert / chain member
 * JSON object of FORMAT.md, as text appended to a growable buffer.
 *
 * The DER is walked here (strictly: definite lengths, every element where
 * X.509 puts it, nothing left over) and OpenSSL decodes only the parts
 * that are rendered: the two names (d2i_X509_NAME), the extensions
 * (d2i_X509_EXTENSIONS, printed by X509V3_EXT_print), the signature
 * algorithm and the validity times. That is each certificate parsed once,
 * without the public-key decoding that makes d2i_X509 slow in OpenSSL 3.
 * A certificate that d2i_X509 rejects is rejected here too (the unit tests
 * check that on flipped real certificates).
 *
 * Output text is valid UTF-8 JSON whatever the input: ASN.1 strings are
 * converted by type (BMP as UCS-2, Universal as UCS-4, Teletex as
 * Latin-1, the others as bytes); bytes that are not valid UTF-8 are
 * written as the four characters \xHH (JSON "\\xHH"), never dropped.
 */
#ifndef INGEST_X509_JSON_H
#define INGEST_X509_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Growable text buffer. Appends never fail loudly: on allocation failure
 * oom is set and later appends do nothing; check oom once at the end. */
struct x509j_buf {
	char *p;
	size_t len;
	size_t cap;
	int oom;
};

void x509j_buf_init(struct x509j_buf *b);
void x509j_buf_fini(struct x509j_buf *b);
int x509j_buf_reserve(struct x509j_buf *b, size_t more);
void x509j_put(struct x509j_buf *b, const void *s, size_t n);
void x509j_puts(struct x509j_buf *b, const char *s);
void x509j_putc(struct x509j_buf *b, char c);
void x509j_u64(struct x509j_buf *b, uint64_t v);
/* A JSON string literal (quotes included) of n arbitrary bytes. */
void x509j_str(struct x509j_buf *b, const void *s, size_t n);
/* A JSON string literal of the standard base64 of n bytes. */
void x509j_b64(struct x509j_buf *b, const void *s, size_t n);

/* Rendering state: OpenSSL objects and scratch reused across certs. */
struct x509j;

struct x509j *x509j_new(void);
void x509j_free(struct x509j *x);

#define X509J_LEAF 0x1   /* add tbs_sha256, all_domains (fill *domains) */
#define X509J_DER 0x2    /* add as_der */
#define X509J_CLOSE 0x4  /* close the object with '}' */

/*
 * Appends `{"subject":...,"issuer":...,"extensions":{...},"not_before":N,
 * "not_after":N,"serial_number":"..","fingerprint":"..","sha1":"..",
 * "sha256":"..",` (with X509J_LEAF `"tbs_sha256":"..",`)
 * `"signature_algorithm":"..","is_ca":B` then, by flags,
 * `,"all_domains":[..]`, `,"as_der":".."`, `}`. tbs_sha256 is the
 * lowercase hex SHA-256 of the tbsCertificate without the CT poison and
 * SCT list extensions: equal for a precertificate and its certificate
 * (unless a Precertificate Signing Certificate changed the issuer).
 * With X509J_LEAF and domains != NULL, the all_domains array text is also
 * appended to *domains. Returns 0, or -1 with err filled and both buffers back at
 * their length on entry (nothing half-written).
 */
int x509j_cert(struct x509j *x, const uint8_t *der, size_t len, unsigned flags,
    struct x509j_buf *obj, struct x509j_buf *domains, char *err, size_t errlen);

/* The same with the certificate's SHA-256 (32 bytes) given by a caller that
 * has it already (the ingest's dedup key), or NULL to compute it here. */
int x509j_cert_sha(struct x509j *x, const uint8_t *der, size_t len,
    const uint8_t *sha256, unsigned flags, struct x509j_buf *obj,
    struct x509j_buf *domains, char *err, size_t errlen);

#endif
