/*
 * WebSocket (RFC 6455) server side: handshake checks and the client-frame
 * parser. Pure: no I/O, no logging. Server frames for records are built by
 * the ring (ring_ws_header); control frames here.
 */
#ifndef BROADCAST_WS_H
#define BROADCAST_WS_H

#include <stddef.h>
#include <stdint.h>

#include "broadcast/http.h"

#define WS_OP_CONT 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9
#define WS_OP_PONG 0xA

#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_UNSUPPORTED 1003
#define WS_CLOSE_BAD_DATA 1007
#define WS_CLOSE_POLICY 1008
#define WS_CLOSE_TOO_BIG 1009
#define WS_CLOSE_INTERNAL 1011

enum ws_handshake_result {
	WS_HS_OK = 0,
	WS_HS_NOT_UPGRADE = 1,      /* plain HTTP request: serve it as such */
	WS_HS_BAD_METHOD = -1,      /* 405 */
	WS_HS_BAD_VERSION = -2,     /* 426 + Sec-WebSocket-Version: 13 */
	WS_HS_BAD_KEY = -3,         /* 400 */
	WS_HS_BAD_REQUEST = -4,     /* 400: Upgrade without Connection: upgrade, HTTP/1.0 ... */
};

/* Check an upgrade request; on WS_HS_OK accept (29 bytes + NUL) holds the
 * Sec-WebSocket-Accept value. */
enum ws_handshake_result ws_handshake_check(const struct http_request *req,
    char accept[32]);

struct ws_frame {
	int fin;
	int opcode;
	int masked;
	uint8_t mask[4];
	uint64_t payload_len;
	size_t header_len;          /* bytes before the payload */
};

enum ws_frame_result {
	WS_FRAME_OK = 0,            /* header parsed (payload may not be all here) */
	WS_FRAME_INCOMPLETE = 1,
	WS_FRAME_ERR_PROTOCOL = -1, /* close 1002: reserved bits/opcodes, unmasked, bad control frame */
	WS_FRAME_ERR_TOO_BIG = -2,  /* close 1009: over max_payload */
};

/* Parse one client frame header from buf. Client frames must be masked;
 * control frames must be FIN and <= 125 bytes. */
enum ws_frame_result ws_frame_parse(const uint8_t *buf, size_t len,
    uint64_t max_payload, struct ws_frame *f);

/* Unmask payload in place; offset is the payload position of buf[0]. */
void ws_unmask(uint8_t *buf, size_t len, const uint8_t mask[4], uint64_t offset);

/* Build an unmasked server control frame (close/ping/pong) into out (>= 127
 * bytes). For close, code 0 means no status. Returns its length. */
size_t ws_control_frame(uint8_t *out, int opcode, uint16_t code,
    const uint8_t *payload, size_t payload_len);

/* Validate a client close payload (code range, UTF-8 reason). Returns the
 * code to echo, or WS_CLOSE_PROTOCOL / WS_CLOSE_BAD_DATA on error. */
uint16_t ws_close_check(const uint8_t *payload, size_t len);

#endif
