/*
 * The plain HTTP answers of a worker: the index page, health, metrics, the
 * newest records as JSON, JSON errors; which path gets which is the route
 * table's (routes.h). Each answer is a whole response (status line,
 * headers, body) appended to an evbuffer; the connection is closed after
 * it.
 */
#ifndef BROADCAST_ENDPOINTS_H
#define BROADCAST_ENDPOINTS_H

#include "broadcast/http.h"
#include "broadcast/worker_ctx.h"

struct evbuffer;

/*
 * Answer req, whose normalised path is path, by its route's handler (404
 * for no route or one switched off). Streams (WebSocket, SSE) are routed
 * before this; a WebSocket path reached here without an upgrade gets 426.
 * Returns the status code written.
 */
int endpoints_respond(struct wctx *w, const struct http_request *req,
    const char *path, struct evbuffer *out);

/* {"error": msg} with status; extra is more header lines ("K: v\r\n") or
 * NULL. head_only omits the body (HEAD). Returns status, or -1 (no memory). */
int endpoints_error(struct evbuffer *out, int status, const char *msg,
    const char *extra, int head_only);

/* The bundled example message (a real certificate, lite form), for
 * /example.json before the first record. */
extern const char endpoints_example_json[];
extern const unsigned long endpoints_example_json_len;

#endif
