/* Unit tests: broadcast/http.c (request-head parser, path normalisation). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "broadcast/http.h"

static struct http_request req;

static enum http_parse_result
parse(const char *s)
{
	return http_parse_request(s, strlen(s), 8192, &req);
}

static int
str_is(const struct http_str *s, const char *lit)
{
	return s != NULL && s->len == strlen(lit) &&
	    memcmp(s->p, lit, s->len) == 0;
}

START_TEST(parses_simple_get)
{
	const char *r = "GET /full-stream?x=1 HTTP/1.1\r\nHost: a\r\n"
	    "Upgrade:  websocket \r\n\r\nEXTRA";

	ck_assert_int_eq(parse(r), HTTP_PARSE_OK);
	ck_assert(str_is(&req.method, "GET"));
	ck_assert(str_is(&req.target, "/full-stream?x=1"));
	ck_assert(str_is(&req.path, "/full-stream"));
	ck_assert(str_is(&req.query, "x=1"));
	ck_assert_int_eq(req.version_minor, 1);
	ck_assert_int_eq(req.nheaders, 2);
	ck_assert(str_is(http_header_get(&req, "UPGRADE"), "websocket"));
	ck_assert_ptr_null(http_header_get(&req, "cookie"));
	ck_assert_uint_eq(req.head_len, strlen(r) - strlen("EXTRA"));
}
END_TEST

START_TEST(incomplete_at_every_prefix)
{
	const char *r = "GET / HTTP/1.0\r\nHost: a\r\nX-A: b\r\n\r\n";
	size_t n = strlen(r), i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(http_parse_request(r, i, 8192, &req),
		    HTTP_PARSE_INCOMPLETE);
	ck_assert_int_eq(http_parse_request(r, n, 8192, &req), HTTP_PARSE_OK);
	ck_assert_int_eq(req.version_minor, 0);
	ck_assert_uint_eq(req.head_len, n);
}
END_TEST

START_TEST(head_over_max_len_is_too_large)
{
	char buf[600];

	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
	/* unterminated head of 600 bytes with max 512 */
	ck_assert_int_eq(http_parse_request(buf, sizeof(buf), 512, &req),
	    HTTP_PARSE_TOO_LARGE);
	/* under the limit it is only incomplete */
	ck_assert_int_eq(http_parse_request(buf, 500, 512, &req),
	    HTTP_PARSE_INCOMPLETE);
	/* a complete head longer than max_len is refused too */
	memcpy(buf + 596, "\r\n\r\n", 4);
	ck_assert_int_eq(http_parse_request(buf, sizeof(buf), 512, &req),
	    HTTP_PARSE_TOO_LARGE);
	ck_assert_int_eq(http_parse_request(buf, sizeof(buf), 600, &req),
	    HTTP_PARSE_OK);
}
END_TEST

START_TEST(too_many_headers_is_too_large)
{
	char buf[4096];
	size_t n;
	int i;

	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: v\r\n", i);
	memcpy(buf + n, "\r\n", 3);
	ck_assert_int_eq(parse(buf), HTTP_PARSE_OK);
	ck_assert_int_eq(req.nheaders, HTTP_MAX_HEADERS);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-last: v\r\n\r\n");
	ck_assert_int_eq(parse(buf), HTTP_PARSE_TOO_LARGE);
}
END_TEST

START_TEST(bad_request_lines)
{
	static const char *bad[] = {
		"GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1 \r\n\r\n",
		" GET / HTTP/1.1\r\n\r\n",
		"GET /\r\n\r\n",
		"GET / http/1.1\r\n\r\n",
		"GET / HTTP/1.1x\r\n\r\n",
		"GET / HTTP/11\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"GET /a b HTTP/1.1\r\n\r\n",
		"GET /a#frag HTTP/1.1\r\n\r\n",
		"GET foo HTTP/1.1\r\n\r\n",
		"GET http:// HTTP/1.1\r\n\r\n",
		"GET /\x01 HTTP/1.1\r\n\r\n",
		"\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i]) == HTTP_PARSE_BAD, "case %zu", i);
}
END_TEST

START_TEST(only_http_1_0_and_1_1)
{
	ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n"), HTTP_PARSE_OK);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\n\r\n"), HTTP_PARSE_OK);
	ck_assert_int_eq(parse("GET / HTTP/2.0\r\n\r\n"), HTTP_PARSE_BAD_VERSION);
	ck_assert_int_eq(parse("GET / HTTP/1.2\r\n\r\n"), HTTP_PARSE_BAD_VERSION);
	ck_assert_int_eq(parse("GET / HTTP/0.9\r\n\r\n"), HTTP_PARSE_BAD_VERSION);
}
END_TEST

