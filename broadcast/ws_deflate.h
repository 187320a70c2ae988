/*
 * WebSocket permessage-deflate (RFC 7692) negotiation for the server's
 * shared compressed streams (shm/ring_deflate.h). Pure: no I/O, no logging.
 *
 * The server can honour an offer only if it may keep its compression
 * context across messages (no server_no_context_takeover) with a 32 KiB
 * window (server_max_window_bits absent or 15): every client of a form
 * gets the very same compressed bytes. The client's own parameters are
 * accepted as they come: the server never inflates what a client sends.
 */
#ifndef BROADCAST_WS_DEFLATE_H
#define BROADCAST_WS_DEFLATE_H

#include <stddef.h>

#include "broadcast/http.h"
#include "broadcast/ws.h"

#define WS_DEFLATE_RESP_MAX 64

/*
 * Look at every Sec-WebSocket-Extensions header of req, offers in order:
 * the first permessage-deflate offer that is well formed and that the
 * server can honour is accepted. Returns 1 and writes the response's
 * extension value into resp (NUL-terminated), or 0: no extension.
 */
int ws_deflate_negotiate(const struct http_request *req,
    char resp[WS_DEFLATE_RESP_MAX]);

/*
 * ws_frame_parse for a client that negotiated permessage-deflate: RSV1 may
 * mark the first frame of a text or binary message as compressed (RFC 7692
 * §6.1; *z set, else cleared). On a continuation or control frame, or
 * with RSV2/RSV3, it is still a protocol error.
 */
enum ws_frame_result ws_deflate_frame_parse(const uint8_t *buf, size_t len,
    uint64_t max_payload, struct ws_frame *f, int *z);

#endif
