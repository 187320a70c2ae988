/* Unit tests: broadcast/ws.c (RFC 6455 handshake, frames, close, UTF-8). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "broadcast/ws.h"

static char reqbuf[2048];
static struct http_request req;

/* Build and parse a request: the standard upgrade with one header changed
 * (or left out with value NULL) and optional extra lines. */
static enum ws_handshake_result
handshake(const char *method, const char *version, const char *upgrade,
    const char *connection, const char *wsver, const char *key,
    const char *extra, char accept[32])
{
	int n = snprintf(reqbuf, sizeof(reqbuf), "%s /full-stream %s\r\n"
	    "Host: 127.0.0.1\r\n", method, version);

#define ADD(name, v) if (v != NULL) \
	n += snprintf(reqbuf + n, sizeof(reqbuf) - (size_t)n, name ": %s\r\n", v)
	ADD("Upgrade", upgrade);
	ADD("Connection", connection);
	ADD("Sec-WebSocket-Version", wsver);
	ADD("Sec-WebSocket-Key", key);
#undef ADD
	n += snprintf(reqbuf + n, sizeof(reqbuf) - (size_t)n, "%s\r\n",
	    extra ? extra : "");
	ck_assert_int_eq(http_parse_request(reqbuf, (size_t)n, sizeof(reqbuf),
	    &req), HTTP_PARSE_OK);
	return ws_handshake_check(&req, accept);
}

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

START_TEST(rfc6455_example_accept)
{
	char accept[32];

	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "Upgrade",
	    "13", KEY, NULL, accept), WS_HS_OK);
	/* RFC 6455 §1.3; also what `openssl sha1 -binary | base64` gives */
	ck_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

START_TEST(upgrade_tokens_case_insensitive)
{
	char accept[32];

	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "WebSocket", 
	    "keep-alive, UPGRADE", "13", KEY, NULL, accept), WS_HS_OK);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "foo, websocket",
	    "upgrade", "13", KEY, NULL, accept), WS_HS_OK);
}
END_TEST

START_TEST(plain_http_is_not_upgrade)
{
	char accept[32];

	ck_assert_int_eq(handshake("GET", "HTTP/1.1", NULL, NULL, NULL, NULL,
	    NULL, accept), WS_HS_NOT_UPGRADE);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "h2c", "Upgrade", NULL,
	    NULL, NULL, accept), WS_HS_NOT_UPGRADE);
	/* WebSocket headers without the upgrade: a broken client */
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", NULL, "Upgrade", "13",
	    KEY, NULL, accept), WS_HS_BAD_REQUEST);
}
END_TEST

START_TEST(requires_get)
{
	char accept[32];

	ck_assert_int_eq(handshake("POST", "HTTP/1.1", "websocket", "Upgrade",
	    "13", KEY, NULL, accept), WS_HS_BAD_METHOD);
	ck_assert_int_eq(handshake("get", "HTTP/1.1", "websocket", "Upgrade",
	    "13", KEY, NULL, accept), WS_HS_BAD_METHOD);
}
END_TEST

START_TEST(requires_http11_and_connection_upgrade)
{
	char accept[32];

	ck_assert_int_eq(handshake("GET", "HTTP/1.0", "websocket", "Upgrade",
	    "13", KEY, NULL, accept), WS_HS_BAD_REQUEST);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", NULL,
	    "13", KEY, NULL, accept), WS_HS_BAD_REQUEST);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "keep-alive",
	    "13", KEY, NULL, accept), WS_HS_BAD_REQUEST);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "upgraded",
	    "13", KEY, NULL, accept), WS_HS_BAD_REQUEST);
}
END_TEST

START_TEST(version_must_be_13)
{
	char accept[32];

	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "Upgrade",
	    "8", KEY, NULL, accept), WS_HS_BAD_VERSION);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "Upgrade",
	    "14", KEY, NULL, accept), WS_HS_BAD_VERSION);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "Upgrade",
	    NULL, KEY, NULL, accept), WS_HS_BAD_VERSION);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "Upgrade",
	    "13", KEY, "Sec-WebSocket-Version: 8\r\n", accept),
	    WS_HS_BAD_VERSION);
}
END_TEST

START_TEST(key_must_be_16_bytes_base64)
{
	static const char *bad[] = {
		"dGhlIHNhbXBsZSBub25jZQ",        /* no padding */
		"dGhlIHNhbXBsZSBub25jZQ=",
		"dGhlIHNhbXBsZSBub25jZQ===",
		"dGhlIHNhbXBsZSBub25jZR==",      /* non-canonical last char */
		"dGhlIHNhbXBsZSBub25j*Q==",      /* not in alphabet */
		"dGhlIHNhbXBsZSBub25jZXM=",      /* 17 bytes */
		"dGhlIHNhbXBsZSBub25jZXMxMg==",  /* 19 bytes */
		"",
	};
	char accept[32];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(handshake("GET", "HTTP/1.1", "websocket",
		    "Upgrade", "13", bad[i], NULL, accept) == WS_HS_BAD_KEY,
		    "key %s", bad[i]);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "Upgrade",
	    "13", NULL, NULL, accept), WS_HS_BAD_KEY);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "Upgrade",
	    "13", KEY, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n",
	    accept), WS_HS_BAD_KEY);
	ck_assert_int_eq(handshake("GET", "HTTP/1.1", "websocket", "Upgrade",
	    "13", "AAAAAAAAAAAAAAAAAAAAAA==", NULL, accept), WS_HS_OK);
}
END_TEST

