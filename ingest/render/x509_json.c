/* X.509 DER to certstream JSON text: the renderer's state and the one
 * walk over a certificate (see x509_json.h). */
#include "ingest/render/x509_priv.h"

#include <limits.h>
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
#include "common/errbuf.h"
#include "common/utf8.h"

/* ---- state ---- */

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
	x509j_hex(o, d, n, 0);
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
		lower_into(text, sizeof(text), x509j_obj_name(obj, oid, sizeof(oid)));
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


int
x509j_cert(struct x509j *x, const uint8_t *der, size_t len, unsigned flags,
    struct x509j_buf *obj, struct x509j_buf *domains, char *err, size_t errlen)
{
	return x509j_cert_sha(x, der, len, NULL, flags, obj, domains, err,
	    errlen);
}

int
x509j_cert_sha(struct x509j *x, const uint8_t *der, size_t len,
    const uint8_t *sha256, unsigned flags, struct x509j_buf *obj,
    struct x509j_buf *domains, char *err, size_t errlen)
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
	if (x509j_split(der, len, &c, &why) != 0)
		goto fail;
	why = "bad algorithm identifier";
	if (x509j_check_algor(&c.tbs_sigalg) != 0 || x509j_check_algor(&c.spki_alg) != 0)
		goto fail;

	why = "bad subject";
	x509j_puts(obj, "{\"subject\":");
	if (x509j_name(x, &c.subject, obj, leaf) != 0)
		goto fail;
	why = "bad issuer";
	x509j_puts(obj, ",\"issuer\":");
	if (x509j_name(x, &c.issuer, obj, 0) != 0)
		goto fail;
	why = "bad extensions";
	x509j_puts(obj, ",\"extensions\":");
	if (x509j_exts(x, &c, leaf, obj, &is_ca) != 0)
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
	x509j_hex(obj, md, mdlen, 1);
	x509j_puts(obj, "\",\"sha1\":\"");
	x509j_hex(obj, md, mdlen, 1);
	if (sha256 != NULL) {
		memcpy(md, sha256, 32);
		mdlen = 32;
	} else if (!EVP_Digest(der, len, md, &mdlen, x->sha256, NULL)) {
		goto fail;
	}
	x509j_puts(obj, "\",\"sha256\":\"");
	x509j_hex(obj, md, mdlen, 1);
	if (leaf) {
		/* the extensions already parsed whole: only the digest can fail */
		if (x509j_tbs_digest(x, &c, md, &mdlen) != 0)
			goto fail;
		x509j_puts(obj, "\",\"tbs_sha256\":\"");
		x509j_hex_in(obj, md, mdlen, 0, "0123456789abcdef");
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
		if (x509j_mark_dup_domains(x, first) != 0)
			goto fail;
		x509j_puts(obj, ",\"all_domains\":");
		start = obj->len;
		x509j_put_domains(x, first, obj);
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
	errbuf_set(err, errlen, "certificate: %s", why ? why : "unparsable");
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
