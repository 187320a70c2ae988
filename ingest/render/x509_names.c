/* Names: subject and issuer to JSON, attribute strings to UTF-8, and the
 * domain list (CN and SAN dNSNames) with its exact duplicates dropped. */
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
		x509j_hex(b, d, n, 0);
	}
}

/* Short name of an attribute or extension, or its dotted OID in buf. */
const char *
x509j_obj_name(const ASN1_OBJECT *o, char *buf, size_t buflen)
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

int
x509j_grow(void **arr, size_t *cap, size_t need, size_t elem)
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

int
x509j_sortkey_same(const struct sortkey *u, const struct sortkey *v)
{
	return u->len == v->len && (u->len == 0 || memcmp(u->p, v->p, u->len) == 0);
}

void
x509j_sortkeys(struct x509j *x, size_t n)
{
	if (n > 1)
		qsort(x->sk, n, sizeof(*x->sk), sortkey_cmp);
}

int
x509j_add_domain(struct x509j *x, const uint8_t *s, size_t n)
{
	if (x509j_grow((void **)&x->dom, &x->domcap, x->ndom + 1, sizeof(*x->dom)) != 0)
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
int
x509j_name(struct x509j *x, const struct der *nd, struct x509j_buf *o,
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
	if (x509j_grow((void **)&x->nrec, &x->nreccap, (size_t)n, sizeof(*x->nrec)) != 0)
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
		x509j_puts(&x->tmp, x509j_obj_name(obj, oid, sizeof(oid)));
		x509j_putc(&x->tmp, '=');
		x509j_put(&x->tmp, x->nv.p + r->off, r->len);
		if (add_cn && r->nid == NID_commonName && r->len > 0) {
			if (x509j_add_domain(x, (const uint8_t *)x->nv.p + r->off, r->len) != 0)
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

/* Flags the domain list entries from `first` on that repeat an earlier
 * one byte for byte. */
int
x509j_mark_dup_domains(struct x509j *x, size_t first)
{
	size_t n = x->ndom - first, i;
	const char *base = x->doms.p != NULL ? x->doms.p : "";

	if (x509j_grow((void **)&x->sk, &x->skcap, n, sizeof(*x->sk)) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct dom_rec *d = &x->dom[first + i];

		x->sk[i].p = base + d->off;
		x->sk[i].len = d->len;
		x->sk[i].idx = first + i;
		d->dup = 0;
	}
	x509j_sortkeys(x, n);
	for (i = 1; i < n; i++)
		if (x509j_sortkey_same(&x->sk[i - 1], &x->sk[i]))
			x->dom[x->sk[i].idx].dup = 1;
	return 0;
}

/* all_domains: list entries from `first` on, exact duplicates dropped
 * (x509j_mark_dup_domains first). */
void
x509j_put_domains(struct x509j *x, size_t first, struct x509j_buf *o)
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
