/* Unit tests: broadcast/sse.c (Last-Event-ID, event prefix, comments,
 * head) and broadcast/sse_gzip.c (Accept-Encoding, the gzip head, a body
 * made of the ring's shared stream and stored blocks). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "broadcast/sse.h"
#include "broadcast/sse_gzip.h"
#include "shm/ring.h"
#include "shm/ring_deflate.h"

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

/* A request head with the given Accept-Encoding lines ("" for none). */
static int
accepts(const char *ae1, const char *ae2)
{
	static char buf[512];
	struct http_request req;

	snprintf(buf, sizeof(buf), "GET /sse HTTP/1.1\r\nHost: x\r\n%s%s%s%s"
	    "\r\n", *ae1 ? "Accept-Encoding: " : "", ae1, *ae1 ? "\r\n" : "",
	    ae2);
	ck_assert_int_eq(http_parse_request(buf, strlen(buf), sizeof(buf),
	    &req), HTTP_PARSE_OK);
	return sse_gzip_accepted(&req);
}

START_TEST(gzip_accepted_as_curl_and_browsers_ask_and_not_when_refused)
{
	ck_assert_int_eq(accepts("", ""), 0);
	ck_assert_int_eq(accepts("deflate, gzip, br, zstd", ""), 1);  /* curl */
	ck_assert_int_eq(accepts("gzip, deflate, br, zstd", ""), 1);  /* Chromium */
	ck_assert_int_eq(accepts("GZIP", ""), 1);
	ck_assert_int_eq(accepts("br;q=1.0, gzip;q=0.5", ""), 1);
	ck_assert_int_eq(accepts("gzip;q=0", ""), 0);
	ck_assert_int_eq(accepts("gzip; q=0.000", ""), 0);
	ck_assert_int_eq(accepts("identity", ""), 0);
	ck_assert_int_eq(accepts("gzipped, xgzip", ""), 0);
	ck_assert_int_eq(accepts("*", ""), 1);
	ck_assert_int_eq(accepts("*, gzip;q=0", ""), 0);
	ck_assert_int_eq(accepts("br", "Accept-Encoding: gzip\r\n"), 1);
}
END_TEST

