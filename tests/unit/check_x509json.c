/* X.509 to JSON: odd certificates, text escaping, and broken input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ingest/render/x509_json.h"
#include "tests/unit/fixture.h"

#define CERTS "tests/data/real/certs/"
#define GEN "tests/data/generated/"

/* DER of the first certificate in a PEM or DER file. */
static uint8_t *
load_der(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	X509 *x;
	uint8_t *der = NULL;
	int n;

	ck_assert_msg(f != NULL, "open %s", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	if (x == NULL) {
		rewind(f);
		x = d2i_X509_fp(f, NULL);
	}
	fclose(f);
	ck_assert_msg(x != NULL, "%s: no certificate", path);
	n = i2d_X509(x, &der);
	ck_assert(n > 0);
	X509_free(x);
	*len = (size_t)n;
	return der;
}

/* Renders a file's certificate as a leaf with as_der; the parsed object. */
static json_object *
render_file(struct x509j *x, const char *path, struct x509j_buf *b)
{
	size_t len;
	uint8_t *der = load_der(path, &len);
	char err[128];
	json_object *o;

	b->len = 0;
	ck_assert_msg(x509j_cert(x, der, len, X509J_LEAF | X509J_DER | X509J_CLOSE,
	    b, NULL, err, sizeof(err)) == 0, "%s: %s", path, err);
	o = fixture_json_strict(b->p, b->len);
	ck_assert_msg(o != NULL, "%s: output is not strict UTF-8 JSON", path);
	OPENSSL_free(der);
	return o;
}

static const char *
str_at(json_object *o, const char *a, const char *b)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, a, &v), "no %s", a);
	if (b != NULL)
		ck_assert_msg(json_object_object_get_ex(v, b, &v), "no %s.%s", a, b);
	return json_object_get_string(v);
}

