/* The CT source's crash resume: the newest record in the ring names its
 * log and index, so a successor ingest never publishes it twice. */
#include <check.h>
#include <string.h>
#include <sys/uio.h>

#include "ingest/ct.h"

Suite *ct_suite(void);

static void
publish(struct ring_writer *w, const char *lite)
{
	static const char dom[] = "{\"message_type\":\"dns_entries\"}";
	struct iovec iov[RV_COUNT];

	iov[RV_LITE].iov_base = (void *)lite;
	iov[RV_LITE].iov_len = strlen(lite);
	iov[RV_FULL].iov_base = (void *)lite;
	iov[RV_FULL].iov_len = strlen(lite);
	iov[RV_DOMAINS].iov_base = (void *)dom;
	iov[RV_DOMAINS].iov_len = sizeof(dom) - 1;
	ck_assert_uint_ne(ring_publish(w, iov, 1), UINT64_MAX);
}

START_TEST(last_record_names_log_and_index)
{
	struct shm_seg seg;
	struct ring_writer w;
	char err[256], url[256];
	uint64_t idx = 0;

	ck_assert_int_eq(shm_seg_create_anon(&seg, 64, 1 << 20, 1, err,
	    sizeof(err)), 0);
	ring_writer_init(&w, &seg, NULL, 0);
	ck_assert_int_eq(ct_last_record(&seg, url, sizeof(url), &idx), -1);
	publish(&w, "{\"message_type\":\"certificate_update\",\"data\":{"
	    "\"cert_index\":41,\"source\":{\"url\":\"http://a.example/log/\","
	    "\"name\":\"a\"}}}");
	publish(&w, "{\"message_type\":\"certificate_update\",\"data\":{"
	    "\"cert_index\":9000000000,\"source\":{\"url\":\"http://b.example/\","
	    "\"name\":\"b\"}}}");
	ck_assert_int_eq(ct_last_record(&seg, url, sizeof(url), &idx), 0);
	ck_assert_str_eq(url, "http://b.example/");
	ck_assert_uint_eq(idx, 9000000000ULL);
	/* something that is not a CT record */
	publish(&w, "{\"message_type\":\"certificate_update\",\"data\":{}}");
	ck_assert_int_eq(ct_last_record(&seg, url, sizeof(url), &idx), -1);
	shm_seg_close(&seg);
}
END_TEST

Suite *
ct_suite(void)
{
	Suite *s = suite_create("ct");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, last_record_names_log_and_index);
	suite_add_tcase(s, tc);
	return s;
}
