/* Strict DER walking: one certificate split into the parts rendered and
 * checked (see x509_priv.h). */
#include "ingest/render/x509_priv.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/base64.h"
#include "common/utf8.h"

/* ---- DER walking ---- */

/* Reads one element with a one-byte tag; definite lengths only. */
int
x509j_der_next(const uint8_t **pp, const uint8_t *end, int *tag, struct der *d)
{
	const uint8_t *p = *pp;
	size_t len, n, i;

	if (end - p < 2)
		return -1;
	*tag = p[0];
	if ((p[0] & 0x1f) == 0x1f)
		return -1;            /* high tag numbers: not in X.509 */
	if (p[1] < 0x80) {
		len = p[1];
		p += 2;
	} else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - p) < 2 + n)
			return -1;    /* indefinite or absurd */
		for (len = 0, i = 0; i < n; i++)
			len = (len << 8) | p[2 + i];
		p += 2 + n;
	}
	if (len > (size_t)(end - p))
		return -1;
	d->tlv = *pp;
	d->p = p;
	d->len = len;
	d->tlvlen = (size_t)(p + len - *pp);
	*pp = p + len;
	return 0;
}

int
x509j_der_expect(const uint8_t **pp, const uint8_t *end, int want, struct der *d)
{
	int tag;

	if (x509j_der_next(pp, end, &tag, d) != 0 || tag != want)
		return -1;
	return 0;
}

/* Peeks the next tag without consuming; -1 at the end. */
int
x509j_der_peek(const uint8_t *p, const uint8_t *end)
{
	return p < end ? p[0] : -1;
}

int
x509j_split(const uint8_t *der, size_t len, struct certparts *c, const char **why)
{
	const uint8_t *p = der, *end = der + len, *q, *qe;
	struct der cert, d, v;

	memset(c, 0, sizeof(*c));
	*why = "not a DER SEQUENCE";
	if (x509j_der_expect(&p, end, 0x30, &cert) != 0)
		return -1;
	*why = "trailing bytes after the certificate";
	if (p != end)
		return -1;
	p = cert.p;
	end = cert.p + cert.len;
	*why = "bad certificate structure";
	if (x509j_der_expect(&p, end, 0x30, &c->tbs) != 0 ||
	    x509j_der_expect(&p, end, 0x30, &c->sigalg) != 0 ||
	    x509j_der_expect(&p, end, 0x03, &d) != 0 || p != end ||
	    d.len < 1 || d.p[0] > 7)
		return -1;

	p = c->tbs.p;
	end = c->tbs.p + c->tbs.len;
	*why = "bad version";
	if (x509j_der_peek(p, end) == 0xa0) {
		if (x509j_der_expect(&p, end, 0xa0, &d) != 0)
			return -1;
		q = d.p;
		if (x509j_der_expect(&q, d.p + d.len, 0x02, &v) != 0 || q != d.p + d.len ||
		    v.len != 1)
			return -1;
	}
	*why = "bad serial number";
	if (x509j_der_expect(&p, end, 0x02, &c->serial) != 0 || c->serial.len == 0 ||
	    (c->serial.len > 1 &&
	     ((c->serial.p[0] == 0 && !(c->serial.p[1] & 0x80)) ||
	      (c->serial.p[0] == 0xff && (c->serial.p[1] & 0x80)))))
		return -1;
	*why = "bad signature algorithm";
	if (x509j_der_expect(&p, end, 0x30, &c->tbs_sigalg) != 0)
		return -1;
	*why = "bad issuer";
	if (x509j_der_expect(&p, end, 0x30, &c->issuer) != 0)
		return -1;
	*why = "bad validity";
	if (x509j_der_expect(&p, end, 0x30, &d) != 0)
		return -1;
	q = d.p;
	qe = d.p + d.len;
	if (x509j_der_next(&q, qe, &c->nb_tag, &c->nb) != 0 ||
	    x509j_der_next(&q, qe, &c->na_tag, &c->na) != 0 || q != qe ||
	    (c->nb_tag != 0x17 && c->nb_tag != 0x18) ||
	    (c->na_tag != 0x17 && c->na_tag != 0x18))
		return -1;
	*why = "bad subject";
	if (x509j_der_expect(&p, end, 0x30, &c->subject) != 0)
		return -1;
	*why = "bad subjectPublicKeyInfo";
	if (x509j_der_expect(&p, end, 0x30, &d) != 0)
		return -1;
	q = d.p;
	qe = d.p + d.len;
	if (x509j_der_expect(&q, qe, 0x30, &c->spki_alg) != 0 ||
	    x509j_der_expect(&q, qe, 0x03, &v) != 0 || q != qe || v.len < 1 || v.p[0] > 7)
		return -1;
	/* issuerUniqueID [1] and subjectUniqueID [2]: IMPLICIT BIT STRING,
	 * primitive in DER; a constructed one is refused, as d2i_X509 does. */
	*why = "bad unique identifier";
	if (x509j_der_peek(p, end) == 0x81 &&
	    (x509j_der_expect(&p, end, 0x81, &d) != 0 || d.len < 1 || d.p[0] > 7))
		return -1;
	if (x509j_der_peek(p, end) == 0x82 &&
	    (x509j_der_expect(&p, end, 0x82, &d) != 0 || d.len < 1 || d.p[0] > 7))
		return -1;
	*why = "bad extensions";
	if (x509j_der_peek(p, end) == 0xa3) {
		if (x509j_der_expect(&p, end, 0xa3, &c->exts_wrap) != 0)
			return -1;
		q = c->exts_wrap.p;
		qe = q + c->exts_wrap.len;
		if (x509j_der_expect(&q, qe, 0x30, &c->exts) != 0 || q != qe)
			return -1;
		c->has_exts = 1;
	}
	*why = "trailing bytes in tbsCertificate";
	if (p != end)
		return -1;
	return 0;
}

/* An AlgorithmIdentifier as d2i_X509 would decode it. */
int
x509j_check_algor(const struct der *d)
{
	const unsigned char *p = d->tlv;
	X509_ALGOR *a = d2i_X509_ALGOR(NULL, &p, (long)d->tlvlen);
	int ok = a != NULL && p == d->tlv + d->tlvlen;

	X509_ALGOR_free(a);
	return ok ? 0 : -1;
}