static int64_t
int_at(json_object *o, const char *k)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no %s", k);
	ck_assert(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static json_object *
arr_at(json_object *o, const char *k)
{
	json_object *v;

	ck_assert(json_object_object_get_ex(o, k, &v));
	ck_assert(json_object_is_type(v, json_type_array));
	return v;
}

START_TEST(strings_escape_controls_and_invalid_utf8)
{
	struct x509j_buf b;
	json_object *o;
	/* quote, backslash, newline, 0x01, valid é and 😀, lone 0xff, overlong
	 * C0 80, surrogate ED A0 80, truncated E2 82 */
	static const uint8_t in[] = { '"', '\\', '\n', 0x01, 0xc3, 0xa9, 0xf0, 0x9f,
	    0x98, 0x80, 0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xe2, 0x82 };
	static const char want[] = "\"\\\n\x01" "\xc3\xa9" "\xf0\x9f\x98\x80"
	    "\\xff\\xc0\\x80\\xed\\xa0\\x80\\xe2\\x82";

	x509j_buf_init(&b);
	x509j_str(&b, in, sizeof(in));
	ck_assert(!b.oom);
	o = fixture_json_strict(b.p, b.len);
	ck_assert_msg(o != NULL, "not strict JSON: %s", b.p);
	ck_assert_str_eq(json_object_get_string(o), want);
	json_object_put(o);
	b.len = 0;
	x509j_b64(&b, "\x00\x01\x02\xff", 4);
	ck_assert_str_eq(b.p, "\"AAEC/w==\"");
	x509j_buf_fini(&b);
}
END_TEST

START_TEST(teletex_and_bmp_subjects_come_out_as_utf8)
{
	struct x509j *x = x509j_new();
	struct x509j_buf b;
	json_object *o;

	ck_assert(x != NULL);
	x509j_buf_init(&b);
	o = render_file(x, GEN "t61_subject.pem", &b);
	ck_assert_str_eq(str_at(o, "subject", "O"), "M\xc3\xbcller Stra\xc3\x9f" "e GmbH");
	ck_assert_str_eq(str_at(o, "subject", "aggregated"),
	    "/C=DE/O=M\xc3\xbcller Stra\xc3\x9f" "e GmbH/CN=t61.example");
	json_object_put(o);
	o = render_file(x, GEN "bmp_subject.pem", &b);
	ck_assert_str_eq(str_at(o, "subject", "O"),
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"
	    "\xe6\xa0\xaa\xe5\xbc\x8f\xe4\xbc\x9a\xe7\xa4\xbe");
	ck_assert_str_eq(str_at(o, "subject", "OU"), "\xc3\x9c" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9");
	ck_assert_ptr_null(json_object_object_get(json_object_object_get(o, "subject"), "C"));
	json_object_put(o);
	x509j_buf_fini(&b);
	x509j_free(x);
}
END_TEST

START_TEST(odd_real_certificates_render_without_loss)
{
	struct x509j *x = x509j_new();
	struct x509j_buf b;
	json_object *o, *d;

	ck_assert(x != NULL);
	x509j_buf_init(&b);

	o = render_file(x, CERTS "zlint_serialNumberNegative.pem", &b);
	ck_assert_str_eq(str_at(o, "serial_number", NULL), "-04316693ED");
	json_object_put(o);

	o = render_file(x, CERTS "zlint_idnCorrectUnicode.pem", &b);
	ck_assert_str_eq(str_at(o, "subject", "CN"),
	    "\xd0\xb0\xd0\xb4\xd0\xb2\xd0\xbe\xd0\xba\xd0\xb0\xd1\x82\xd1\x81\xd0\xba"
	    "\xd0\xb0\xd1\x8f-\xd0\xba\xd0\xbe\xd0\xbd\xd1\x82\xd0\xbe\xd1\x80\xd0\xb0."
	    "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0");
	json_object_put(o);

	/* the non-IA5 dNSName bytes are kept, escaped */
	o = render_file(x, CERTS "zlint_SANDNSNotIA5String.pem", &b);
	d = arr_at(o, "all_domains");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(d, 1)), "\\xc0\\xa8");
	json_object_put(o);

	/* IP SANs are not domains */
	o = render_file(x, CERTS "zlint_SANIPv6Address.pem", &b);
	ck_assert_str_eq(str_at(o, "extensions", "subjectAltName"),
	    "IP Address:2001:DB8:0:0:0:0:2:1");
	d = arr_at(o, "all_domains");
	ck_assert_uint_eq(json_object_array_length(d), 1);   /* the CN only */
	json_object_put(o);

	o = render_file(x, CERTS "zlint_ecdsaP384.pem", &b);
	ck_assert_str_eq(str_at(o, "sha1", NULL), str_at(o, "fingerprint", NULL));
	ck_assert_uint_eq(strlen(str_at(o, "sha256", NULL)), 32 * 3 - 1);
	json_object_put(o);

	/* empty-valued attributes are kept, CA: no CN, only SANs */
	o = render_file(x, CERTS "zlint_caSubjectEmpty.pem", &b);
	ck_assert_str_eq(str_at(o, "subject", "C"), "");
	ck_assert_ptr_null(json_object_object_get(json_object_object_get(o, "subject"), "CN"));
	ck_assert(json_object_get_boolean(json_object_object_get(o, "is_ca")));
	json_object_put(o);

	o = render_file(x, CERTS "zlint_ctNoSCTsPoisoned.pem", &b);
	ck_assert(json_object_get_boolean(json_object_object_get(
	    json_object_object_get(o, "extensions"), "ctlPoisonByte")));
	json_object_put(o);

	o = render_file(x, CERTS "zlint_dNSNameWithUnderscores.pem", &b);
	ck_assert_str_eq(str_at(o, "subject", "aggregated"), "");
	ck_assert_int_eq(int_at(o, "not_before"), -62135596800LL);  /* 0001-01-01 */
	d = arr_at(o, "all_domains");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(d, 0)),
	    "with.an_underscore.test");
	json_object_put(o);
	x509j_buf_fini(&b);
	x509j_free(x);
}
END_TEST

