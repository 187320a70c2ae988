/* Extensions: each printed by OpenSSL once, grouped by key, the leaf's
 * SANs collected as domains; and tbs_sha256 (the TBS without CT
 * extensions). */
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
		    x509j_add_domain(x, ASN1_STRING_get0_data(g->d.dNSName),
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

	if (x509j_grow((void **)&x->sk, &x->skcap, x->next, sizeof(*x->sk)) != 0)
		return -1;
	for (i = 0; i < x->next; i++) {
		struct ext_rec *r = &x->exts[i];

		x->sk[i].p = ext_key(x, r);
		x->sk[i].len = strlen(x->sk[i].p);
		x->sk[i].idx = i;
		r->first = 1;
		r->same = NO_REC;
	}
	x509j_sortkeys(x, x->next);
	for (i = 1; i < x->next; i++) {
		if (!x509j_sortkey_same(&x->sk[i - 1], &x->sk[i]))
			continue;
		x->exts[x->sk[i - 1].idx].same = x->sk[i].idx;
		x->exts[x->sk[i].idx].first = 0;
	}
	return 0;
}

int
x509j_exts(struct x509j *x, const struct certparts *c, int leaf,
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

		if (x509j_grow((void **)&x->exts, &x->extcap, x->next + 1,
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
				x509j_obj_name(obj, oid, sizeof(oid));
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

/* The extension at *p (before end) and its OID; *p moves past it. */
static int
next_ext(const uint8_t **p, const uint8_t *end, struct der *ext,
    struct der *oid)
{
	const uint8_t *q;

	if (x509j_der_expect(p, end, 0x30, ext) != 0)
		return -1;
	q = ext->p;
	return x509j_der_expect(&q, ext->p + ext->len, 0x06, oid) != 0 ? -1 : 0;
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
int
x509j_tbs_digest(struct x509j *x, const struct certparts *c, uint8_t *md,
    unsigned int *mdlen)
{
	const uint8_t *p, *end;
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
		if (next_ext(&p, end, &ext, &oid) != 0)
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
		if (next_ext(&p, end, &ext, &oid) != 0)
			return -1;
		if (!is_ct_ext_oid(&oid) &&
		    !EVP_DigestUpdate(x->mdctx, ext.tlv, ext.tlvlen))
			return -1;
	}
	return EVP_DigestFinal_ex(x->mdctx, md, mdlen) ? 0 : -1;
}
