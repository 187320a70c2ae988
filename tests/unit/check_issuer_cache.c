/* The issuer cache's bounds: by count, by bytes, least recently used out. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/issuer_cache.h"

static uint8_t *
der_of(size_t len, uint8_t tag)
{
	uint8_t *d = malloc(len);

	ck_assert_ptr_nonnull(d);
	memset(d, tag, len);
	return d;
}

static void
fp_of(unsigned i, uint8_t fp[LEAF_FP_LEN])
{
	memset(fp, 0, LEAF_FP_LEN);
	memcpy(fp, &i, sizeof(i));
}

/* A log naming 1,000 issuers of 16 KiB each (16 MiB): the cache never
 * holds more than 2 MiB of them, and the newest are the ones kept. */
START_TEST(bytes_are_bounded)
{
	struct issuer_cache *c = calloc(1, sizeof(*c));
	uint8_t fp[LEAF_FP_LEN];
	const uint8_t *der;
	size_t len;
	unsigned i;

	ck_assert_ptr_nonnull(c);
	for (i = 0; i < 1000; i++) {
		fp_of(i, fp);
		issuer_cache_add(c, fp, der_of(ISSUER_MAX_BYTES, (uint8_t)i),
		    ISSUER_MAX_BYTES);
		ck_assert_uint_le(c->bytes, ISSUER_CACHE_BYTES);
	}
	ck_assert_uint_eq(c->n, ISSUER_CACHE_BYTES / ISSUER_MAX_BYTES);
	fp_of(999, fp);
	ck_assert_int_eq(issuer_cache_lookup(c, fp, &der, &len), 0);
	ck_assert_uint_eq(len, ISSUER_MAX_BYTES);
	ck_assert_uint_eq(der[0], (uint8_t)999);
	fp_of(0, fp);
	ck_assert_int_eq(issuer_cache_lookup(c, fp, &der, &len), -1);
	issuer_cache_free(c);
	free(c);
}
END_TEST

/* Small issuers are bounded by count; one used recently stays. */
START_TEST(count_is_bounded_and_recent_use_keeps)
{
	struct issuer_cache *c = calloc(1, sizeof(*c));
	uint8_t fp[LEAF_FP_LEN], first[LEAF_FP_LEN];
	unsigned i;

	ck_assert_ptr_nonnull(c);
	fp_of(0, first);
	for (i = 0; i < 2000; i++) {
		fp_of(i, fp);
		issuer_cache_add(c, fp, der_of(100, 1), 100);
		/* the first one is asked for all along */
		ck_assert_ptr_nonnull(issuer_cache_find(c, first));
		ck_assert_uint_le(c->n, ISSUER_CACHE_MAX);
	}
	ck_assert_uint_eq(c->n, ISSUER_CACHE_MAX);
	ck_assert_uint_eq(c->bytes, (size_t)ISSUER_CACHE_MAX * 100);
	issuer_cache_free(c);
	ck_assert_uint_eq(c->n, 0);
	free(c);
}
END_TEST

Suite *issuer_cache_suite(void);

Suite *
issuer_cache_suite(void)
{
	Suite *s = suite_create("issuer_cache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, bytes_are_bounded);
	tcase_add_test(tc, count_is_bounded_and_recent_use_keeps);
	suite_add_tcase(s, tc);
	return s;
}