START_TEST(generated_extremes_render)
{
	struct x509j *x = x509j_new();
	struct x509j_buf b;
	json_object *o, *d;
	char want[64];
	int i;

	ck_assert(x != NULL);
	x509j_buf_init(&b);
	o = render_file(x, GEN "expiry_9999.pem", &b);
	ck_assert_int_eq(int_at(o, "not_after"), 253402300799LL);   /* 9999-12-31T23:59:59Z */
	ck_assert_int_eq(int_at(o, "not_before"), 1735689600LL);    /* 2025-01-01 */
	ck_assert_str_eq(str_at(o, "signature_algorithm", NULL), "sha384, ecdsa");
	json_object_put(o);

	o = render_file(x, GEN "san_1000.pem", &b);
	d = arr_at(o, "all_domains");
	ck_assert_uint_eq(json_object_array_length(d), 1000);   /* CN == first SAN */
	for (i = 0; i < 1000; i++) {
		snprintf(want, sizeof(want), "h%d.many.example", i);
		ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(d, (size_t)i)), want);
	}
	json_object_put(o);

	o = render_file(x, GEN "big_200k.pem", &b);
	ck_assert_uint_gt(b.len, 4 * 204800 / 3);
	ck_assert_ptr_nonnull(json_object_object_get(json_object_object_get(o, "extensions"),
	    "1.3.6.1.4.1.99999.1"));
	json_object_put(o);

	o = render_file(x, GEN "ed25519.pem", &b);
	ck_assert_str_eq(str_at(o, "signature_algorithm", NULL), "ed25519");
	json_object_put(o);
	o = render_file(x, GEN "rsa_pss.pem", &b);
	ck_assert_str_eq(str_at(o, "signature_algorithm", NULL), "sha256, rsa-pss");
	json_object_put(o);
	o = render_file(x, GEN "ecdsa_p521_sha512.pem", &b);
	ck_assert_str_eq(str_at(o, "signature_algorithm", NULL), "sha512, ecdsa");
	json_object_put(o);

	/* two CNs joined; IP and e-mail SANs left out of all_domains */
	o = render_file(x, GEN "multi_cn_ip_email.pem", &b);
	ck_assert_str_eq(str_at(o, "subject", "CN"), "a.multi.example, b.multi.example");
	d = arr_at(o, "all_domains");
	ck_assert_uint_eq(json_object_array_length(d), 3);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(d, 0)), "a.multi.example");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(d, 1)), "b.multi.example");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(d, 2)), "c.multi.example");
	ck_assert_ptr_nonnull(strstr(str_at(o, "extensions", "subjectAltName"), "IP Address:192.0.2.7"));
	json_object_put(o);

	/* a CA's CN is not a domain */
	o = render_file(x, GEN "ca_cert.pem", &b);
	d = arr_at(o, "all_domains");
	ck_assert_uint_eq(json_object_array_length(d), 1);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(d, 0)), "ca.example");
	json_object_put(o);
	x509j_buf_fini(&b);
	x509j_free(x);
}
END_TEST

/* A certificate built here with the OpenSSL API: name values of every
 * string type, including what is not valid text in its type. */
static uint8_t *
make_cert(size_t *len)
{
	static const uint8_t univ[] = { 0, 0, 0, 'U', 0, 0, 0, 0xe9, 0, 1, 0xf6, 0 };  /* "Ué😀" */
	/* OpenSSL's name decoder refuses surrogates in a BMPString: not here */
	static const uint8_t bmp[] = { 0, 'B', 0x65, 0xe5 };                           /* "B日" */
	static const uint8_t bmp2[] = { 0, 'L', 0, 0xdf };                             /* "Lß" */
	static const uint8_t utf8[] = { 'a', 'Q', 'b' };   /* the Q is made 0xff below */
	static const uint8_t t61[] = { 'M', 0xfc, 'n' };                                /* Latin-1 "Mün" */
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	EVP_PKEY *k = EVP_EC_gen("P-256");
	uint8_t *der = NULL;
	int n;

	ck_assert(x && nm && k);
	ck_assert(X509_NAME_add_entry_by_NID(nm, NID_organizationName, V_ASN1_UNIVERSALSTRING,
	    univ, sizeof(univ), -1, 0));
	ck_assert(X509_NAME_add_entry_by_NID(nm, NID_organizationalUnitName, V_ASN1_BMPSTRING,
	    bmp, sizeof(bmp), -1, 0));
	ck_assert(X509_NAME_add_entry_by_NID(nm, NID_organizationalUnitName, V_ASN1_BMPSTRING,
	    bmp2, sizeof(bmp2), -1, 0));
	ck_assert(X509_NAME_add_entry_by_NID(nm, NID_localityName, V_ASN1_UTF8STRING,
	    utf8, sizeof(utf8), -1, 0));
	ck_assert(X509_NAME_add_entry_by_NID(nm, NID_stateOrProvinceName, V_ASN1_T61STRING,
	    t61, sizeof(t61), -1, 0));
	ck_assert(X509_NAME_add_entry_by_NID(nm, NID_commonName, V_ASN1_UTF8STRING,
	    (const unsigned char *)"line\nbreak\"q\"", -1, -1, 0));
	ck_assert(X509_set_version(x, 2));
	ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 0));
	ck_assert(X509_set_subject_name(x, nm));
	ck_assert(X509_set_issuer_name(x, nm));
	ck_assert(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	ck_assert(ASN1_TIME_set_string(X509_getm_notAfter(x), "20500101000000Z"));
	ck_assert(X509_set_pubkey(x, k));
	ck_assert(X509_sign(x, k, EVP_sha384()) > 0);
	n = i2d_X509(x, &der);
	ck_assert(n > 0);
	*len = (size_t)n;
	X509_NAME_free(nm);
	X509_free(x);
	EVP_PKEY_free(k);
	return der;
}

