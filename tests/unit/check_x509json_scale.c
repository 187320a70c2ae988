/*
 * Rendering time grows with a certificate's content, not with its square:
 * certificates of 10x the names (or extensions) built here take at most
 * 15x the CPU time through render_entry, the daemon's path, and their
 * all_domains and extensions come out exactly as expected.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ingest/leaf.h"
#include "ingest/render/render.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#define MAX_RATIO 15.0   /* 10x the content; linear is ~10x, quadratic ~100x */
#define MAX_ROUNDS 30

/* Under valgrind every instruction costs ~50x: the big certificates would
 * take minutes, and timings mean little. */
static int
under_valgrind(void)
{
	const char *pre = getenv("LD_PRELOAD");

#ifdef RUNNING_ON_VALGRIND
	if (RUNNING_ON_VALGRIND)
		return 1;
#endif
	return pre != NULL && strstr(pre, "vgpreload") != NULL;
}

static EVP_PKEY *
test_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	ck_assert(k != NULL);
	return k;
}

/* A self-signed leaf with subject CN cn (or none), signed with k. */
static X509 *
cert_begin(const char *cn, EVP_PKEY *k)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();

	ck_assert(x != NULL && nm != NULL);
	if (cn != NULL)
		ck_assert(X509_NAME_add_entry_by_NID(nm, NID_commonName, MBSTRING_ASC,
		    (const unsigned char *)cn, -1, -1, 0));
	ck_assert(X509_set_version(x, 2));
	ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 7));
	ck_assert(X509_set_subject_name(x, nm));
	ck_assert(X509_set_issuer_name(x, nm));
	ck_assert(ASN1_TIME_set_string(X509_getm_notBefore(x), "20250101000000Z"));
	ck_assert(ASN1_TIME_set_string(X509_getm_notAfter(x), "20260101000000Z"));
	ck_assert(X509_set_pubkey(x, k));
	X509_NAME_free(nm);
	return x;
}

static uint8_t *
cert_end(X509 *x, EVP_PKEY *k, size_t *len)
{
	uint8_t *der = NULL;
	int n;

	ck_assert(X509_sign(x, k, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	ck_assert(n > 0);
	X509_free(x);
	*len = (size_t)n;
	return der;
}

/* Text built in the test, to compare with the renderer's byte for byte. */
struct text {
	char *p;
	size_t len, cap;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		ck_assert(t->p != NULL);
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void
add_dns(GENERAL_NAMES *gens, const char *name)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	ck_assert(g != NULL && s != NULL);
	ck_assert(ASN1_STRING_set(s, name, -1));
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	ck_assert(sk_GENERAL_NAME_push(gens, g) > 0);
}

/* A name seen for the first time: also in the expected all_domains. */
static void
expect_dns(struct text *want, size_t *nwant, const char *name)
{
	text_add(want, *nwant ? ",\"" : "[\"", 2);
	text_add(want, name, strlen(name));
	text_add(want, "\"", 1);
	(*nwant)++;
}

/*
 * n distinct dNSNames h<i>.scale.example, the subject CN repeating the
 * first; every tenth an exact repeat of an earlier name (dropped), every
 * hundredth a mixed-case variant (kept: the match is exact) and then its
 * repeat (dropped). *want gets the all_domains array they must give:
 * first occurrences, in order.
 */
static uint8_t *
san_cert(size_t n, EVP_PKEY *k, struct text *want, size_t *nwant, size_t *len)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	X509 *x = cert_begin("h0.scale.example", k);
	char name[64];
	size_t i;

	ck_assert(gens != NULL);
	want->len = 0;
	*nwant = 0;
	expect_dns(want, nwant, "h0.scale.example");
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "h%zu.scale.example", i);
		add_dns(gens, name);
		if (i > 0)
			expect_dns(want, nwant, name);
		if (i % 10 == 3) {
			snprintf(name, sizeof(name), "h%zu.scale.example", i / 2);
			add_dns(gens, name);
		}
		if (i % 100 == 7) {
			snprintf(name, sizeof(name), "H%zu.Scale.example", i);
			add_dns(gens, name);
			expect_dns(want, nwant, name);
			add_dns(gens, name);
		}
	}
	text_add(want, "]", 1);
	ck_assert_uint_eq(*nwant, n + n / 100);
	ck_assert(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1);
	GENERAL_NAMES_free(gens);
	return cert_end(x, k, len);
}

static void
add_unknown_ext(X509 *x, const char *oid, const void *val, size_t n)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	ck_assert(o != NULL && s != NULL);
	ck_assert(ASN1_OCTET_STRING_set(s, val, (int)n));
	e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, s);
	ck_assert(e != NULL);
	ck_assert(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(s);
	ASN1_OBJECT_free(o);
}

#define EXT_KEYS 97

