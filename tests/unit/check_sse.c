/* Unit tests: broadcast/sse.c (Last-Event-ID, event prefix, comments, head). */
#include <check.h>
#include <string.h>

#include "broadcast/sse.h"

static int
leid(const char *s, uint64_t *v)
{
	return sse_parse_last_event_id(s, strlen(s), v);
}

START_TEST(last_event_id_valid)
{
	uint64_t v = 7;

	ck_assert_int_eq(leid("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(leid("918273", &v), 0);
	ck_assert_uint_eq(v, 918273);
	ck_assert_int_eq(leid("18446744073709551615", &v), 0);
	ck_assert(v == UINT64_MAX);
	/* only len bytes are read */
	ck_assert_int_eq(sse_parse_last_event_id("12x", 2, &v), 0);
	ck_assert_uint_eq(v, 12);
}
END_TEST

START_TEST(last_event_id_strict)
{
	static const char *bad[] = {
		"", " 1", "1 ", "+1", "-1", "01", "00", "1.0", "1e3", "0x10",
		"18446744073709551616",         /* UINT64_MAX + 1 */
		"99999999999999999999",
		"123456789012345678901",        /* 21 digits */
		"12a",
	};
	uint64_t v = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(leid(bad[i], &v) == -1, "case '%s'", bad[i]);
		ck_assert_uint_eq(v, 42);       /* untouched on error */
	}
	ck_assert_int_eq(sse_parse_last_event_id(NULL, 0, &v), -1);
	ck_assert_int_eq(sse_parse_last_event_id("1\0", 2, &v), -1);
}
END_TEST

START_TEST(event_prefix)
{
	char out[SSE_PREFIX_MAX];
	size_t n;

	n = sse_event_prefix(out, sizeof(out), 918273);
	ck_assert_uint_eq(n, strlen("id: 918273\ndata: "));
	ck_assert(memcmp(out, "id: 918273\ndata: ", n) == 0);
	n = sse_event_prefix(out, sizeof(out), UINT64_MAX);
	ck_assert_uint_eq(n, strlen("id: 18446744073709551615\ndata: "));
	ck_assert(memcmp(out, "id: 18446744073709551615\ndata: ", n) == 0);
	ck_assert_uint_eq(sse_event_prefix(out, 10, 918273), 0);
}
END_TEST

/* The gap notice: an event of type gap, no id: field, JSON data; the
 * largest (three 20-digit numbers) fits SSE_GAP_MAX, also with the
 * WebSocket message's prefix. */
START_TEST(gap_event_and_json)
{
	char out[SSE_GAP_MAX];
	size_t n;

	n = sse_gap_event(out, sizeof(out), 120, 81, 200);
	ck_assert_uint_eq(n, strlen(out));
	ck_assert_str_eq(out, "event: gap\ndata: {\"skipped\":120,"
	    "\"from_id\":81,\"to_id\":200}\n\n");
	ck_assert_uint_ne(sse_gap_event(out, sizeof(out), UINT64_MAX,
	    UINT64_MAX, UINT64_MAX), 0);
	ck_assert_uint_ne(sse_gap_json(out, sizeof(out),
	    "{\"message_type\":\"gap\",", UINT64_MAX, UINT64_MAX,
	    UINT64_MAX), 0);
	n = sse_gap_json(out, sizeof(out), "{\"message_type\":\"gap\",", 0, 5,
	    4);
	ck_assert_str_eq(out, "{\"message_type\":\"gap\",\"skipped\":0,"
	    "\"from_id\":5,\"to_id\":4}");
	ck_assert_uint_eq(n, strlen(out));
	ck_assert_uint_eq(sse_gap_event(out, 20, 1, 2, 3), 0);
}
END_TEST

START_TEST(comments)
{
	char out[SSE_SKIPPED_MAX];
	size_t n;

	ck_assert_str_eq(SSE_HEARTBEAT, ": heartbeat\n\n");
	ck_assert_uint_eq(SSE_HEARTBEAT_LEN, 13);
	n = sse_skipped_comment(out, sizeof(out), 1234);
	ck_assert_uint_eq(n, strlen(": skipped 1234 records\n\n"));
	ck_assert_str_eq(out, ": skipped 1234 records\n\n");
	ck_assert_uint_ne(sse_skipped_comment(out, sizeof(out), UINT64_MAX), 0);
	ck_assert_uint_eq(sse_skipped_comment(out, 8, 1), 0);
}
END_TEST

START_TEST(response_head)
{
	char out[SSE_HEAD_MAX];
	size_t n;

	n = sse_response_head(out, sizeof(out), 0);
	ck_assert_uint_eq(n, strlen(out));
	ck_assert(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	ck_assert_ptr_nonnull(strstr(out,
	    "\r\nContent-Type: text/event-stream; charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "\r\nCache-Control: no-cache\r\n"));
	ck_assert_ptr_nonnull(strstr(out,
	    "\r\nAccess-Control-Allow-Origin: *\r\n"));
	ck_assert_ptr_null(strstr(out, "Content-Length"));
	ck_assert(strcmp(out + n - 4, "\r\n\r\n") == 0);
	n = sse_response_head(out, sizeof(out), 3000);
	ck_assert(strcmp(out + n - strlen("\r\n\r\nretry: 3000\n\n"),
	    "\r\n\r\nretry: 3000\n\n") == 0);
	ck_assert_uint_eq(sse_response_head(out, 40, 0), 0);
}
END_TEST

Suite *sse_suite(void);

Suite *
sse_suite(void)
{
	Suite *s = suite_create("sse");
	TCase *tc = tcase_create("sse");

	tcase_add_test(tc, last_event_id_valid);
	tcase_add_test(tc, last_event_id_strict);
	tcase_add_test(tc, event_prefix);
	tcase_add_test(tc, comments);
	tcase_add_test(tc, gap_event_and_json);
	tcase_add_test(tc, response_head);
	suite_add_tcase(s, tc);
	return s;
}