START_TEST(every_string_type_comes_out_as_valid_utf8)
{
	struct x509j *x = x509j_new();
	struct x509j_buf b;
	size_t len;
	uint8_t *der = make_cert(&len);
	json_object *o;
	char err[128];

	ck_assert(x != NULL);
	x509j_buf_init(&b);
	ck_assert_msg(x509j_cert(x, der, len, X509J_LEAF | X509J_CLOSE, &b, NULL, err,
	    sizeof(err)) == 0, "%s", err);
	o = fixture_json_strict(b.p, b.len);
	ck_assert_msg(o != NULL, "not strict UTF-8 JSON: %s", b.p);
	ck_assert_str_eq(str_at(o, "subject", "O"), "U\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert_str_eq(str_at(o, "subject", "OU"), "B\xe6\x97\xa5, L\xc3\x9f");
	ck_assert_str_eq(str_at(o, "subject", "L"), "aQb");
	ck_assert_str_eq(str_at(o, "subject", "ST"), "M\xc3\xbcn");
	ck_assert_str_eq(str_at(o, "subject", "CN"), "line\nbreak\"q\"");
	ck_assert_str_eq(str_at(o, "serial_number", NULL), "00");
	ck_assert_int_eq(int_at(o, "not_after"), 2524608000LL);
	ck_assert_str_eq(str_at(o, "signature_algorithm", NULL), "sha384, ecdsa");
	ck_assert_str_eq(str_at(o, "issuer", "aggregated"), str_at(o, "subject", "aggregated"));
	ck_assert_uint_eq(json_object_array_length(arr_at(o, "all_domains")), 1);
	json_object_put(o);

	/* invalid UTF-8 in a UTF8String: OpenSSL's name decoder refuses it,
	 * so the certificate is an error, never half a message */
	{
		uint8_t *q = memmem(der, len, "aQb", 3);
		const unsigned char *p = der;
		X509 *ref;

		ck_assert(q != NULL);
		q[1] = 0xff;
		ref = d2i_X509(NULL, &p, (long)len);
		ck_assert_ptr_null(ref);
		ERR_clear_error();
		b.len = 0;
		ck_assert_int_eq(x509j_cert(x, der, len, X509J_LEAF | X509J_CLOSE, &b, NULL,
		    err, sizeof(err)), -1);
		ck_assert_uint_eq(b.len, 0);
		ck_assert_ptr_nonnull(strstr(err, "bad issuer"));
	}
	OPENSSL_free(der);
	x509j_buf_fini(&b);
	x509j_free(x);
}
END_TEST

/* Every prefix of a real certificate is refused and leaves the buffers
 * exactly as they were. */
START_TEST(every_prefix_of_a_certificate_is_refused)
{
	struct x509j *x = x509j_new();
	struct x509j_buf b, d;
	size_t len, n;
	uint8_t *der = load_der(CERTS "navigli2025h2_entry281_precert_maxsan.der", &len);
	char err[128];

	ck_assert(x != NULL);
	x509j_buf_init(&b);
	x509j_buf_init(&d);
	x509j_puts(&b, "PREFIX");
	x509j_puts(&d, "[");
	for (n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);

		ck_assert(cut != NULL);
		memcpy(cut, der, n);
		ck_assert_msg(x509j_cert(x, cut, n, X509J_LEAF | X509J_DER | X509J_CLOSE,
		    &b, &d, err, sizeof(err)) == -1, "prefix %zu accepted", n);
		ck_assert_uint_eq(b.len, 6);
		ck_assert_str_eq(b.p, "PREFIX");
		ck_assert_uint_eq(d.len, 1);
		free(cut);
	}
	ck_assert_int_eq(x509j_cert(x, der, len, X509J_LEAF, &b, &d, err, sizeof(err)), 0);
	/* trailing garbage after the certificate is refused too */
	{
		uint8_t *more = malloc(len + 1);

		ck_assert(more != NULL);
		memcpy(more, der, len);
		more[len] = 0;
		ck_assert_int_eq(x509j_cert(x, more, len + 1, 0, &b, NULL, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "trailing"));
		free(more);
	}
	OPENSSL_free(der);
	x509j_buf_fini(&b);
	x509j_buf_fini(&d);
	x509j_free(x);
}
END_TEST