/*
 * One extension of 16n bytes first (what OpenSSL prints into the same
 * memory BIO as every later one), then n extensions under EXT_KEYS
 * repeating OIDs with the values v<i>. *want gets the extensions object:
 * one key per OID in first-seen order, its values joined with ", ".
 */
static uint8_t *
ext_cert(size_t n, EVP_PKEY *k, struct text *want, size_t *len)
{
	X509 *x = cert_begin("ext.scale.example", k);
	struct text vals[EXT_KEYS];
	char oid[64], v[32];
	size_t i, big = 16 * n;
	char *bigval = malloc(big);

	ck_assert(bigval != NULL);
	memset(bigval, 'x', big);
	memset(vals, 0, sizeof(vals));
	add_unknown_ext(x, "1.3.6.1.4.1.99999.8", bigval, big);
	for (i = 0; i < n; i++) {
		int m = snprintf(v, sizeof(v), "v%zu", i);

		snprintf(oid, sizeof(oid), "1.3.6.1.4.1.99999.7.%zu", i % EXT_KEYS);
		add_unknown_ext(x, oid, v, (size_t)m);
		if (vals[i % EXT_KEYS].len > 0)
			text_add(&vals[i % EXT_KEYS], ", ", 2);
		text_add(&vals[i % EXT_KEYS], v, (size_t)m);
	}
	want->len = 0;
	text_add(want, "{\"1.3.6.1.4.1.99999.8\":\"", 24);
	text_add(want, bigval, big);
	text_add(want, "\"", 1);
	for (i = 0; i < EXT_KEYS && i < n; i++) {
		snprintf(oid, sizeof(oid), ",\"1.3.6.1.4.1.99999.7.%zu\":\"", i);
		text_add(want, oid, strlen(oid));
		text_add(want, vals[i].p, vals[i].len);
		text_add(want, "\"", 1);
		free(vals[i].p);
	}
	text_add(want, "}", 1);
	free(bigval);
	return cert_end(x, k, len);
}

/*
 * A subject of n CNs c<i>.name.example, every tenth a repeat of an
 * earlier one, and n OUs u<i>, alternating. *cn gets the subject's CN
 * text (every value, joined with ", "), *want the all_domains array
 * (the CNs, repeats dropped).
 */
