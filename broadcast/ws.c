/*
 * WebSocket (RFC 6455) server side: the opening-handshake checks, the
 * client-frame header parser, unmasking, server control frames and the
 * close payload check. Pure functions: the worker owns the connection
 * state (fragmentation, close handshake, timers).
 */
#include "broadcast/ws.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/base64.h"
#include "common/utf8.h"

/* RFC 6455 §1.3 */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/*
 * Sec-WebSocket-Key must be the base64 of 16 bytes (§4.1): exactly 22
 * alphabet characters then "==", and canonical (the bits the padding
 * drops are zero), so one nonce has one spelling.
 */
static int
key_valid(const struct http_str *key)
{
	uint8_t nonce[16];
	char again[BASE64_ENCODED_LEN(16) + 1];

	return key->len == 24 &&
	    base64_decode(key->p, 24, nonce, sizeof(nonce)) == 16 &&
	    base64_encode(again, nonce, sizeof(nonce)) == 24 &&
	    memcmp(again, key->p, 24) == 0;
}

/* How many headers called name? (Key and Version must appear once.) */
static int
header_count(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);
	int i, c = 0;

	for (i = 0; i < req->nheaders; i++)
		if (req->headers[i].name.len == n &&
		    strncasecmp(req->headers[i].name.p, name, n) == 0)
			c++;
	return c;
}

/*
 * Order of checks: a request that does not ask for websocket is plain
 * HTTP, unless it carries WebSocket headers (a broken client: 400). Then
 * method (405), HTTP/1.1 and Connection: upgrade (400), version (426),
 * key (400).
 */
enum ws_handshake_result
ws_handshake_check(const struct http_request *req, char accept[32])
{
	const struct http_str *up, *conn, *ver, *key;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[24 + sizeof(ws_guid)];

	accept[0] = '\0';
	up = http_header_get(req, "upgrade");
	key = http_header_get(req, "sec-websocket-key");
	ver = http_header_get(req, "sec-websocket-version");
	if (up == NULL || !http_header_has_token(up, "websocket")) {
		if (key != NULL || ver != NULL)
			return WS_HS_BAD_REQUEST;
		return WS_HS_NOT_UPGRADE;
	}
	if (req->method.len != 3 || memcmp(req->method.p, "GET", 3) != 0)
		return WS_HS_BAD_METHOD;
	if (req->version_minor != 1)
		return WS_HS_BAD_REQUEST;
	conn = http_header_get(req, "connection");
	if (conn == NULL || !http_header_has_token(conn, "upgrade"))
		return WS_HS_BAD_REQUEST;
	if (ver == NULL || header_count(req, "sec-websocket-version") != 1 ||
	    ver->len != 2 || memcmp(ver->p, "13", 2) != 0)
		return WS_HS_BAD_VERSION;
	if (key == NULL || header_count(req, "sec-websocket-key") != 1 ||
	    !key_valid(key))
		return WS_HS_BAD_KEY;

	memcpy(buf, key->p, 24);
	memcpy(buf + 24, ws_guid, sizeof(ws_guid) - 1);
	if (EVP_Digest(buf, 24 + sizeof(ws_guid) - 1, md, &mdlen, EVP_sha1(),
	    NULL) != 1 || mdlen != 20)
		return WS_HS_BAD_REQUEST;
	/* 20 bytes -> 28 base64 characters + NUL */
	base64_encode(accept, md, 20);
	return WS_HS_OK;
}

enum ws_frame_result
ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max_payload,
    struct ws_frame *f)
{
	uint64_t plen;
	size_t hlen;
	int control, i;