/*
 * Random byte flips on real certificates: whatever d2i_X509 refuses is
 * refused here too (never half a message), and whatever renders is strict
 * UTF-8 JSON. Runs under ASan in `make test`.
 */
START_TEST(flipped_certificates_error_or_render_valid_json)
{
	static const char *files[] = {
		CERTS "navigli2025h2_entry0_precert_idx0.der",
		CERTS "zlint_SANDNSNotIA5String.pem",
		CERTS "zlint_idnCorrectUnicode.pem",
		CERTS "zlint_serialNumberNegative.pem",
		GEN "bmp_subject.pem",
		GEN "rsa_pss.pem",
	};
	struct x509j *x = x509j_new();
	struct x509j_buf b, d;
	unsigned seed = 7;
	size_t k;
	int rendered = 0, refused = 0;

	ck_assert(x != NULL);
	x509j_buf_init(&b);
	x509j_buf_init(&d);
	for (k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		size_t len, i;
		uint8_t *der = load_der(files[k], &len);
		uint8_t *m = malloc(len);

		ck_assert(m != NULL);
		for (i = 0; i < 250; i++) {
			const unsigned char *p = m;
			X509 *ref;
			char err[128];
			int j, rc;

			memcpy(m, der, len);
			for (j = 0; j < 1 + (int)(i % 3); j++) {
				seed = seed * 1103515245u + 12345u;
				m[(seed >> 8) % len] ^= (uint8_t)(1u + (seed >> 20) % 255u);
			}
			b.len = 0;
			d.len = 0;
			rc = x509j_cert(x, m, len, X509J_LEAF | X509J_DER | X509J_CLOSE,
			    &b, &d, err, sizeof(err));
			ref = d2i_X509(NULL, &p, (long)len);
			if (ref == NULL || p != m + len)
				ck_assert_msg(rc == -1, "%s flip %zu: d2i_X509 refuses, renderer accepts",
				    files[k], i);
			X509_free(ref);
			ERR_clear_error();
			if (rc == 0) {
				json_object *o = fixture_json_strict(b.p, b.len);

				ck_assert_msg(o != NULL, "%s flip %zu: not strict JSON", files[k], i);
				json_object_put(o);
				rendered++;
			} else {
				ck_assert_uint_eq(b.len, 0);
				refused++;
			}
		}
		free(m);
		OPENSSL_free(der);
	}
	/* both outcomes were exercised */
	ck_assert_int_gt(rendered, 100);
	ck_assert_int_gt(refused, 100);
	x509j_buf_fini(&b);
	x509j_buf_fini(&d);
	x509j_free(x);
}
END_TEST

/* ---- tbs_sha256 ---- */

enum ct_kind { CT_PRE, CT_FINAL, CT_OTHER, CT_ONLY_POISON, CT_ONLY_SCTS, CT_NONE };

static void
add_ext(X509 *x, int nid, int crit, const uint8_t *val, size_t vlen)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	ck_assert(os != NULL && ASN1_OCTET_STRING_set(os, val, (int)vlen));
	e = X509_EXTENSION_create_by_NID(NULL, nid, crit, os);
	ck_assert(e != NULL && X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
}