/* frames */

static struct ws_frame fr;

START_TEST(parses_masked_text_frame)
{
	uint8_t b[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
	    0x7f, 0x9f, 0x4d, 0x51, 0x58 };     /* RFC 6455 §5.7 "Hello" */
	size_t i;

	for (i = 0; i < 6; i++)
		ck_assert_int_eq(ws_frame_parse(b, i, 1024, &fr),
		    WS_FRAME_INCOMPLETE);
	ck_assert_int_eq(ws_frame_parse(b, sizeof(b), 1024, &fr), WS_FRAME_OK);
	ck_assert_int_eq(fr.fin, 1);
	ck_assert_int_eq(fr.opcode, WS_OP_TEXT);
	ck_assert_int_eq(fr.masked, 1);
	ck_assert_uint_eq(fr.payload_len, 5);
	ck_assert_uint_eq(fr.header_len, 6);
	ws_unmask(b + 6, 5, fr.mask, 0);
	ck_assert(memcmp(b + 6, "Hello", 5) == 0);
}
END_TEST

START_TEST(unmask_with_offset)
{
	const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint8_t p[] = { 0x7f, 0x9f, 0x4d, 0x51, 0x58 };

	/* two pieces, the second at payload offset 2 */
	ws_unmask(p, 2, mask, 0);
	ws_unmask(p + 2, 3, mask, 2);
	ck_assert(memcmp(p, "Hello", 5) == 0);
}
END_TEST

START_TEST(extended_lengths)
{
	uint8_t b16[8] = { 0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4 };
	uint8_t b64[14] = { 0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4 };

	ck_assert_int_eq(ws_frame_parse(b16, 3, 1 << 20, &fr),
	    WS_FRAME_INCOMPLETE);
	ck_assert_int_eq(ws_frame_parse(b16, 8, 1 << 20, &fr), WS_FRAME_OK);
	ck_assert_uint_eq(fr.payload_len, 256);
	ck_assert_uint_eq(fr.header_len, 8);
	ck_assert_int_eq(ws_frame_parse(b64, 9, 1 << 20, &fr),
	    WS_FRAME_INCOMPLETE);
	ck_assert_int_eq(ws_frame_parse(b64, 14, 1 << 20, &fr), WS_FRAME_OK);
	ck_assert_uint_eq(fr.payload_len, 65536);
	ck_assert_uint_eq(fr.header_len, 14);
	ck_assert_int_eq(fr.mask[3], 4);
}
END_TEST

START_TEST(over_max_payload_is_too_big)
{
	uint8_t b16[8] = { 0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4 };
	uint8_t b64[10] = { 0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff };

	ck_assert_int_eq(ws_frame_parse(b16, 8, 255, &fr), WS_FRAME_ERR_TOO_BIG);
	ck_assert_int_eq(ws_frame_parse(b16, 8, 256, &fr), WS_FRAME_OK);
	/* known before the mask has arrived */
	ck_assert_int_eq(ws_frame_parse(b64, 10, 1 << 20, &fr),
	    WS_FRAME_ERR_TOO_BIG);
}
END_TEST

START_TEST(protocol_errors)
{
	static const uint8_t bad[][10] = {
		{ 0xc1, 0x80 },         /* RSV1 */
		{ 0xa1, 0x80 },         /* RSV2 */
		{ 0x91, 0x80 },         /* RSV3 */
		{ 0x83, 0x80 },         /* reserved data opcode */
		{ 0x87, 0x80 },
		{ 0x8b, 0x80 },         /* reserved control opcode */
		{ 0x8f, 0x80 },
		{ 0x81, 0x05 },         /* unmasked */
		{ 0x09, 0x80 },         /* fragmented ping */
		{ 0x08, 0x80 },         /* fragmented close */
		{ 0x89, 0xfe },         /* control frame > 125 */
		{ 0x8a, 0xff },
		{ 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0 },   /* 2^63 */
		{ 0x82, 0xfe, 0x00, 0x7d },  /* 16-bit length not minimal */
		{ 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff },
	};
	static const size_t lens[] = { 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 10,
	    4, 10 };
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		ck_assert_msg(ws_frame_parse(bad[i], lens[i], UINT64_MAX, &fr) ==
		    WS_FRAME_ERR_PROTOCOL, "case %zu", i);
	/* RSV and opcode are refused from the first byte */
	ck_assert_int_eq(ws_frame_parse(bad[0], 1, 1024, &fr),
	    WS_FRAME_ERR_PROTOCOL);
	ck_assert_int_eq(ws_frame_parse(bad[3], 1, 1024, &fr),
	    WS_FRAME_ERR_PROTOCOL);
}
END_TEST