START_TEST(leading_empty_line_skipped)
{
	ck_assert_int_eq(parse("\r\nGET / HTTP/1.1\r\n\r\n"), HTTP_PARSE_OK);
	ck_assert(str_is(&req.method, "GET"));
	ck_assert_uint_eq(req.head_len, 20);
}
END_TEST

START_TEST(absolute_form_target)
{
	ck_assert_int_eq(parse("GET http://h:80/sse?stream=full HTTP/1.1\r\n\r\n"),
	    HTTP_PARSE_OK);
	ck_assert(str_is(&req.path, "/sse"));
	ck_assert(str_is(&req.query, "stream=full"));
	ck_assert_int_eq(parse("GET https://h HTTP/1.1\r\n\r\n"), HTTP_PARSE_OK);
	ck_assert(str_is(&req.path, "/"));
	ck_assert_int_eq(parse("OPTIONS * HTTP/1.1\r\n\r\n"), HTTP_PARSE_OK);
	ck_assert(str_is(&req.path, "*"));
}
END_TEST

START_TEST(header_syntax_refused)
{
	static const char *bad[] = {
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",       /* space before ':' */
		"GET / HTTP/1.1\r\nHo(st: a\r\n\r\n",       /* not a token */
		"GET / HTTP/1.1\r\n: a\r\n\r\n",            /* empty name */
		"GET / HTTP/1.1\r\nHost a\r\n\r\n",         /* no colon */
		"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",     /* obs-fold */
		"GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",    /* obs-fold, tab */
		"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",      /* control in value */
		"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",       /* DEL in value */
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i]) == HTTP_PARSE_BAD, "case %zu", i);
	/* obs-text and empty values are fine */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\nY:\r\n\r\n"),
	    HTTP_PARSE_OK);
	ck_assert(str_is(http_header_get(&req, "y"), ""));
}
END_TEST

/* Documented: lone LF or CR never ends a line. */
START_TEST(bare_lf_and_cr_refused)
{
	ck_assert_int_eq(parse("GET / HTTP/1.1\n\n"), HTTP_PARSE_BAD);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\n\r\n"), HTTP_PARSE_BAD);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"),
	    HTTP_PARSE_BAD);
	/* refused as soon as seen, before the head is complete */
	ck_assert_int_eq(parse("GET / HTTP/1.1\n"), HTTP_PARSE_BAD);
}
END_TEST

