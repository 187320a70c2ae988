/* Unit tests: shm/facts.c and ingest/facts_json.c (suite "facts"). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/facts_json.h"
#include "shm/facts.h"

Suite *facts_suite(void);

static int
str_is(struct facts_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static long
encode_sample(uint8_t *buf, size_t cap)
{
	static const char *doms[] = { "Example.COM", "*.Shop.example.com", "" };
	static const size_t dl[] = { 11, 18, 0 };
	struct facts_in in;

	memset(&in, 0, sizeof(in));
	in.type = FACTS_PRECERT;
	in.field[FF_ISSUER_CN] = "R11";
	in.field_len[FF_ISSUER_CN] = 3;
	in.field[FF_ISSUER_O] = "Let's Encrypt";
	in.field_len[FF_ISSUER_O] = 13;
	in.field[FF_LOG_URL] = "https://ct.example/log/";
	in.field_len[FF_LOG_URL] = 23;
	/* name and operator NULL: empty */
	in.domains = doms;
	in.domain_len = dl;
	in.ndomains = 3;
	return facts_encode(&in, buf, cap);
}

START_TEST(facts_roundtrip_lowercases_domains)
{
	uint8_t buf[256];
	struct facts_view v;
	struct facts_str d;
	size_t off = 0;
	long n = encode_sample(buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(facts_decode(buf, (size_t)n, &v), 0);
	ck_assert_int_eq(v.type, FACTS_PRECERT);
	ck_assert(str_is(v.field[FF_ISSUER_CN], "R11"));
	ck_assert(str_is(v.field[FF_ISSUER_O], "Let's Encrypt"));
	ck_assert(str_is(v.field[FF_LOG_URL], "https://ct.example/log/"));
	ck_assert_uint_eq(v.field[FF_LOG_NAME].len, 0);
	ck_assert_uint_eq(v.field[FF_LOG_OPERATOR].len, 0);
	ck_assert_uint_eq(v.ndomains, 3);
	ck_assert(facts_next_domain(&v, &off, &d));
	ck_assert(str_is(d, "example.com"));
	ck_assert(facts_next_domain(&v, &off, &d));
	ck_assert(str_is(d, "*.shop.example.com"));
	ck_assert(facts_next_domain(&v, &off, &d));
	ck_assert_uint_eq(d.len, 0);
	ck_assert(!facts_next_domain(&v, &off, &d));
}
END_TEST

START_TEST(facts_encode_refuses_small_buffer)
{
	uint8_t buf[256];
	long n = encode_sample(buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(encode_sample(buf, (size_t)n - 1), -1);
}
END_TEST

/* Every cut of a valid buffer, a wrong version and grown lengths are
 * refused; nothing is read past the buffer (ASan/valgrind would tell). */
START_TEST(facts_decode_refuses_malformed)
{
	uint8_t buf[256], *cp;
	struct facts_view v;
	long n = encode_sample(buf, sizeof(buf)), k;

	for (k = 0; k < n; k++) {
		cp = malloc((size_t)k + 1);
		memcpy(cp, buf, (size_t)k);
		ck_assert_int_eq(facts_decode(cp, (size_t)k, &v), -1);
		free(cp);
	}
	ck_assert_int_eq(facts_decode(NULL, 0, &v), -1);
	buf[0] = 2;
	ck_assert_int_eq(facts_decode(buf, (size_t)n, &v), -1);
	buf[0] = FACTS_VERSION;
	buf[1] = 7;     /* no such type */
	ck_assert_int_eq(facts_decode(buf, (size_t)n, &v), -1);
	buf[1] = FACTS_CERT;
	buf[2] = 4;     /* one domain more than there is */
	ck_assert_int_eq(facts_decode(buf, (size_t)n, &v), -1);
	buf[2] = 3;
	buf[4] = 200;   /* issuer CN longer than the buffer */
	ck_assert_int_eq(facts_decode(buf, (size_t)n, &v), -1);
	buf[4] = 3;
	ck_assert_int_eq(facts_decode(buf, (size_t)n, &v), 0);
	/* trailing bytes */
	ck_assert_int_eq(facts_decode(buf, (size_t)n + 1, &v), -1);
}
END_TEST

/* A list that changed after decoding: iteration stops, never overruns. */
START_TEST(facts_next_domain_bounds_checked)
{
	uint8_t buf[256];
	struct facts_view v;
	struct facts_str d;
	size_t off = 0;
	long n = encode_sample(buf, sizeof(buf));

	ck_assert_int_eq(facts_decode(buf, (size_t)n, &v), 0);
	((uint8_t *)v.doms)[0] = 0xff;      /* first domain now 255+ bytes */
	ck_assert(!facts_next_domain(&v, &off, &d));
}
END_TEST

START_TEST(facts_json_takes_message_members)
{
	static const char msg[] = "{\"message_type\":\"certificate_update\","
	    "\"data\":{\"update_type\":\"X509LogEntry\",\"leaf_cert\":{"
	    "\"issuer\":{\"CN\":\"Sectigo RSA\",\"O\":null},"
	    "\"all_domains\":[\"WWW.Example.org\",5,\"example.org\"]},"
	    "\"source\":{\"url\":\"https://log.example/\",\"name\":\"Example log\","
	    "\"operator\":\"Example Op\"}}}";
	struct factsj_buf b = { NULL, 0, 0 };
	struct facts_view v;
	struct facts_str d;
	size_t off = 0;

	ck_assert_int_eq(factsj_from_text(msg, sizeof(msg) - 1, &b), 0);
	ck_assert_int_eq(facts_decode(b.p, b.len, &v), 0);
	ck_assert_int_eq(v.type, FACTS_CERT);
	ck_assert(str_is(v.field[FF_ISSUER_CN], "Sectigo RSA"));
	ck_assert_uint_eq(v.field[FF_ISSUER_O].len, 0);
	ck_assert(str_is(v.field[FF_LOG_NAME], "Example log"));
	ck_assert(str_is(v.field[FF_LOG_OPERATOR], "Example Op"));
	ck_assert_uint_eq(v.ndomains, 2);   /* the number is not a name */
	ck_assert(facts_next_domain(&v, &off, &d));
	ck_assert(str_is(d, "www.example.org"));
	ck_assert_int_eq(factsj_from_text("[1]", 3, &b), -1);
	ck_assert_int_eq(factsj_from_text("{\"data\":", 8, &b), -1);
	factsj_buf_fini(&b);
}
END_TEST

Suite *
facts_suite(void)
{
	Suite *s = suite_create("facts");
	TCase *tc = tcase_create("facts");

	tcase_add_test(tc, facts_roundtrip_lowercases_domains);
	tcase_add_test(tc, facts_encode_refuses_small_buffer);
	tcase_add_test(tc, facts_decode_refuses_malformed);
	tcase_add_test(tc, facts_next_domain_bounds_checked);
	tcase_add_test(tc, facts_json_takes_message_members);
	suite_add_tcase(s, tc);
	return s;
}