START_TEST(control_frame_125_ok)
{
	uint8_t b[6] = { 0x89, 0xfd, 0, 0, 0, 0 };
	uint8_t c[6] = { 0x00, 0x80, 0, 0, 0, 0 };   /* continuation */

	ck_assert_int_eq(ws_frame_parse(b, 6, 1024, &fr), WS_FRAME_OK);
	ck_assert_uint_eq(fr.payload_len, 125);
	ck_assert_int_eq(ws_frame_parse(c, 6, 1024, &fr), WS_FRAME_OK);
	ck_assert_int_eq(fr.fin, 0);
	ck_assert_int_eq(fr.opcode, WS_OP_CONT);
}
END_TEST

START_TEST(server_control_frames)
{
	uint8_t out[130], big[200];
	size_t n;

	n = ws_control_frame(out, WS_OP_CLOSE, 1001, (const uint8_t *)"bye", 3);
	ck_assert_uint_eq(n, 7);
	ck_assert(memcmp(out, "\x88\x05\x03\xe9" "bye", 7) == 0);
	n = ws_control_frame(out, WS_OP_CLOSE, 0, (const uint8_t *)"x", 1);
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(out, "\x88\x00", 2) == 0);
	n = ws_control_frame(out, WS_OP_PONG, 0, (const uint8_t *)"abc", 3);
	ck_assert_uint_eq(n, 5);
	ck_assert(memcmp(out, "\x8a\x03" "abc", 5) == 0);
	n = ws_control_frame(out, WS_OP_PING, 0, NULL, 0);
	ck_assert(n == 2 && out[0] == 0x89 && out[1] == 0);
	memset(big, 'a', sizeof(big));
	n = ws_control_frame(out, WS_OP_PING, 0, big, sizeof(big));
	ck_assert_uint_eq(n, 127);
	ck_assert_int_eq(out[1], 125);
	n = ws_control_frame(out, WS_OP_CLOSE, 1000, big, sizeof(big));
	ck_assert_uint_eq(n, 127);
	ck_assert_int_eq(out[1], 125);
}
END_TEST

static uint16_t
close_with(unsigned code, const char *reason, size_t rlen)
{
	uint8_t p[130];

	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	memcpy(p + 2, reason, rlen);
	return ws_close_check(p, 2 + rlen);
}

START_TEST(close_codes)
{
	static const unsigned ok[] = { 1000, 1001, 1002, 1003, 1007, 1008,
	    1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
	static const unsigned bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
	    2000, 2999, 5000, 65535 };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_uint_eq(close_with(ok[i], "", 0), ok[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(close_with(bad[i], "", 0) == WS_CLOSE_PROTOCOL,
		    "code %u", bad[i]);
	ck_assert_uint_eq(ws_close_check(NULL, 0), WS_CLOSE_NORMAL);
	ck_assert_uint_eq(ws_close_check((const uint8_t *)"\x03", 1),
	    WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(close_reason_utf8)
{
	ck_assert_uint_eq(close_with(1000, "caf\xc3\xa9", 5), 1000);
	ck_assert_uint_eq(close_with(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83", 7),
	    1000);
	ck_assert_uint_eq(close_with(1000, "\xc3", 1), WS_CLOSE_BAD_DATA);
	ck_assert_uint_eq(close_with(1001, "a\xff" "b", 3), WS_CLOSE_BAD_DATA);
	ck_assert_uint_eq(close_with(1000, "\xed\xa0\x80", 3),
	    WS_CLOSE_BAD_DATA);
}
END_TEST

Suite *ws_suite(void);

Suite *
ws_suite(void)
{
	Suite *s = suite_create("ws");
	TCase *tc = tcase_create("handshake");

	tcase_add_test(tc, rfc6455_example_accept);
	tcase_add_test(tc, upgrade_tokens_case_insensitive);
	tcase_add_test(tc, plain_http_is_not_upgrade);
	tcase_add_test(tc, requires_get);
	tcase_add_test(tc, requires_http11_and_connection_upgrade);
	tcase_add_test(tc, version_must_be_13);
	tcase_add_test(tc, key_must_be_16_bytes_base64);
	suite_add_tcase(s, tc);
	tc = tcase_create("frames");
	tcase_add_test(tc, parses_masked_text_frame);
	tcase_add_test(tc, unmask_with_offset);
	tcase_add_test(tc, extended_lengths);
	tcase_add_test(tc, over_max_payload_is_too_big);
	tcase_add_test(tc, protocol_errors);
	tcase_add_test(tc, control_frame_125_ok);
	tcase_add_test(tc, server_control_frames);
	tcase_add_test(tc, close_codes);
	tcase_add_test(tc, close_reason_utf8);
	suite_add_tcase(s, tc);
	return s;
}