START_TEST(garbage_refused_early)
{
	const char g[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

	ck_assert_int_eq(http_parse_request(g, sizeof(g) - 1, 8192, &req),
	    HTTP_PARSE_BAD);
	ck_assert_int_eq(http_parse_request("GET /\0", 6, 8192, &req),
	    HTTP_PARSE_BAD);
}
END_TEST

START_TEST(smuggling_refused)
{
	static const char *bad[] = {
		"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: \r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "Content-Length: 3\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"GET / HTTP/1.0\r\nTransfer-Encoding: identity\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i]) == HTTP_PARSE_SMUGGLE, "case %zu", i);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
	    HTTP_PARSE_OK);
}
END_TEST

START_TEST(header_tokens)
{
	struct http_str v = { "keep-alive, Upgrade", 19 };
	struct http_str w = { " upgrade2 ,x", 12 };
	struct http_str e = { "", 0 };

	ck_assert(http_header_has_token(&v, "upgrade"));
	ck_assert(http_header_has_token(&v, "keep-alive"));
	ck_assert(!http_header_has_token(&v, "close"));
	ck_assert(!http_header_has_token(&w, "upgrade"));
	ck_assert(http_header_has_token(&w, "X"));
	ck_assert(!http_header_has_token(&e, "upgrade"));
	ck_assert(!http_header_has_token(NULL, "upgrade"));
}
END_TEST

START_TEST(query_parameters)
{
	struct http_str q = { "stream=full&lastEventId=12&a=b%20c+d&e&tok=%00",
	    47 };
	char out[16];

	ck_assert_int_eq(http_query_get(&q, "stream", out, sizeof(out)), 4);
	ck_assert_str_eq(out, "full");
	ck_assert_int_eq(http_query_get(&q, "lastEventId", out, sizeof(out)), 2);
	ck_assert_str_eq(out, "12");
	ck_assert_int_eq(http_query_get(&q, "a", out, sizeof(out)), 5);
	ck_assert_str_eq(out, "b c d");
	ck_assert_int_eq(http_query_get(&q, "e", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(http_query_get(&q, "missing", out, sizeof(out)), -1);
	ck_assert_int_eq(http_query_get(&q, "strea", out, sizeof(out)), -1);
	ck_assert_int_eq(http_query_get(&q, "tok", out, sizeof(out)), -1);
	ck_assert_int_eq(http_query_get(&q, "stream", out, 4), -1);
	ck_assert_int_eq(http_query_get(&q, "stream", out, 5), 4);
}
END_TEST

START_TEST(query_bad_escape)
{
	struct http_str q = { "a=%4&b=%zz&c=%", 14 };
	char out[16];

	ck_assert_int_eq(http_query_get(&q, "a", out, sizeof(out)), -1);
	ck_assert_int_eq(http_query_get(&q, "b", out, sizeof(out)), -1);
	ck_assert_int_eq(http_query_get(&q, "c", out, sizeof(out)), -1);
}
END_TEST

static const char *
norm(const char *p)
{
	static char out[256];
	struct http_str s = { p, strlen(p) };

	if (http_path_normalize(&s, out, sizeof(out)) < 0)
		return NULL;
	return out;
}

START_TEST(path_variants_route_identically)
{
	static const char *same[] = {
		"/full-stream", "//full-stream", "/full-stream/",
		"/%66ull-stream", "/./full-stream", "/x/../full-stream",
		"/%2e/full-stream", "/%2Ffull-stream", "/../full-stream",
		"///full-stream//", "/full-stream/.",
	};
	size_t i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		const char *r = norm(same[i]);

		ck_assert_msg(r != NULL && strcmp(r, "/full-stream") == 0,
		    "%s -> %s", same[i], r ? r : "(invalid)");
	}
	ck_assert_str_eq(norm("/"), "/");
	ck_assert_str_eq(norm("//"), "/");
	ck_assert_str_eq(norm("/.."), "/");
	ck_assert_str_eq(norm("/a/b/../c/"), "/a/c");
	ck_assert_str_eq(norm("/health/deep"), "/health/deep");
	ck_assert_str_eq(norm("/..a/.b"), "/..a/.b");
}
END_TEST

START_TEST(path_invalid)
{
	char small[4];
	struct http_str s = { "/abcd", 5 };

	ck_assert_ptr_null(norm("/a%00b"));
	ck_assert_ptr_null(norm("/a%0ab"));
	ck_assert_ptr_null(norm("/a%"));
	ck_assert_ptr_null(norm("/a%4"));
	ck_assert_ptr_null(norm("/a%g0"));
	ck_assert_ptr_null(norm("full-stream"));
	ck_assert_ptr_null(norm("*"));
	ck_assert_ptr_null(norm(""));
	ck_assert_int_eq(http_path_normalize(&s, small, sizeof(small)), -1);
}
END_TEST

/* Feed head one byte at a time, as a client sending one byte per TCP
 * segment does; every call but the last must be INCOMPLETE. */
static enum http_parse_result
feed_bytewise(const char *head, size_t n, size_t max_len,
    struct http_progress *pg)
{
	enum http_parse_result r = HTTP_PARSE_INCOMPLETE;
	size_t i;

	memset(pg, 0, sizeof(*pg));
	for (i = 1; i <= n; i++) {
		r = http_parse_resume(pg, head, i, max_len, &req);
		if (r != HTTP_PARSE_INCOMPLETE)
			break;
	}
	ck_assert_uint_eq(i, r == HTTP_PARSE_INCOMPLETE ? n + 1 : n);
	return r;
}

/* A head that comes one byte per read costs work in proportion to its
 * size, not to its square: parsing from byte 0 on every read looked at
 * about n^2/2 bytes (2 billion for 64 KiB). */
START_TEST(bytewise_head_costs_linear_work)
{
	static char head[65536];
	struct http_progress pg;
	size_t n, sizes[] = { 4096, 65536 };
	int k, i;

	for (k = 0; k < 2; k++) {
		size_t want = sizes[k];

		n = (size_t)snprintf(head, sizeof(head),
		    "GET /latest.json HTTP/1.1\r\nHost: a\r\n");
		/* 40 headers filling the head up to want bytes */
		for (i = 0; i < 40; i++) {
			size_t left = want - n - 4, each = left / (size_t)(40 - i);

			n += (size_t)snprintf(head + n, sizeof(head) - n,
			    "X-Pad-%02d: ", i);
			memset(head + n, 'v', each - 12);
			n += each - 12;
			memcpy(head + n, "\r\n", 2);
			n += 2;
		}
		memcpy(head + n, "\r\n", 2);
		n += 2;
		ck_assert_uint_le(n, want);
		ck_assert_int_eq(feed_bytewise(head, n, want, &pg),
		    HTTP_PARSE_OK);
		ck_assert_int_eq(req.nheaders, 41);
		ck_assert_uint_eq(req.head_len, n);
		ck_assert(str_is(&req.path, "/latest.json"));
		ck_assert_uint_le(pg.work, 4 * n);

		/* one header that never ends: 431 at max_len, linear too */
		n = (size_t)snprintf(head, sizeof(head),
		    "GET / HTTP/1.1\r\nX: ");
		memset(head + n, 'v', want - n);
		ck_assert_int_eq(feed_bytewise(head, want, want, &pg),
		    HTTP_PARSE_TOO_LARGE);
		ck_assert_uint_le(pg.work, 4 * want);
	}
}
END_TEST

/* Resumed parsing answers what parsing the same bytes at once answers,
 * whatever the reads look like. */
START_TEST(resume_matches_parse_at_every_prefix)
{
	static const char *const heads[] = {
		"GET / HTTP/1.0\r\nHost: a\r\nX-A: b\r\n\r\n",
		"\r\n\r\nGET /sse HTTP/1.1\r\n\r\n",
		"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\nb\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"GET / HTTP/1.1\r\n X: folded\r\n\r\n",
		"GET / HTTP/1.1\r\n\r",
	};
	struct http_request one;
	struct http_progress pg;
	size_t h, i, n, step;

	for (h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		n = strlen(heads[h]);
		for (step = 1; step <= 3; step++) {
			enum http_parse_result a, b;

			memset(&pg, 0, sizeof(pg));
			for (i = step < n ? step : n;; i = i + step < n ?
			    i + step : n) {
				a = http_parse_resume(&pg, heads[h], i, 8192,
				    &req);
				b = http_parse_request(heads[h], i, 8192, &one);
				ck_assert_msg(a == b, "head %zu, %zu bytes: %d "
				    "resumed, %d at once", h, i, a, b);
				if (a != HTTP_PARSE_INCOMPLETE || i == n)
					break;
			}
			if (a == HTTP_PARSE_OK)
				ck_assert_uint_eq(req.head_len, one.head_len);
		}
	}
}
END_TEST

Suite *http_suite(void);

Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parses_simple_get);
	tcase_add_test(tc, incomplete_at_every_prefix);
	tcase_add_test(tc, head_over_max_len_is_too_large);
	tcase_add_test(tc, too_many_headers_is_too_large);
	tcase_add_test(tc, bad_request_lines);
	tcase_add_test(tc, only_http_1_0_and_1_1);
	tcase_add_test(tc, leading_empty_line_skipped);
	tcase_add_test(tc, absolute_form_target);
	tcase_add_test(tc, header_syntax_refused);
	tcase_add_test(tc, bare_lf_and_cr_refused);
	tcase_add_test(tc, garbage_refused_early);
	tcase_add_test(tc, smuggling_refused);
	tcase_add_test(tc, header_tokens);
	tcase_add_test(tc, bytewise_head_costs_linear_work);
	tcase_add_test(tc, resume_matches_parse_at_every_prefix);
	suite_add_tcase(s, tc);
	tc = tcase_create("path_query");
	tcase_add_test(tc, query_parameters);
	tcase_add_test(tc, query_bad_escape);
	tcase_add_test(tc, path_variants_route_identically);
	tcase_add_test(tc, path_invalid);
	suite_add_tcase(s, tc);
	return s;
}