	memset(f, 0, sizeof(*f));
	if (len < 1)
		return WS_FRAME_INCOMPLETE;
	/* First byte alone can already be refused. No extension is
	 * negotiated, so every RSV bit must be zero (§5.2). */
	if (buf[0] & 0x70)
		return WS_FRAME_ERR_PROTOCOL;
	f->fin = (buf[0] & 0x80) != 0;
	f->opcode = buf[0] & 0x0f;
	switch (f->opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		return WS_FRAME_ERR_PROTOCOL;
	}
	control = (f->opcode & 0x08) != 0;
	if (control && !f->fin)
		return WS_FRAME_ERR_PROTOCOL;
	if (len < 2)
		return WS_FRAME_INCOMPLETE;
	f->masked = (buf[1] & 0x80) != 0;
	if (!f->masked)
		return WS_FRAME_ERR_PROTOCOL;   /* §5.1: client frames are masked */
	plen = buf[1] & 0x7f;
	if (control && plen > 125)
		return WS_FRAME_ERR_PROTOCOL;
	hlen = 2;
	if (plen == 126) {
		if (len < 4)
			return WS_FRAME_INCOMPLETE;
		plen = (uint64_t)buf[2] << 8 | buf[3];
		hlen = 4;
		if (plen < 126)
			return WS_FRAME_ERR_PROTOCOL;   /* not minimal (§5.2) */
	} else if (plen == 127) {
		if (len < 10)
			return WS_FRAME_INCOMPLETE;
		if (buf[2] & 0x80)
			return WS_FRAME_ERR_PROTOCOL;   /* MSB must be 0 */
		plen = 0;
		for (i = 2; i < 10; i++)
			plen = plen << 8 | buf[i];
		hlen = 10;
		if (plen <= 0xffff)
			return WS_FRAME_ERR_PROTOCOL;   /* not minimal */
	}
	if (plen > max_payload)
		return WS_FRAME_ERR_TOO_BIG;
	f->payload_len = plen;
	if (len < hlen + 4)
		return WS_FRAME_INCOMPLETE;
	memcpy(f->mask, buf + hlen, 4);
	f->header_len = hlen + 4;
	return WS_FRAME_OK;
}

void
ws_unmask(uint8_t *buf, size_t len, const uint8_t mask[4], uint64_t offset)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] ^= mask[(offset + i) & 3];
}

size_t
ws_control_frame(uint8_t *out, int opcode, uint16_t code,
    const uint8_t *payload, size_t payload_len)
{
	size_t n = 0;

	out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (opcode == WS_OP_CLOSE && code != 0) {
		if (payload_len > 123)
			payload_len = 123;
		out[2] = (uint8_t)(code >> 8);
		out[3] = (uint8_t)(code & 0xff);
		n = 2;
	} else if (opcode == WS_OP_CLOSE) {
		payload_len = 0;        /* no status, no reason (§5.5.1) */
	} else if (payload_len > 125) {
		payload_len = 125;
	}
	if (payload_len > 0)
		memcpy(out + 2 + n, payload, payload_len);
	n += payload_len;
	out[1] = (uint8_t)n;
	return 2 + n;
}

/*
 * Close codes a peer may send (§7.4.1, IANA registry): 1000-1003,
 * 1007-1014, and 3000-4999 for libraries and applications. 1004 is
 * reserved, 1005/1006/1015 are never sent on the wire, everything below
 * 1000 and the unassigned rest is refused.
 */
static int
close_code_valid(unsigned code)
{
	if (code >= 1000 && code <= 1003)
		return 1;
	if (code >= 1007 && code <= 1014)
		return 1;
	return code >= 3000 && code <= 4999;
}

uint16_t
ws_close_check(const uint8_t *payload, size_t len)
{
	unsigned code;

	if (len == 0)
		return WS_CLOSE_NORMAL;     /* no status: answer 1000 */
	if (len == 1 || len > 125)
		return WS_CLOSE_PROTOCOL;
	code = (unsigned)payload[0] << 8 | payload[1];
	if (!close_code_valid(code))
		return WS_CLOSE_PROTOCOL;
	if (!utf8_valid(payload + 2, len - 2))
		return WS_CLOSE_BAD_DATA;
	return (uint16_t)code;
}