START_TEST(gzip_head_names_the_encoding_and_starts_the_member)
{
	char out[SSE_HEAD_MAX];
	size_t n = sse_gzip_head(out, sizeof(out));

	ck_assert_uint_gt(n, 10);
	ck_assert(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	ck_assert_ptr_nonnull(strstr(out, "\r\nContent-Encoding: gzip\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "\r\nVary: Accept-Encoding\r\n"));
	ck_assert(memcmp(out + n - 14, "\r\n\r\n\x1f\x8b\x08\x00", 8) == 0);
	ck_assert_uint_eq(sse_gzip_head(out, 100), 0);
}
END_TEST

/*
 * A gzip client's body, as the worker sends it, over 120 records with a
 * keyframe every 16, for one that joins at record 5 (stored blocks until
 * the first keyframe) and one that joins at the start, each with a
 * heartbeat (a stored block that takes it out of step) now and then;
 * zlib's gzip decoder gives back exactly the plain SSE events.
 */
START_TEST(gzip_body_from_the_shared_stream_inflates_to_the_plain_events)
{
	struct ring_deflate_cfg zc = { .level = 6, .key_records = 16 };
	struct shm_seg seg;
	struct ring_writer w;
	static char line[2][4096];
	static uint8_t body[1 << 20], plain[1 << 20], out[1 << 20];

	ck_assert_int_eq(shm_seg_create_anon(&seg, 1024, 1 << 22, 4, NULL, 0), 0);
	ring_writer_init(&w, &seg, NULL, 0);
	w.ids = 1;
	ck_assert_ptr_nonnull(w.dfl = ring_deflate_new(&zc));
	ring_deflate_want(&seg, RV_FULL, SP_SSE, INT64_MAX / 4);
	for (int i = 0; i < 120; i++) {
		struct iovec iov[RV_COUNT];

		snprintf(line[0], sizeof(line[0]), "{\"message_type\":"
		    "\"certificate_update\",\"n\":%d,\"domains\":["
		    "\"a%d.example.com\",\"www.example.org\"]}", i, i % 9);
		for (int v = 0; v < RV_COUNT; v++) {
			iov[v].iov_base = line[0];
			iov[v].iov_len = strlen(line[0]);
		}
		ck_assert_uint_ne(ring_publish(&w, iov, 1), UINT64_MAX);
	}
	for (uint64_t join = 5; join != UINT64_MAX; join = join == 5 ? 0 :
	    UINT64_MAX) {
		size_t bl = 0, pl = 0, nz = 0;
		uint64_t zn = UINT64_MAX;
		char hb[SSE_HEAD_MAX];
		z_stream z;
		int r;

		/* the gzip member header, as sse_gzip_head ends */
		bl = sse_gzip_head(hb, sizeof(hb));
		memcpy(body, hb + bl - 10, 10);
		bl = 10;
		for (uint64_t s = ring_tail(&seg) + join; s < ring_head(&seg);
		    s++) {
			struct iovec part[3], pf;
			int64_t seen;
			int n, zl;

			if (s % 37 == 0) {      /* a heartbeat */
				sse_gzip_stored(body + bl, SSE_HEARTBEAT_LEN);
				memcpy(body + bl + 5, SSE_HEARTBEAT,
				    SSE_HEARTBEAT_LEN);
				bl += 5 + SSE_HEARTBEAT_LEN;
				memcpy(plain + pl, SSE_HEARTBEAT,
				    SSE_HEARTBEAT_LEN);
				pl += SSE_HEARTBEAT_LEN;
				zn = UINT64_MAX;
			}
			n = sse_gzip_parts(&seg, s, RV_FULL, zn == s, 0, part,
			    &seen, &zl);
			ck_assert_int_gt(n, 0);
			for (int k = 0; k < n; k++) {
				memcpy(body + bl, part[k].iov_base,
				    part[k].iov_len);
				bl += part[k].iov_len;
			}
			if (zl > 0) {
				zn = s + 1;
				nz++;
			}
			pl += sse_event_prefix((char *)plain + pl, 32, s);
			ck_assert_int_eq(ring_peek(&seg, s, RV_FULL, 0, &pf,
			    NULL), 0);
			memcpy(plain + pl, pf.iov_base, pf.iov_len);
			pl += pf.iov_len;
			memcpy(plain + pl, "\n\n", 2);
			pl += 2;
			if (zl > 0)
				ck_assert_uint_eq((size_t)zl, pf.iov_len + 2 +
				    (size_t)snprintf(hb, sizeof(hb),
				    "id: %llu\ndata: ", (unsigned long long)s));
		}
		/* most records came from the shared stream */
		ck_assert_uint_gt(nz, 80);
		ck_assert_uint_lt(bl, pl / 2);
		memset(&z, 0, sizeof(z));
		ck_assert_int_eq(inflateInit2(&z, 16 + 15), Z_OK);
		z.next_in = body;
		z.avail_in = (uInt)bl;
		z.next_out = out;
		z.avail_out = sizeof(out);
		r = inflate(&z, Z_SYNC_FLUSH);
		ck_assert(r == Z_OK);
		ck_assert_uint_eq(z.avail_in, 0);
		ck_assert_uint_eq(sizeof(out) - z.avail_out, pl);
		ck_assert(memcmp(out, plain, pl) == 0);
		inflateEnd(&z);
	}
	ring_deflate_free(w.dfl);
	shm_seg_close(&seg);
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
	tcase_add_test(tc,
	    gzip_accepted_as_curl_and_browsers_ask_and_not_when_refused);
	tcase_add_test(tc, gzip_head_names_the_encoding_and_starts_the_member);
	tcase_add_test(tc,
	    gzip_body_from_the_shared_stream_inflates_to_the_plain_events);
	suite_add_tcase(s, tc);
	return s;
}
