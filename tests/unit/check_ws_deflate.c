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

START_TEST(rsv1_marks_only_a_message_s_first_data_frame)
{
	/* masked, key 0: text "ab" with RSV1; continuation with RSV1; ping
	 * with RSV1; text with RSV2 */
	const uint8_t text[] = { 0xc1, 0x82, 0, 0, 0, 0, 'a', 'b' };
	const uint8_t plain[] = { 0x81, 0x82, 0, 0, 0, 0, 'a', 'b' };
	const uint8_t cont[] = { 0xc0, 0x81, 0, 0, 0, 0, 'a' };
	const uint8_t ping[] = { 0xc9, 0x80, 0, 0, 0, 0 };
	const uint8_t rsv2[] = { 0xa1, 0x80, 0, 0, 0, 0 };
	struct ws_frame f;
	int z;

	ck_assert_int_eq(ws_deflate_frame_parse(text, sizeof(text), 125, &f, &z),
	    WS_FRAME_OK);
	ck_assert_int_eq(z, 1);
	ck_assert_int_eq(f.opcode, WS_OP_TEXT);
	ck_assert_uint_eq(f.payload_len, 2);
	ck_assert_uint_eq(f.header_len, 6);
	/* a header not all here yet is incomplete, not an error */
	ck_assert_int_eq(ws_deflate_frame_parse(text, 3, 125, &f, &z),
	    WS_FRAME_INCOMPLETE);
	ck_assert_int_eq(ws_deflate_frame_parse(plain, sizeof(plain), 125, &f,
	    &z), WS_FRAME_OK);
	ck_assert_int_eq(z, 0);
	ck_assert_int_eq(ws_deflate_frame_parse(cont, sizeof(cont), 125, &f, &z),
	    WS_FRAME_ERR_PROTOCOL);
	ck_assert_int_eq(ws_deflate_frame_parse(ping, sizeof(ping), 125, &f, &z),
	    WS_FRAME_ERR_PROTOCOL);
	ck_assert_int_eq(ws_deflate_frame_parse(rsv2, sizeof(rsv2), 125, &f, &z),
	    WS_FRAME_ERR_PROTOCOL);
	/* without the extension RSV1 stays an error */
	ck_assert_int_eq(ws_frame_parse(text, sizeof(text), 125, &f),
	    WS_FRAME_ERR_PROTOCOL);
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
	tcase_add_test(tc, rsv1_marks_only_a_message_s_first_data_frame);
	suite_add_tcase(s, tc);
	return s;
}