static void
add_conf_ext(X509 *x, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

	ck_assert_msg(e != NULL, "%s", value);
	ck_assert(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
}

/*
 * A certificate built with the OpenSSL API, all fields fixed but the
 * extensions: the precertificate has the critical poison between two
 * ordinary extensions, its certificate an SCT list there instead (a
 * one-SCT list of arbitrary bytes), the other certificate another SAN.
 * ECDSA signs with a fresh nonce, so no two DERs are equal.
 */
static uint8_t *
make_ct_cert(EVP_PKEY *k, enum ct_kind kind, size_t *len)
{
	static const uint8_t poison[] = { 0x05, 0x00 };
	static const uint8_t scts[] = { 0x04, 0x0c, 0x00, 0x0a, 0x00, 0x08,
	    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	uint8_t *der = NULL;
	int n, ordinary = kind == CT_PRE || kind == CT_FINAL || kind == CT_OTHER;

	ck_assert(x && nm);
	ck_assert(X509_NAME_add_entry_by_NID(nm, NID_commonName, V_ASN1_UTF8STRING,
	    (const unsigned char *)"pair.example", -1, -1, 0));
	ck_assert(X509_set_version(x, 2));
	ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x5eed));
	ck_assert(X509_set_subject_name(x, nm));
	ck_assert(X509_set_issuer_name(x, nm));
	ck_assert(ASN1_TIME_set_string(X509_getm_notBefore(x), "20260101000000Z"));
	ck_assert(ASN1_TIME_set_string(X509_getm_notAfter(x), "20260401000000Z"));
	ck_assert(X509_set_pubkey(x, k));
	if (ordinary)
		add_conf_ext(x, NID_key_usage, "critical,digitalSignature");
	if (kind == CT_PRE || kind == CT_ONLY_POISON)
		add_ext(x, NID_ct_precert_poison, 1, poison, sizeof(poison));
	if (kind == CT_FINAL || kind == CT_OTHER || kind == CT_ONLY_SCTS)
		add_ext(x, NID_ct_precert_scts, 0, scts, sizeof(scts));
	if (ordinary)
		add_conf_ext(x, NID_subject_alt_name, kind == CT_OTHER ?
		    "DNS:other.example" : "DNS:pair.example,DNS:www.pair.example");
	ck_assert(X509_sign(x, k, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	ck_assert(n > 0);
	*len = (size_t)n;
	X509_NAME_free(nm);
	X509_free(x);
	return der;
}

static void
hex_lower(const uint8_t *md, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The same value computed by OpenSSL alone: parse, delete both
 * extensions (when drop; else the TBS exactly as it is in the DER),
 * re-encode the TBS, hash it. */
static void
openssl_tbs_sha256(const uint8_t *der, size_t len, int drop, char out[65])
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	uint8_t *tbs = NULL, md[32];
	unsigned int mdlen;
	int n, i, nids[] = { NID_ct_precert_poison, NID_ct_precert_scts };

	ck_assert(x != NULL);
	for (i = 0; drop && i < 2; i++) {
		int loc;

		while ((loc = X509_get_ext_by_NID(x, nids[i], -1)) >= 0)
			X509_EXTENSION_free(X509_delete_ext(x, loc));
	}
	n = i2d_re_X509_tbs(x, &tbs);
	ck_assert(n > 0);
	ck_assert(EVP_Digest(tbs, (size_t)n, md, &mdlen, EVP_sha256(), NULL));
	hex_lower(md, mdlen, out);
	OPENSSL_free(tbs);
	X509_free(x);
}

/* Renders der as a leaf; its tbs_sha256 copied to out[65]. */
static void
render_tbs(struct x509j *x, const uint8_t *der, size_t len, char out[65],
    char sha256[96])
{
	struct x509j_buf b;
	json_object *o;
	char err[128];
	const char *v;

	x509j_buf_init(&b);
	ck_assert_msg(x509j_cert(x, der, len, X509J_LEAF | X509J_CLOSE, &b, NULL,
	    err, sizeof(err)) == 0, "%s", err);
	ck_assert((o = fixture_json_strict(b.p, b.len)) != NULL);
	v = str_at(o, "tbs_sha256", NULL);
	ck_assert_uint_eq(strlen(v), 64);
	ck_assert_uint_eq(strspn(v, "0123456789abcdef"), 64);
	memcpy(out, v, 65);
	if (sha256 != NULL)
		snprintf(sha256, 96, "%s", str_at(o, "sha256", NULL));
	json_object_put(o);
	x509j_buf_fini(&b);
}

START_TEST(precert_and_its_certificate_share_tbs_sha256)
{
	struct x509j *x = x509j_new();
	EVP_PKEY *k = EVP_EC_gen("P-256");
	uint8_t *der[CT_NONE + 1];
	size_t len[CT_NONE + 1];
	char tbs[CT_NONE + 1][65], ref[65], fp[2][96];
	int i;

	ck_assert(x != NULL && k != NULL);
	for (i = CT_PRE; i <= CT_NONE; i++) {
		der[i] = make_ct_cert(k, (enum ct_kind)i, &len[i]);
		render_tbs(x, der[i], len[i], tbs[i], i <= CT_FINAL ? fp[i] : NULL);
	}
	/* two certificates, one TBS */
	ck_assert_str_ne(fp[CT_PRE], fp[CT_FINAL]);
	ck_assert_str_eq(tbs[CT_PRE], tbs[CT_FINAL]);
	ck_assert_str_ne(tbs[CT_OTHER], tbs[CT_FINAL]);
	/* and that TBS is OpenSSL's own re-encoding without the two */
	openssl_tbs_sha256(der[CT_FINAL], len[CT_FINAL], 1, ref);
	ck_assert_str_eq(tbs[CT_FINAL], ref);
	openssl_tbs_sha256(der[CT_PRE], len[CT_PRE], 1, ref);
	ck_assert_str_eq(tbs[CT_PRE], ref);
	openssl_tbs_sha256(der[CT_OTHER], len[CT_OTHER], 1, ref);
	ck_assert_str_eq(tbs[CT_OTHER], ref);
	/* nothing left: no extensions field, as a certificate without any */
	ck_assert_str_eq(tbs[CT_ONLY_POISON], tbs[CT_ONLY_SCTS]);
	openssl_tbs_sha256(der[CT_NONE], len[CT_NONE], 0, ref);
	ck_assert_str_eq(tbs[CT_NONE], ref);
	ck_assert_str_eq(tbs[CT_ONLY_POISON], tbs[CT_NONE]);
	for (i = CT_PRE; i <= CT_NONE; i++)
		OPENSSL_free(der[i]);
	EVP_PKEY_free(k);
	x509j_free(x);
}
END_TEST

START_TEST(tbs_sha256_of_real_certificates_matches_openssl)
{
	static const char *files[] = {
		CERTS "navigli2025h2_entry0_precert_idx0.der",
		CERTS "navigli2025h2_entry281_precert_maxsan.der",
		CERTS "zlint_precert_with_sct_list_ok.pem",
		CERTS "zlint_ctNoSCTsPoisoned.pem",
		CERTS "zlint_ecdsaP256.pem",
		CERTS "zlint_SANDNSNotIA5String.pem",
		CERTS "zlint_serialNumberNegative.pem",
		GEN "san_1000.pem",
		GEN "big_200k.pem",
	};
	struct x509j *x = x509j_new();
	char got[65], ref[65];
	size_t i, len;

	ck_assert(x != NULL);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		uint8_t *der = load_der(files[i], &len);

		render_tbs(x, der, len, got, NULL);
		openssl_tbs_sha256(der, len, 1, ref);
		ck_assert_msg(strcmp(got, ref) == 0, "%s: %s, OpenSSL %s", files[i],
		    got, ref);
		OPENSSL_free(der);
	}
	x509j_free(x);
}
END_TEST

START_TEST(chain_members_have_no_tbs_sha256)
{
	struct x509j *x = x509j_new();
	struct x509j_buf b;
	size_t len;
	uint8_t *der = load_der(CERTS "zlint_ecdsaP256.pem", &len);
	char err[128];

	ck_assert(x != NULL);
	x509j_buf_init(&b);
	ck_assert(x509j_cert(x, der, len, X509J_DER | X509J_CLOSE, &b, NULL, err,
	    sizeof(err)) == 0);
	ck_assert_ptr_null(strstr(b.p, "tbs_sha256"));
	x509j_buf_fini(&b);
	OPENSSL_free(der);
	x509j_free(x);
}
END_TEST

Suite *x509json_suite(void);

Suite *
x509json_suite(void)
{
	Suite *s = suite_create("x509json");
	TCase *tc = tcase_create("x509json");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, strings_escape_controls_and_invalid_utf8);
	tcase_add_test(tc, teletex_and_bmp_subjects_come_out_as_utf8);
	tcase_add_test(tc, odd_real_certificates_render_without_loss);
	tcase_add_test(tc, generated_extremes_render);
	tcase_add_test(tc, every_string_type_comes_out_as_valid_utf8);
	tcase_add_test(tc, every_prefix_of_a_certificate_is_refused);
	tcase_add_test(tc, flipped_certificates_error_or_render_valid_json);
	tcase_add_test(tc, precert_and_its_certificate_share_tbs_sha256);
	tcase_add_test(tc, tbs_sha256_of_real_certificates_matches_openssl);
	tcase_add_test(tc, chain_members_have_no_tbs_sha256);
	suite_add_tcase(s, tc);
	return s;
}
