/* ?unique=1 in the ingest: the tbs_sha256 of a record, and pairs. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ingest/unique.h"

Suite *unique_suite(void);

#define TBS_A "3f0c5e7a9b1d2c4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6"
#define TBS_B "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static size_t
rec(char *buf, size_t len, const char *type, const char *tbs)
{
	return (size_t)snprintf(buf, len, "{\"message_type\":\"certificate_update\","
	    "\"data\":{\"update_type\":\"%s\",\"leaf_cert\":{\"sha256\":\"AB:CD\","
	    "\"tbs_sha256\":\"%s\",\"is_ca\":false}}}", type, tbs);
}

START_TEST(tbs_is_read_from_the_record)
{
	char buf[512];
	uint8_t out[32];
	size_t n = rec(buf, sizeof(buf), "X509LogEntry", TBS_A);

	ck_assert_int_eq(unique_tbs(buf, n, out), 0);
	ck_assert_uint_eq(out[0], 0x3f);
	ck_assert_uint_eq(out[31], 0xe6);
	/* none, short, upper case or not hex: no value */
	n = (size_t)snprintf(buf, sizeof(buf), "{\"data\":{}}");
	ck_assert_int_eq(unique_tbs(buf, n, out), -1);
	n = (size_t)snprintf(buf, sizeof(buf), "{\"tbs_sha256\":\"3f0c\"}");
	ck_assert_int_eq(unique_tbs(buf, n, out), -1);
	n = rec(buf, sizeof(buf), "X509LogEntry",
	    "3F0C5E7A9B1D2C4E6F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6");
	ck_assert_int_eq(unique_tbs(buf, n, out), -1);
	n = rec(buf, sizeof(buf), "X509LogEntry", TBS_A);
	/* cut inside the value */
	ck_assert_int_eq(unique_tbs(buf, (size_t)(strstr(buf, TBS_A) - buf) + 40,
	    out), -1);
}
END_TEST

START_TEST(second_of_a_pair_whichever_comes_first)
{
	struct unique *u = unique_new(16, 60);
	char a[512], b[512], c[512], none[64];
	size_t na = rec(a, sizeof(a), "PrecertLogEntry", TBS_A);
	size_t nb = rec(b, sizeof(b), "X509LogEntry", TBS_A);
	size_t nc = rec(c, sizeof(c), "X509LogEntry", TBS_B);
	size_t nn = (size_t)snprintf(none, sizeof(none), "{\"data\":{}}");

	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(unique_second(u, a, na, 1000), 0);
	ck_assert_int_eq(unique_second(u, c, nc, 1000), 0);
	ck_assert_int_eq(unique_second(u, b, nb, 1001), 1);
	ck_assert_int_eq(unique_second(u, c, nc, 1001), 1);
	/* records without a value are never the second of anything */
	ck_assert_int_eq(unique_second(u, none, nn, 1001), 0);
	ck_assert_int_eq(unique_second(u, none, nn, 1001), 0);
	/* past the window: a first again */
	ck_assert_int_eq(unique_second(u, b, nb, 2000), 0);
	unique_free(u);
	ck_assert_int_eq(unique_second(NULL, b, nb, 2000), 0);
}
END_TEST

Suite *
unique_suite(void)
{
	Suite *s = suite_create("unique");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tbs_is_read_from_the_record);
	tcase_add_test(tc, second_of_a_pair_whichever_comes_first);
	suite_add_tcase(s, tc);
	return s;
}