static uint8_t *
name_cert(size_t n, EVP_PKEY *k, struct text *cn, struct text *want, size_t *len)
{
	X509 *x = cert_begin(NULL, k);
	X509_NAME *nm = X509_NAME_new();
	char v[64];
	size_t i, nwant = 0;

	ck_assert(nm != NULL);
	cn->len = 0;
	want->len = 0;
	text_add(cn, "\"", 1);
	for (i = 0; i < n; i++) {
		if (i % 10 == 9)
			snprintf(v, sizeof(v), "c%zu.name.example", i - 9);
		else {
			snprintf(v, sizeof(v), "c%zu.name.example", i);
			expect_dns(want, &nwant, v);
		}
		ck_assert(X509_NAME_add_entry_by_NID(nm, NID_commonName, MBSTRING_ASC,
		    (const unsigned char *)v, -1, -1, 0));
		if (i > 0)
			text_add(cn, ", ", 2);
		text_add(cn, v, strlen(v));
		snprintf(v, sizeof(v), "u%zu", i);
		ck_assert(X509_NAME_add_entry_by_NID(nm, NID_organizationalUnitName,
		    MBSTRING_ASC, (const unsigned char *)v, -1, -1, 0));
	}
	text_add(cn, "\"", 1);
	text_add(want, "]", 1);
	ck_assert(X509_set_subject_name(x, nm));
	X509_NAME_free(nm);
	return cert_end(x, k, len);
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	ck_assert(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A certificate built here and the texts its rendering must hold. */
struct cert {
	uint8_t *der;
	size_t len;
	struct text a, b;
};

typedef void (*make_fn)(size_t n, EVP_PKEY *k, struct cert *c);
typedef void (*check_fn)(const struct render_out *ro, const struct cert *c);

static void
cert_free(struct cert *c)
{
	OPENSSL_free(c->der);
	free(c->a.p);
	free(c->b.p);
}

/* Renders c as the daemon does; the CPU time it took. */
static double
render_once(struct render_out *ro, const struct cert *c)
{
	static const struct render_source src = { "https://ct.example.net/", "L", "O",
	    "rfc6962" };
	struct leaf_entry e;
	char err[256];
	double t;

	memset(&e, 0, sizeof(e));
	e.type = LEAF_X509;
	e.cert.p = c->der;
	e.cert.len = c->len;
	e.signed_entry = e.cert;
	t = cpu_seconds();
	ck_assert_msg(render_entry(&e, &src, 1.0, ro, err, sizeof(err)) == 0, "%s", err);
	return cpu_seconds() - t;
}

/* The text right after `key` in s is exactly want. */
static void
assert_text_after(const char *s, const char *key, const struct text *want)
{
	const char *at = strstr(s, key);

	ck_assert_msg(at != NULL, "no %s", key);
	at += strlen(key);
	ck_assert_msg(strncmp(at, want->p, want->len) == 0 &&
	    (at[want->len] == ',' || at[want->len] == '}'),
	    "%s differs from the expected text", key);
}

static void
san_make(size_t n, EVP_PKEY *k, struct cert *c)
{
	size_t nwant;

	c->der = san_cert(n, k, &c->a, &nwant, &c->len);
}

/* all_domains in the three messages */
static void
san_check(const struct render_out *ro, const struct cert *c)
{
	assert_text_after(ro->json[RV_LITE], "\"all_domains\":", &c->a);
	assert_text_after(ro->json[RV_FULL], "\"all_domains\":", &c->a);
	assert_text_after(ro->json[RV_DOMAINS], "\"data\":", &c->a);
}

static void
ext_make(size_t n, EVP_PKEY *k, struct cert *c)
{
	c->der = ext_cert(n, k, &c->a, &c->len);
}

static void
ext_check(const struct render_out *ro, const struct cert *c)
{
	assert_text_after(ro->json[RV_LITE], "\"extensions\":", &c->a);
}

static void
name_make(size_t n, EVP_PKEY *k, struct cert *c)
{
	c->der = name_cert(n, k, &c->a, &c->b, &c->len);
}

static void
name_check(const struct render_out *ro, const struct cert *c)
{
	assert_text_after(ro->json[RV_LITE], "\"CN\":", &c->a);
	assert_text_after(ro->json[RV_LITE], "\"all_domains\":", &c->b);
	assert_text_after(ro->json[RV_DOMAINS], "\"data\":", &c->b);
}

/*
 * Certificates of n and 10n items, rendered in turns, the fastest time
 * of each kept: 3 rounds, more (up to MAX_ROUNDS, ~4 s) while the ratio
 * is above MAX_RATIO. Other sessions share the cores and the caches, and
 * a burst of theirs can slow the big render alone for a second or two;
 * quadratic code, at 40x to 100x here, fails every round. Under valgrind,
 * one certificate of n/5 items, checked only.
 */
static void
scale_case(const char *what, size_t n, make_fn make, check_fn check)
{
	struct render_out ro;
	struct cert small, big;
	EVP_PKEY *k = test_key();
	double ts = 1e9, tb = 1e9, t;
	int round;

	memset(&small, 0, sizeof(small));
	memset(&big, 0, sizeof(big));
	render_out_init(&ro);
	if (under_valgrind()) {
		make(n / 5, k, &small);
		render_once(&ro, &small);
		check(&ro, &small);
		goto done;
	}
	make(n, k, &small);
	make(10 * n, k, &big);
	for (round = 0; round < MAX_ROUNDS; round++) {
		if ((t = render_once(&ro, &small)) < ts)
			ts = t;
		if (round == 0)
			check(&ro, &small);
		if ((t = render_once(&ro, &big)) < tb)
			tb = t;
		if (round == 0)
			check(&ro, &big);
		if (round >= 2 && tb <= MAX_RATIO * ts)
			break;
	}
	fprintf(stderr, "x509json_scale: %zu %s %.4f s, %zu %.4f s (%.1fx, %d rounds)\n",
	    n, what, ts, 10 * n, tb, tb / ts, round < MAX_ROUNDS ? round + 1 : round);
	ck_assert_msg(tb <= MAX_RATIO * ts,
	    "%zu %s took %.4f s, %.1fx the %.4f s of %zu (at most %.0fx)",
	    10 * n, what, tb, tb / ts, ts, n, MAX_RATIO);
done:
	cert_free(&small);
	cert_free(&big);
	render_out_fini(&ro);
	EVP_PKEY_free(k);
}

START_TEST(all_domains_time_is_linear_in_the_san_count)
{
	scale_case("SANs", 10000, san_make, san_check);
}
END_TEST

START_TEST(extensions_time_is_linear_in_the_extension_count)
{
	scale_case("extensions", 2000, ext_make, ext_check);
}
END_TEST

START_TEST(subject_time_is_linear_in_the_name_entry_count)
{
	scale_case("subject CNs", 2000, name_make, name_check);
}
END_TEST

Suite *x509json_scale_suite(void);

Suite *
x509json_scale_suite(void)
{
	Suite *s = suite_create("x509json_scale");
	TCase *tc = tcase_create("x509json_scale");

	/* the old quadratic code needs minutes here: fail, don't hang */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, all_domains_time_is_linear_in_the_san_count);
	tcase_add_test(tc, extensions_time_is_linear_in_the_extension_count);
	tcase_add_test(tc, subject_time_is_linear_in_the_name_entry_count);
	suite_add_tcase(s, tc);
	return s;
}
