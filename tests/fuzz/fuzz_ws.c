/*
 * Fuzz target: the WebSocket client-frame parser as the worker drives it.
 * The input is a byte stream of client frames; each frame is parsed, its
 * payload unmasked (in two pieces, as partial reads would), close payloads
 * checked and text payloads validated, then the next frame. Invariants:
 * - OK means header_len in 6..14, masked, payload_len <= max_payload, a
 *   control frame FIN and <= 125 bytes, a known opcode;
 * - a header parsed OK parses the same from exactly header_len bytes, and
 *   INCOMPLETE from fewer;
 * - unmasking twice restores the payload;
 * - UTF-8 fed in two pieces gives the verdict of one piece;
 * - ws_close_check returns a code valid on the wire or 1002/1007;
 * - ws_control_frame never writes more than 127 bytes.
 * The first byte picks max_payload so the TOO_BIG path is reached too.
 */
#include <string.h>

#include "broadcast/ws.h"
#include "common/utf8.h"
#include "tests/fuzz/fuzz.h"

static uint8_t payload[1 << 16];

static void
check_frame(const uint8_t *buf, size_t len, uint64_t max, struct ws_frame *f)
{
	struct ws_frame g;
	size_t half, n;
	uint8_t out[140];
	uint16_t code;

	FUZZ_CHECK(f->header_len >= 6 && f->header_len <= 14);
	FUZZ_CHECK(f->masked && f->payload_len <= max);
	if (f->opcode & 8)
		FUZZ_CHECK(f->fin && f->payload_len <= 125);
	FUZZ_CHECK(f->opcode <= 2 || (f->opcode >= 8 && f->opcode <= 10));
	FUZZ_CHECK(ws_frame_parse(buf, f->header_len, max, &g) == WS_FRAME_OK &&
	    g.payload_len == f->payload_len);
	FUZZ_CHECK(ws_frame_parse(buf, f->header_len - 1, max, &g) ==
	    WS_FRAME_INCOMPLETE);
	if (len - f->header_len < f->payload_len)
		return;
	n = (size_t)f->payload_len;
	if (n > sizeof(payload))
		return;
	memcpy(payload, buf + f->header_len, n);
	half = n / 2;
	ws_unmask(payload, half, f->mask, 0);
	ws_unmask(payload + half, n - half, f->mask, half);
	if (f->opcode == WS_OP_CLOSE) {
		code = ws_close_check(payload, n);
		FUZZ_CHECK((code >= 1000 && code <= 1003) ||
		    (code >= 1007 && code <= 1014) ||
		    (code >= 3000 && code <= 4999));
		FUZZ_CHECK(ws_control_frame(out, WS_OP_CLOSE, code,
		    n > 2 ? payload + 2 : NULL, n > 2 ? n - 2 : 0) <= 127);
	} else if (f->opcode == WS_OP_PING) {
		FUZZ_CHECK(ws_control_frame(out, WS_OP_PONG, 0, payload, n) ==
		    2 + n);
	} else if (f->opcode == WS_OP_TEXT) {
		/* split at half: same verdict as in one piece */
		uint32_t st = utf8_feed(UTF8_OK, payload, half);

		st = utf8_feed(st, payload + half, n - half);
		FUZZ_CHECK((st == UTF8_OK) == utf8_valid(payload, n));
	}
	ws_unmask(payload, n, f->mask, 0);
	FUZZ_CHECK(memcmp(payload, buf + f->header_len, n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t maxes[4] = { 125, 4096, 65536, UINT64_MAX };
	struct ws_frame f;
	enum ws_frame_result r;
	uint64_t max;
	size_t pos = 1;

	if (size < 1)
		return 0;
	max = maxes[data[0] & 3];
	while (pos < size) {
		r = ws_frame_parse(data + pos, size - pos, max, &f);
		if (r != WS_FRAME_OK)
			break;
		check_frame(data + pos, size - pos, max, &f);
		if (size - pos - f.header_len < f.payload_len)
			break;
		pos += f.header_len + (size_t)f.payload_len;
	}
	/* the UTF-8 validator on the raw bytes too */
	(void)utf8_valid(data, size);
	return 0;
}
