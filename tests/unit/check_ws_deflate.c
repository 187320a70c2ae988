/* Unit tests: broadcast/ws_deflate.c (permessage-deflate offers). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "broadcast/ws_deflate.h"

Suite *ws_deflate_suite(void);

static char reqbuf[2048];
static struct http_request req;

/* Negotiate over a request with these extra header lines; resp filled. */
static int
offer(const char *lines, char resp[WS_DEFLATE_RESP_MAX])
{
	int n = snprintf(reqbuf, sizeof(reqbuf), "GET /full-stream HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n%s\r\n", lines);

	ck_assert_int_eq(http_parse_request(reqbuf, (size_t)n, sizeof(reqbuf),
	    &req), 0);
	resp[0] = '\0';
	return ws_deflate_negotiate(&req, resp);
}

START_TEST(plain_offer_and_browser_offer_are_accepted)
{
	char r[WS_DEFLATE_RESP_MAX];

	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate\r\n",
	    r), 1);
	ck_assert_str_eq(r, "permessage-deflate");
	/* what Chromium and node's ws send */
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "client_max_window_bits\r\n", r), 1);
	ck_assert_str_eq(r, "permessage-deflate");
	/* Python websockets */
	ck_assert_int_eq(offer("sec-websocket-extensions: Permessage-Deflate; "
	    "client_max_window_bits=12; client_no_context_takeover\r\n", r), 1);
	ck_assert_str_eq(r, "permessage-deflate");
}
END_TEST

START_TEST(server_window_fifteen_is_echoed)
{
	char r[WS_DEFLATE_RESP_MAX];

	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "server_max_window_bits=\"15\"\r\n", r), 1);
	ck_assert_str_eq(r, "permessage-deflate; server_max_window_bits=15");
}
END_TEST

START_TEST(offers_the_shared_stream_cannot_honour_are_declined)
{
	char r[WS_DEFLATE_RESP_MAX];

	ck_assert_int_eq(offer("", r), 0);
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: x-webkit-deflate-frame"
	    "\r\n", r), 0);
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "server_no_context_takeover\r\n", r), 0);
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "server_max_window_bits=10\r\n", r), 0);
	/* malformed: no value, out of range, leading zero, duplicate,
	 * unknown parameter, a value where none is allowed */
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "server_max_window_bits\r\n", r), 0);
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "client_max_window_bits=16\r\n", r), 0);
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "server_max_window_bits=015\r\n", r), 0);
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "client_max_window_bits; client_max_window_bits\r\n", r), 0);
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "mystery=1\r\n", r), 0);
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "client_no_context_takeover=1\r\n", r), 0);
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "client_max_window_bits=\"12\r\n", r), 0);
}
END_TEST

START_TEST(a_later_offer_is_taken_when_the_first_is_declined)
{
	char r[WS_DEFLATE_RESP_MAX];

	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: permessage-deflate; "
	    "server_no_context_takeover, permessage-deflate; "
	    "server_max_window_bits=15\r\n", r), 1);
	ck_assert_str_eq(r, "permessage-deflate; server_max_window_bits=15");
	ck_assert_int_eq(offer("Sec-WebSocket-Extensions: foo; a=\"x,y\"\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate\r\n", r), 1);
	ck_assert_str_eq(r, "permessage-deflate");
}
END_TEST

Suite *
ws_deflate_suite(void)
{
	Suite *s = suite_create("ws_deflate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, plain_offer_and_browser_offer_are_accepted);
	tcase_add_test(tc, server_window_fifteen_is_echoed);
	tcase_add_test(tc, offers_the_shared_stream_cannot_honour_are_declined);
	tcase_add_test(tc, a_later_offer_is_taken_when_the_first_is_declined);
	suite_add_tcase(s, tc);
	return s;
}
