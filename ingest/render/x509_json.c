/* X.509 DER to certstream JSON text (see x509_json.h). */
#include "ingest/render/x509_json.h"

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

/* ---- text buffer ---- */

void
x509j_buf_init(struct x509j_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
x509j_buf_fini(struct x509j_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
x509j_buf_reserve(struct x509j_buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return -1;
	if (more > SIZE_MAX / 2 - b->len - 1) {
		b->oom = 1;
		return -1;
	}
	need = b->len + more + 1;   /* room for a NUL */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 1024;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
x509j_put(struct x509j_buf *b, const void *s, size_t n)
{
	if (n == 0 || x509j_buf_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
x509j_puts(struct x509j_buf *b, const char *s)
{
	x509j_put(b, s, strlen(s));
}

void
x509j_putc(struct x509j_buf *b, char c)
{
	x509j_put(b, &c, 1);
}

void
x509j_u64(struct x509j_buf *b, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);

	x509j_put(b, tmp, (size_t)n);
}

void
x509j_str(struct x509j_buf *b, const void *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = src;
	size_t i = 0, run;
	char *o;

	/* worst case: 6 output bytes per input byte, plus quotes */
	if (n > SIZE_MAX / 8 || x509j_buf_reserve(b, n * 6 + 2) != 0)
		return;
	o = b->p + b->len;
	*o++ = '"';
	while (i < n) {
		uint8_t c = s[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c < 0x20) {
			*o++ = '\\';
			switch (c) {
			case '\n': *o++ = 'n'; break;
			case '\r': *o++ = 'r'; break;
			case '\t': *o++ = 't'; break;
			default:
				*o++ = 'u'; *o++ = '0'; *o++ = '0';
				*o++ = hex[c >> 4]; *o++ = hex[c & 15];
			}
			i++;
			continue;
		}
		if ((run = utf8_char_len(s + i, n - i)) > 0) {
			memcpy(o, s + i, run);
			o += run;
			i += run;
			continue;
		}
		/* not text: the characters \xHH, escaped for JSON */
		*o++ = '\\'; *o++ = '\\'; *o++ = 'x';
		*o++ = hex[c >> 4]; *o++ = hex[c & 15];
		i++;
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->p);
}

void
x509j_b64(struct x509j_buf *b, const void *s, size_t n)
{
	if (n > (size_t)INT_MAX / 4 * 3 ||
	    x509j_buf_reserve(b, BASE64_ENCODED_LEN(n) + 3) != 0)
		return;
	b->p[b->len++] = '"';
	b->len += base64_encode(b->p + b->len, s, n);
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

static void
put_hex_in(struct x509j_buf *b, const uint8_t *s, size_t n, int colons,
    const char *hex)
{
	size_t i;
	char *o;

	if (x509j_buf_reserve(b, n * 3 + 2) != 0)
		return;
	o = b->p + b->len;
	for (i = 0; i < n; i++) {
		if (colons && i > 0)
			*o++ = ':';
		*o++ = hex[s[i] >> 4];
		*o++ = hex[s[i] & 15];
	}
	*o = '\0';
	b->len = (size_t)(o - b->p);
}

/* Upper case, as the fingerprints have always been. */
static void
put_hex(struct x509j_buf *b, const uint8_t *s, size_t n, int colons)
{
	put_hex_in(b, s, n, colons, "0123456789ABCDEF");
}

/* ---- state ---- */

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

struct x509j *
x509j_new(void)
{
	struct x509j *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->mem = BIO_new(BIO_s_mem());
	/* fetched once: EVP_sha256() would look the provider up every call */
	x->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	x->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	x->mdctx = EVP_MD_CTX_new();
	if (x->mem == NULL || x->sha1 == NULL || x->sha256 == NULL ||
	    x->mdctx == NULL) {
		x509j_free(x);
		return NULL;
	}
	return x;
}

void
x509j_free(struct x509j *x)
{
	if (x == NULL)
		return;
	BIO_free(x->mem);
	EVP_MD_free(x->sha1);
	EVP_MD_free(x->sha256);
	EVP_MD_CTX_free(x->mdctx);
	x509j_buf_fini(&x->tmp);
	x509j_buf_fini(&x->vals);
	x509j_buf_fini(&x->keybuf);
	x509j_buf_fini(&x->doms);
	x509j_buf_fini(&x->nv);
	free(x->nrec);
	free(x->exts);
	free(x->dom);
	free(x->sk);
	free(x);
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- DER walking ---- */

struct der {
	const uint8_t *p;    /* content */
	size_t len;
	const uint8_t *tlv;  /* whole element, header included */
	size_t tlvlen;
};

/* Reads one element with a one-byte tag; definite lengths only. */
static int
der_next(const uint8_t **pp, const uint8_t *end, int *tag, struct der *d)
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

static int
der_expect(const uint8_t **pp, const uint8_t *end, int want, struct der *d)
{
	int tag;

	if (der_next(pp, end, &tag, d) != 0 || tag != want)
		return -1;
	return 0;
}

/* Peeks the next tag without consuming; -1 at the end. */
static int
der_peek(const uint8_t *p, const uint8_t *end)
{
	return p < end ? p[0] : -1;
}

struct certparts {
	struct der tbs, serial, issuer, subject, nb, na, exts, sigalg;
	struct der exts_wrap;               /* [3] EXPLICIT around exts */
	struct der tbs_sigalg, spki_alg;    /* only checked */
	int nb_tag, na_tag;
	int has_exts;
};

static int
split_cert(const uint8_t *der, size_t len, struct certparts *c, const char **why)
{
	const uint8_t *p = der, *end = der + len, *q, *qe;
	struct der cert, d, v;

	memset(c, 0, sizeof(*c));
	*why = "not a DER SEQUENCE";
	if (der_expect(&p, end, 0x30, &cert) != 0)
		return -1;
	*why = "trailing bytes after the certificate";
	if (p != end)
		return -1;
	p = cert.p;
	end = cert.p + cert.len;
	*why = "bad certificate structure";
	if (der_expect(&p, end, 0x30, &c->tbs) != 0 ||
	    der_expect(&p, end, 0x30, &c->sigalg) != 0 ||
	    der_expect(&p, end, 0x03, &d) != 0 || p != end ||
	    d.len < 1 || d.p[0] > 7)
		return -1;

	p = c->tbs.p;
	end = c->tbs.p + c->tbs.len;
	*why = "bad version";
	if (der_peek(p, end) == 0xa0) {
		if (der_expect(&p, end, 0xa0, &d) != 0)
			return -1;
		q = d.p;
		if (der_expect(&q, d.p + d.len, 0x02, &v) != 0 || q != d.p + d.len ||
		    v.len != 1)
			return -1;
	}
	*why = "bad serial number";
	if (der_expect(&p, end, 0x02, &c->serial) != 0 || c->serial.len == 0 ||
	    (c->serial.len > 1 &&
	     ((c->serial.p[0] == 0 && !(c->serial.p[1] & 0x80)) ||
	      (c->serial.p[0] == 0xff && (c->serial.p[1] & 0x80)))))
		return -1;
	*why = "bad signature algorithm";
	if (der_expect(&p, end, 0x30, &c->tbs_sigalg) != 0)
		return -1;
	*why = "bad issuer";
	if (der_expect(&p, end, 0x30, &c->issuer) != 0)
		return -1;
	*why = "bad validity";
	if (der_expect(&p, end, 0x30, &d) != 0)
		return -1;
	q = d.p;
	qe = d.p + d.len;
	if (der_next(&q, qe, &c->nb_tag, &c->nb) != 0 ||
	    der_next(&q, qe, &c->na_tag, &c->na) != 0 || q != qe ||
	    (c->nb_tag != 0x17 && c->nb_tag != 0x18) ||
	    (c->na_tag != 0x17 && c->na_tag != 0x18))
		return -1;
	*why = "bad subject";
	if (der_expect(&p, end, 0x30, &c->subject) != 0)
		return -1;
	*why = "bad subjectPublicKeyInfo";
	if (der_expect(&p, end, 0x30, &d) != 0)
		return -1;
	q = d.p;
	qe = d.p + d.len;
	if (der_expect(&q, qe, 0x30, &c->spki_alg) != 0 ||
	    der_expect(&q, qe, 0x03, &v) != 0 || q != qe || v.len < 1 || v.p[0] > 7)
		return -1;
	/* issuerUniqueID [1] and subjectUniqueID [2]: IMPLICIT BIT STRING,
	 * primitive in DER; a constructed one is refused, as d2i_X509 does. */
	*why = "bad unique identifier";
	if (der_peek(p, end) == 0x81 &&
	    (der_expect(&p, end, 0x81, &d) != 0 || d.len < 1 || d.p[0] > 7))
		return -1;
	if (der_peek(p, end) == 0x82 &&
	    (der_expect(&p, end, 0x82, &d) != 0 || d.len < 1 || d.p[0] > 7))
		return -1;
	*why = "bad extensions";
	if (der_peek(p, end) == 0xa3) {
		if (der_expect(&p, end, 0xa3, &c->exts_wrap) != 0)
			return -1;
		q = c->exts_wrap.p;
		qe = q + c->exts_wrap.len;
		if (der_expect(&q, qe, 0x30, &c->exts) != 0 || q != qe)
			return -1;
		c->has_exts = 1;
	}
	*why = "trailing bytes in tbsCertificate";
	if (p != end)
		return -1;
	return 0;
}

/* An AlgorithmIdentifier as d2i_X509 would decode it. */
static int
check_algor(const struct der *d)
{
	const unsigned char *p = d->tlv;
	X509_ALGOR *a = d2i_X509_ALGOR(NULL, &p, (long)d->tlvlen);
	int ok = a != NULL && p == d->tlv + d->tlvlen;

	X509_ALGOR_free(a);
	return ok ? 0 : -1;
}

/* ---- names ---- */

static void
put_cp(struct x509j_buf *b, uint32_t c)
{
	char u[4];

	if (c < 0x80) {
		u[0] = (char)c;
		x509j_put(b, u, 1);
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		x509j_put(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		x509j_put(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		x509j_put(b, u, 4);
	}
}

/* Appends the value of a name attribute as UTF-8 bytes (invalid bytes
 * stay as they are: the JSON writer escapes them). */
static void
string_utf8(struct x509j_buf *b, const ASN1_STRING *s)
{
	const uint8_t *d = ASN1_STRING_get0_data(s);
	size_t n = (size_t)ASN1_STRING_length(s), i;

	switch (ASN1_STRING_type(s)) {
	case V_ASN1_BMPSTRING:
		for (i = 0; i + 1 < n; i += 2) {
			uint32_t c = ((uint32_t)d[i] << 8) | d[i + 1];

			if (c >= 0xd800 && c <= 0xdbff && i + 3 < n) {
				uint32_t lo = ((uint32_t)d[i + 2] << 8) | d[i + 3];

				if (lo >= 0xdc00 && lo <= 0xdfff) {
					put_cp(b, 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00));
					i += 2;
					continue;
				}
			}
			if (c >= 0xd800 && c <= 0xdfff)
				x509j_put(b, d + i, 2);   /* lone surrogate: escaped */
			else
				put_cp(b, c);
		}
		if (i < n)
			x509j_put(b, d + i, n - i);
		break;
	case V_ASN1_UNIVERSALSTRING:
		for (i = 0; i + 3 < n; i += 4) {
			uint32_t c = ((uint32_t)d[i] << 24) | ((uint32_t)d[i + 1] << 16) |
			    ((uint32_t)d[i + 2] << 8) | d[i + 3];

			if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
				x509j_put(b, d + i, 4);
			else
				put_cp(b, c);
		}
		if (i < n)
			x509j_put(b, d + i, n - i);
		break;
	case V_ASN1_T61STRING:
		/* Teletex as Latin-1, as OpenSSL converts it */
		for (i = 0; i < n; i++)
			put_cp(b, d[i]);
		break;
	case V_ASN1_UTF8STRING:
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_VISIBLESTRING:
	case V_ASN1_NUMERICSTRING:
	case V_ASN1_GENERALSTRING:
	case V_ASN1_GRAPHICSTRING:
	case V_ASN1_VIDEOTEXSTRING:
		x509j_put(b, d, n);
		break;
	default:
		/* not a string type: '#' and the hex of its content, as
		 * OpenSSL's dump_unknown does */
		x509j_putc(b, '#');
		put_hex(b, d, n, 0);
	}
}

/* Short name of an attribute or extension, or its dotted OID in buf. */
static const char *
obj_name(const ASN1_OBJECT *o, char *buf, size_t buflen)
{
	int nid = OBJ_obj2nid(o);
	const char *sn;

	if (nid != NID_undef && (sn = OBJ_nid2sn(nid)) != NULL)
		return sn;
	if (OBJ_obj2txt(buf, (int)buflen, o, 1) <= 0)
		snprintf(buf, buflen, "?");
	return buf;
}

static const char *const name_keys[] = { "C", "ST", "L", "O", "OU", "CN", "emailAddress" };
static const int name_nids[] = { NID_countryName, NID_stateOrProvinceName,
    NID_localityName, NID_organizationName, NID_organizationalUnitName,
    NID_commonName, NID_pkcs9_emailAddress };
#define NKEYS 7

static int
grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t nc;
	void *p;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap * 2 : 32;
	while (nc < need)
		nc *= 2;
	if ((p = realloc(*arr, nc * elem)) == NULL)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

static int
sortkey_cmp(const void *a, const void *b)
{
	const struct sortkey *u = a, *v = b;
	size_t n = u->len < v->len ? u->len : v->len;
	int c = n > 0 ? memcmp(u->p, v->p, n) : 0;

	if (c != 0)
		return c;
	if (u->len != v->len)
		return u->len < v->len ? -1 : 1;
	return u->idx < v->idx ? -1 : u->idx > v->idx;
}

static int
sortkey_same(const struct sortkey *u, const struct sortkey *v)
{
	return u->len == v->len && (u->len == 0 || memcmp(u->p, v->p, u->len) == 0);
}

static void
sortkeys(struct x509j *x, size_t n)
{
	if (n > 1)
		qsort(x->sk, n, sizeof(*x->sk), sortkey_cmp);
}

static int
add_domain(struct x509j *x, const uint8_t *s, size_t n)
{
	if (grow((void **)&x->dom, &x->domcap, x->ndom + 1, sizeof(*x->dom)) != 0)
		return -1;
	x->dom[x->ndom].off = x->doms.len;
	x->dom[x->ndom].len = n;
	x->ndom++;
	x509j_put(&x->doms, s, n);
	return x->doms.oom ? -1 : 0;
}

/*
 * {"aggregated":"/K=v/..","C":..,..,"emailAddress":..}: one pass converts
 * each value once into x->nv; the keys are then written from it, values
 * of one key joined with ", ". With add_cn, CN values become domain
 * candidates (x->ncn of them, first in the list).
 */
static int
render_name(struct x509j *x, const struct der *nd, struct x509j_buf *o,
    int add_cn)
{
	const unsigned char *p = nd->tlv;
	X509_NAME *nm;
	int n, i, k, rc = -1;
	size_t j;
	char oid[96];

	if ((nm = d2i_X509_NAME(NULL, &p, (long)nd->tlvlen)) == NULL ||
	    p != nd->tlv + nd->tlvlen)
		goto done;
	n = X509_NAME_entry_count(nm);
	if (grow((void **)&x->nrec, &x->nreccap, (size_t)n, sizeof(*x->nrec)) != 0)
		goto done;
	x->nv.len = 0;
	x->tmp.len = 0;     /* aggregated */
	for (i = 0; i < n; i++) {
		const X509_NAME_ENTRY *ne = X509_NAME_get_entry(nm, i);
		const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(ne);
		struct name_rec *r = &x->nrec[i];

		r->nid = OBJ_obj2nid(obj);
		r->off = x->nv.len;
		string_utf8(&x->nv, X509_NAME_ENTRY_get_data(ne));
		r->len = x->nv.len - r->off;
		x509j_putc(&x->tmp, '/');
		x509j_puts(&x->tmp, obj_name(obj, oid, sizeof(oid)));
		x509j_putc(&x->tmp, '=');
		x509j_put(&x->tmp, x->nv.p + r->off, r->len);
		if (add_cn && r->nid == NID_commonName && r->len > 0) {
			if (add_domain(x, (const uint8_t *)x->nv.p + r->off, r->len) != 0)
				goto done;
			x->ncn++;
		}
	}
	if (x->nv.oom || x->tmp.oom)
		goto done;
	x509j_puts(o, "{\"aggregated\":");
	x509j_str(o, x->tmp.p ? x->tmp.p : "", x->tmp.len);
	for (k = 0; k < NKEYS; k++) {
		int found = 0;

		x509j_puts(o, ",\"");
		x509j_puts(o, name_keys[k]);
		x509j_puts(o, "\":");
		x->tmp.len = 0;
		for (j = 0; j < (size_t)n; j++) {
			if (x->nrec[j].nid != name_nids[k])
				continue;
			if (found++)
				x509j_put(&x->tmp, ", ", 2);
			x509j_put(&x->tmp, x->nv.p + x->nrec[j].off, x->nrec[j].len);
		}
		if (!found)
			x509j_puts(o, "null");
		else
			x509j_str(o, x->tmp.p ? x->tmp.p : "", x->tmp.len);
	}
	x509j_putc(o, '}');
	rc = x->tmp.oom ? -1 : 0;
done:
	X509_NAME_free(nm);
	ERR_clear_error();
	return rc;
}

/* ---- extensions ---- */

/*
 * Moves the text printed into x->mem to the end of x->vals, trailing
 * newlines and spaces trimmed (tabs and CRs too with all_ws), and says
 * where it is; with off NULL, drops it. Reading empties the BIO where
 * BIO_reset would not do: OpenSSL 3 zeroes the whole buffer on a reset,
 * as large as the longest text it ever held, so one large extension
 * made every later reset, in this certificate and the next, cost that.
 */
static int
bio_take(struct x509j *x, int all_ws, size_t *off, size_t *len)
{
	size_t n = BIO_ctrl_pending(x->mem);
	char *t;

	if (n > INT_MAX || x509j_buf_reserve(&x->vals, n) != 0)
		return -1;
	t = x->vals.p + x->vals.len;
	if (n > 0 && BIO_read(x->mem, t, (int)n) != (int)n)
		return -1;
	if (off != NULL) {
		while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == ' ' ||
		    (all_ws && (t[n - 1] == '\r' || t[n - 1] == '\t'))))
			n--;
		*off = x->vals.len;
		*len = n;
		x->vals.len += n;
	}
	x->vals.p[x->vals.len] = '\0';
	return 0;
}

/* OpenSSL's text of one extension, trailing whitespace trimmed, into
 * x->vals; returns its offset/length. */
static int
ext_text(struct x509j *x, X509_EXTENSION *ext, size_t *off, size_t *len)
{
	if (bio_take(x, 0, NULL, NULL) != 0)    /* left by a failed print */
		return -1;
	if (X509V3_EXT_print(x->mem, ext, X509V3_EXT_DEFAULT, 0) <= 0) {
		/* no printer, or a value it cannot decode: its bytes, as
		 * `openssl x509 -text` shows them */
		ERR_clear_error();
		if (bio_take(x, 0, NULL, NULL) != 0)
			return -1;
		if (ASN1_STRING_print(x->mem, X509_EXTENSION_get_data(ext)) <= 0) {
			ERR_clear_error();
			return -1;
		}
	}
	return bio_take(x, 1, off, len);
}

/* The subjectAltName of a leaf, decoded once: its dNSNames go to the
 * domain list, and its text is what X509V3_EXT_print would print (the
 * same i2v method and printer). Undecodable: printed as bytes, no domains. */
static int
san_text(struct x509j *x, X509_EXTENSION *ext, size_t *off, size_t *len)
{
	const X509V3_EXT_METHOD *m = X509V3_EXT_get(ext);
	GENERAL_NAMES *gens = NULL;
	STACK_OF(CONF_VALUE) *vals = NULL;
	int i, rc = -1;

	if (m == NULL || m->i2v == NULL || (gens = X509V3_EXT_d2i(ext)) == NULL ||
	    (vals = m->i2v(m, gens, NULL)) == NULL) {
		ERR_clear_error();
		rc = ext_text(x, ext, off, len);
		goto done;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS &&
		    add_domain(x, ASN1_STRING_get0_data(g->d.dNSName),
		    (size_t)ASN1_STRING_length(g->d.dNSName)) != 0)
			goto done;
	}
	if (bio_take(x, 0, NULL, NULL) != 0)
		goto done;
	X509V3_EXT_val_prn(x->mem, vals, 0, m->ext_flags & X509V3_EXT_MULTILINE);
	rc = bio_take(x, 0, off, len);
done:
	sk_CONF_VALUE_pop_free(vals, X509V3_conf_free);
	GENERAL_NAMES_free(gens);
	return rc;
}

static const char *
ext_key(const struct x509j *x, const struct ext_rec *r)
{
	return r->key != NULL ? r->key : x->keybuf.p + r->keyoff;
}

/* Flags the first record of each key and links each to the next of the
 * same key, in certificate order. */
static int
group_exts(struct x509j *x)
{
	size_t i;

	if (grow((void **)&x->sk, &x->skcap, x->next, sizeof(*x->sk)) != 0)
		return -1;
	for (i = 0; i < x->next; i++) {
		struct ext_rec *r = &x->exts[i];

		x->sk[i].p = ext_key(x, r);
		x->sk[i].len = strlen(x->sk[i].p);
		x->sk[i].idx = i;
		r->first = 1;
		r->same = NO_REC;
	}
	sortkeys(x, x->next);
	for (i = 1; i < x->next; i++) {
		if (!sortkey_same(&x->sk[i - 1], &x->sk[i]))
			continue;
		x->exts[x->sk[i - 1].idx].same = x->sk[i].idx;
		x->exts[x->sk[i].idx].first = 0;
	}
	return 0;
}

static int
render_exts(struct x509j *x, const struct certparts *c, int leaf,
    struct x509j_buf *o, int *is_ca)
{
	STACK_OF(X509_EXTENSION) *sk = NULL;
	const unsigned char *p;
	int n = 0, i, rc = -1;
	size_t j, k;
	char oid[96];

	*is_ca = 0;
	x->next = 0;
	x->vals.len = 0;
	x->keybuf.len = 0;
	if (c->has_exts) {
		p = c->exts.tlv;
		sk = d2i_X509_EXTENSIONS(NULL, &p, (long)c->exts.tlvlen);
		if (sk == NULL || p != c->exts.tlv + c->exts.tlvlen) {
			ERR_clear_error();
			goto done;
		}
		n = sk_X509_EXTENSION_num(sk);
	}
	for (i = 0; i < n; i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(sk, i);
		const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
		int nid = OBJ_obj2nid(obj);
		struct ext_rec *r;

		if (grow((void **)&x->exts, &x->extcap, x->next + 1,
		    sizeof(*x->exts)) != 0)
			goto done;
		r = &x->exts[x->next];
		memset(r, 0, sizeof(*r));
		if (nid == NID_ct_precert_poison) {
			r->key = "ctlPoisonByte";
			r->is_bool = 1;
		} else {
			if (nid == NID_ct_precert_scts)
				r->key = "ctlSignedCertificateTimestamp";
			else if (nid != NID_undef)
				r->key = OBJ_nid2sn(nid);
			if (r->key == NULL) {
				r->keyoff = x->keybuf.len;
				obj_name(obj, oid, sizeof(oid));
				x509j_put(&x->keybuf, oid, strlen(oid) + 1);
			}
			if (nid == NID_subject_alt_name && leaf) {
				if (san_text(x, ext, &r->off, &r->len) != 0)
					goto done;
			} else if (ext_text(x, ext, &r->off, &r->len) != 0)
				goto done;
			if (nid == NID_basic_constraints && r->len >= 7 &&
			    memcmp(x->vals.p + r->off, "CA:TRUE", 7) == 0)
				*is_ca = 1;
		}
		x->next++;
	}
	/* one key per name: repeated extensions are joined with ", " */
	if (x->keybuf.oom || group_exts(x) != 0)
		goto done;
	x509j_putc(o, '{');
	for (j = 0; j < x->next; j++) {
		struct ext_rec *r = &x->exts[j];
		const char *key = ext_key(x, r);

		if (!r->first)
			continue;
		if (o->len > 0 && o->p[o->len - 1] != '{')
			x509j_putc(o, ',');
		x509j_str(o, key, strlen(key));
		x509j_putc(o, ':');
		if (r->is_bool) {
			x509j_puts(o, "true");
			continue;
		}
		x->tmp.len = 0;
		x509j_put(&x->tmp, x->vals.p + r->off, r->len);
		for (k = r->same; k != NO_REC; k = x->exts[k].same) {
			struct ext_rec *q = &x->exts[k];

			if (q->is_bool)
				continue;
			x509j_put(&x->tmp, ", ", 2);
			x509j_put(&x->tmp, x->vals.p + q->off, q->len);
		}
		x509j_str(o, x->tmp.p ? x->tmp.p : "", x->tmp.len);
	}
	x509j_putc(o, '}');
	rc = x->tmp.oom ? -1 : 0;
done:
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	return rc;
}

/* ---- tbs_sha256 ---- */

/*
 * The contents octets of the two CT extension OIDs (RFC 6962 §3.1):
 * 1.3.6.1.4.1.11129.2.4.3 (poison) and .2 (embedded SCT list). DER gives
 * an OID one encoding, so comparing bytes is comparing OIDs.
 */
static const uint8_t oid_ct_prefix[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04
};

static int
is_ct_ext_oid(const struct der *oid)
{
	return oid->len == sizeof(oid_ct_prefix) + 1 &&
	    memcmp(oid->p, oid_ct_prefix, sizeof(oid_ct_prefix)) == 0 &&
	    (oid->p[oid->len - 1] == 0x02 || oid->p[oid->len - 1] == 0x03);
}

/* A DER header (tag, definite length in the fewest octets) into h[2 + sizeof(size_t)]. */
static size_t
der_header(uint8_t *h, int tag, size_t len)
{
	size_t n = 0, i;

	h[0] = (uint8_t)tag;
	if (len < 0x80) {
		h[1] = (uint8_t)len;
		return 2;
	}
	for (i = len; i > 0; i >>= 8)
		n++;
	h[1] = (uint8_t)(0x80 | n);
	for (i = 0; i < n; i++)
		h[2 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	return 2 + n;
}

/*
 * SHA-256 of the tbsCertificate without the poison and SCT list
 * extensions: the TBS a precertificate and its certificate share (RFC
 * 6962 §3.2, less the issuer rewrite of a Precertificate Signing
 * Certificate). Every kept byte is the certificate's own; only the three
 * lengths around the extensions are re-encoded. With no extension left,
 * the [3] field goes too (RFC 5280 extensions hold at least one). Hashed
 * in pieces: nothing is copied.
 */
static int
tbs_digest(struct x509j *x, const struct certparts *c, uint8_t *md,
    unsigned int *mdlen)
{
	const uint8_t *p, *end, *q;
	const uint8_t *pre = c->tbs.p;
	size_t prelen, kept = 0, a3len = 0, tbslen, hn[3];
	uint8_t h[3][2 + sizeof(size_t)];
	struct der ext, oid;
	int dropped = 0;

	if (!c->has_exts)
		return EVP_Digest(c->tbs.tlv, c->tbs.tlvlen, md, mdlen, x->sha256,
		    NULL) ? 0 : -1;
	prelen = (size_t)(c->exts_wrap.tlv - c->tbs.p);
	end = c->exts.p + c->exts.len;
	for (p = c->exts.p; p < end;) {
		if (der_expect(&p, end, 0x30, &ext) != 0)
			return -1;
		q = ext.p;
		if (der_expect(&q, ext.p + ext.len, 0x06, &oid) != 0)
			return -1;
		if (is_ct_ext_oid(&oid))
			dropped = 1;
		else
			kept += ext.tlvlen;
	}
	if (!dropped)
		return EVP_Digest(c->tbs.tlv, c->tbs.tlvlen, md, mdlen, x->sha256,
		    NULL) ? 0 : -1;
	hn[1] = hn[2] = 0;
	if (kept > 0) {
		hn[2] = der_header(h[2], 0x30, kept);
		a3len = hn[2] + kept;
		hn[1] = der_header(h[1], 0xa3, a3len);
	}
	tbslen = prelen + (kept > 0 ? hn[1] + a3len : 0);
	hn[0] = der_header(h[0], 0x30, tbslen);
	if (!EVP_DigestInit_ex(x->mdctx, x->sha256, NULL) ||
	    !EVP_DigestUpdate(x->mdctx, h[0], hn[0]) ||
	    !EVP_DigestUpdate(x->mdctx, pre, prelen) ||
	    !EVP_DigestUpdate(x->mdctx, h[1], hn[1]) ||
	    !EVP_DigestUpdate(x->mdctx, h[2], hn[2]))
		return -1;
	for (p = c->exts.p; p < end;) {
		if (der_expect(&p, end, 0x30, &ext) != 0)
			return -1;
		q = ext.p;
		if (der_expect(&q, ext.p + ext.len, 0x06, &oid) != 0)
			return -1;
		if (!is_ct_ext_oid(&oid) &&
		    !EVP_DigestUpdate(x->mdctx, ext.tlv, ext.tlvlen))
			return -1;
	}
	return EVP_DigestFinal_ex(x->mdctx, md, mdlen) ? 0 : -1;
}

/* ---- the small fields ---- */

_Static_assert(sizeof(time_t) >= 8, "certificate times need a 64-bit time_t");

static int
put_time(struct x509j_buf *o, const struct der *t)
{
	const unsigned char *p = t->tlv;
	ASN1_TIME *at = d2i_ASN1_TIME(NULL, &p, (long)t->tlvlen);
	struct tm tm;
	int64_t secs;

	memset(&tm, 0, sizeof(tm));
	if (at == NULL || ASN1_TIME_to_tm(at, &tm) != 1) {
		ASN1_TIME_free(at);
		ERR_clear_error();
		return -1;
	}
	ASN1_TIME_free(at);
	/* tm is UTC: timegm (unlike mktime) reads no time zone. A 64-bit
	 * time_t holds every year ASN.1 can spell (0000..9999). */
	secs = (int64_t)timegm(&tm);
	if (secs < 0) {
		x509j_putc(o, '-');
		x509j_u64(o, (uint64_t)(-secs));
	} else
		x509j_u64(o, (uint64_t)secs);
	return 0;
}

/* Magnitude in hex as `openssl x509 -serial` prints it; '-' if negative. */
static void
put_serial(struct x509j_buf *o, const struct der *s)
{
	const uint8_t *d = s->p;
	size_t n = s->len, i;
	uint8_t stackbuf[64], *mag = stackbuf;

	x509j_putc(o, '"');
	if (d[0] & 0x80) {
		/* two's complement: magnitude = ~v + 1 */
		if (n > sizeof(stackbuf) && (mag = malloc(n)) == NULL) {
			o->oom = 1;
			return;
		}
		for (i = 0; i < n; i++)
			mag[i] = (uint8_t)~d[i];
		for (i = n; i-- > 0;)
			if (++mag[i] != 0)
				break;
		d = mag;
		x509j_putc(o, '-');
	}
	while (n > 1 && d[0] == 0) {
		d++;
		n--;
	}
	put_hex(o, d, n, 0);
	x509j_putc(o, '"');
	if (mag != stackbuf)
		free(mag);
}

static void
lower_into(char *dst, size_t dstlen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
	dst[i] = '\0';
}

static const char *
pkey_word(int nid)
{
	switch (nid) {
	case NID_rsaEncryption: return "rsa";
	case NID_rsassaPss: return "rsa-pss";
	case NID_X9_62_id_ecPublicKey: return "ecdsa";
	case NID_dsa: return "dsa";
	case NID_ED25519: return "ed25519";
	case NID_ED448: return "ed448";
	}
	return NULL;
}

/* "sha256, rsa", "sha384, ecdsa", "sha256, rsa-pss", "ed25519". */
static int
put_sigalg(struct x509j_buf *o, const struct der *alg)
{
	const unsigned char *p = alg->tlv;
	X509_ALGOR *a = d2i_X509_ALGOR(NULL, &p, (long)alg->tlvlen);
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype, nid, md = NID_undef, pk = NID_undef;
	char text[160], hash[64], oid[96];
	const char *pw;

	if (a == NULL || p != alg->tlv + alg->tlvlen) {
		X509_ALGOR_free(a);
		ERR_clear_error();
		return -1;
	}
	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	nid = OBJ_obj2nid(obj);
	if (nid == NID_rsassaPss) {
		RSA_PSS_PARAMS *pss = NULL;

		md = NID_sha1;    /* RFC 4055 default */
		if (ptype == V_ASN1_SEQUENCE)
			pss = ASN1_item_unpack(pval, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
		if (pss != NULL && pss->hashAlgorithm != NULL)
			md = OBJ_obj2nid(pss->hashAlgorithm->algorithm);
		RSA_PSS_PARAMS_free(pss);
		ERR_clear_error();
		pk = NID_rsassaPss;
	} else if (!OBJ_find_sigid_algs(nid, &md, &pk)) {
		md = NID_undef;
		pk = NID_undef;
	}
	pw = pkey_word(pk);
	if (pw == NULL && pk != NID_undef)
		pw = OBJ_nid2sn(pk);
	if (pw == NULL) {
		/* unknown algorithm: its name or dotted OID */
		lower_into(text, sizeof(text), obj_name(obj, oid, sizeof(oid)));
	} else if (md == NID_undef) {
		lower_into(text, sizeof(text), pw);
	} else {
		const char *mdn = OBJ_nid2sn(md);

		lower_into(hash, sizeof(hash), mdn ? mdn : "?");
		snprintf(text, sizeof(text), "%s, %s", hash, pw);
		lower_into(text, sizeof(text), text);
	}
	X509_ALGOR_free(a);
	x509j_str(o, text, strlen(text));
	return 0;
}

/* Flags the domain list entries from `first` on that repeat an earlier
 * one byte for byte. */
static int
mark_dup_domains(struct x509j *x, size_t first)
{
	size_t n = x->ndom - first, i;
	const char *base = x->doms.p != NULL ? x->doms.p : "";

	if (grow((void **)&x->sk, &x->skcap, n, sizeof(*x->sk)) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct dom_rec *d = &x->dom[first + i];

		x->sk[i].p = base + d->off;
		x->sk[i].len = d->len;
		x->sk[i].idx = first + i;
		d->dup = 0;
	}
	sortkeys(x, n);
	for (i = 1; i < n; i++)
		if (sortkey_same(&x->sk[i - 1], &x->sk[i]))
			x->dom[x->sk[i].idx].dup = 1;
	return 0;
}

/* all_domains: list entries from `first` on, exact duplicates dropped
 * (mark_dup_domains first). */
static void
put_domains(struct x509j *x, size_t first, struct x509j_buf *o)
{
	size_t i;
	int any = 0;

	x509j_putc(o, '[');
	for (i = first; i < x->ndom; i++) {
		if (x->dom[i].dup)
			continue;
		if (any++)
			x509j_putc(o, ',');
		x509j_str(o, x->doms.p + x->dom[i].off, x->dom[i].len);
	}
	x509j_putc(o, ']');
}

int
x509j_cert(struct x509j *x, const uint8_t *der, size_t len, unsigned flags,
    struct x509j_buf *obj, struct x509j_buf *domains, char *err, size_t errlen)
{
	struct certparts c;
	size_t obj0 = obj->len, dom0 = domains ? domains->len : 0, first, start;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	const char *why = NULL;
	int is_ca = 0, leaf = (flags & X509J_LEAF) != 0;

	x->ndom = 0;
	x->ncn = 0;
	x->doms.len = 0;
	x->tmp.oom = x->vals.oom = x->keybuf.oom = x->doms.oom = x->nv.oom = 0;
	if (der == NULL || len == 0) {
		why = "empty certificate";
		goto fail;
	}
	if (split_cert(der, len, &c, &why) != 0)
		goto fail;
	why = "bad algorithm identifier";
	if (check_algor(&c.tbs_sigalg) != 0 || check_algor(&c.spki_alg) != 0)
		goto fail;

	why = "bad subject";
	x509j_puts(obj, "{\"subject\":");
	if (render_name(x, &c.subject, obj, leaf) != 0)
		goto fail;
	why = "bad issuer";
	x509j_puts(obj, ",\"issuer\":");
	if (render_name(x, &c.issuer, obj, 0) != 0)
		goto fail;
	why = "bad extensions";
	x509j_puts(obj, ",\"extensions\":");
	if (render_exts(x, &c, leaf, obj, &is_ca) != 0)
		goto fail;
	why = "bad notBefore";
	x509j_puts(obj, ",\"not_before\":");
	if (put_time(obj, &c.nb) != 0)
		goto fail;
	why = "bad notAfter";
	x509j_puts(obj, ",\"not_after\":");
	if (put_time(obj, &c.na) != 0)
		goto fail;
	x509j_puts(obj, ",\"serial_number\":");
	put_serial(obj, &c.serial);
	why = "digest failed";
	if (!EVP_Digest(der, len, md, &mdlen, x->sha1, NULL))
		goto fail;
	x509j_puts(obj, ",\"fingerprint\":\"");
	put_hex(obj, md, mdlen, 1);
	x509j_puts(obj, "\",\"sha1\":\"");
	put_hex(obj, md, mdlen, 1);
	if (!EVP_Digest(der, len, md, &mdlen, x->sha256, NULL))
		goto fail;
	x509j_puts(obj, "\",\"sha256\":\"");
	put_hex(obj, md, mdlen, 1);
	if (leaf) {
		/* the extensions already parsed whole: only the digest can fail */
		if (tbs_digest(x, &c, md, &mdlen) != 0)
			goto fail;
		x509j_puts(obj, "\",\"tbs_sha256\":\"");
		put_hex_in(obj, md, mdlen, 0, "0123456789abcdef");
	}
	x509j_puts(obj, "\",\"signature_algorithm\":");
	why = "bad signature algorithm";
	if (put_sigalg(obj, &c.sigalg) != 0)
		goto fail;
	x509j_puts(obj, is_ca ? ",\"is_ca\":true" : ",\"is_ca\":false");
	if (leaf) {
		/* the subject CN is a domain only for a non-CA certificate */
		first = is_ca ? x->ncn : 0;
		why = "out of memory";
		if (mark_dup_domains(x, first) != 0)
			goto fail;
		x509j_puts(obj, ",\"all_domains\":");
		start = obj->len;
		put_domains(x, first, obj);
		/* the same array text: copied, not rendered twice */
		if (domains != NULL && !obj->oom)
			x509j_put(domains, obj->p + start, obj->len - start);
	}
	if (flags & X509J_DER) {
		x509j_puts(obj, ",\"as_der\":");
		x509j_b64(obj, der, len);
	}
	if (flags & X509J_CLOSE)
		x509j_putc(obj, '}');
	why = "out of memory";
	if (obj->oom || (domains != NULL && domains->oom) || x->doms.oom)
		goto fail;
	return 0;
fail:
	ERR_clear_error();
	seterr(err, errlen, "certificate: %s", why ? why : "unparsable");
	obj->len = obj0;
	if (obj->p != NULL)
		obj->p[obj0] = '\0';
	if (domains != NULL) {
		domains->len = dom0;
		if (domains->p != NULL)
			domains->p[dom0] = '\0';
	}
	return -1;
}
