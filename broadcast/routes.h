/*
 * The worker's route table: every path a client may ask for, written once.
 * A row says what switches the path on (protocols.*), which methods its
 * plain answer takes, the auth scope of a plain request, how it streams
 * (a WebSocket upgrade to one form; SSE on GET) and the handler of its
 * plain answer. The request router (request.c) and the plain answers
 * (endpoints.c) both read it. The index page's files are static.c's.
 */
#ifndef BROADCAST_ROUTES_H
#define BROADCAST_ROUTES_H

#include "broadcast/auth.h"
#include "broadcast/http.h"
#include "broadcast/worker_ctx.h"
#include "common/config.h"
#include "common/forms.h"

struct evbuffer;

/* Methods of a row's plain answer (OPTIONS is answered for every row). */
#define ROUTE_GET 0x01
#define ROUTE_HEAD 0x02

/* How a row streams. */
#define ROUTE_UP_WS 0x01        /* a WebSocket upgrade: form `stream` */
#define ROUTE_UP_SSE 0x02       /* a GET: Server-Sent Events (?stream=) */

/* The protocols.* switch a row needs. */
enum route_need {
	ROUTE_NEED_WEBSOCKET, ROUTE_NEED_SSE, ROUTE_NEED_HEALTH,
	ROUTE_NEED_METRICS, ROUTE_NEED_EXAMPLE_JSON,
};

/* A plain answer: the whole response into out (no body if head_only).
 * Returns the status written, or -1 (no memory). */
typedef int (*route_fn)(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only);

struct route {
	const char *path;
	enum route_need need;
	unsigned methods;       /* ROUTE_GET | ROUTE_HEAD */
	enum auth_scope scope;  /* of a plain request; every stream (upgrade
	                         * or SSE) asks AUTH_STREAM */
	unsigned streams;       /* ROUTE_UP_WS | ROUTE_UP_SSE */
	enum ring_variant stream;       /* ROUTE_UP_WS: the form it streams */
	route_fn respond;       /* NULL: no plain answer (405) */
};

/* The row of a normalised path, or NULL. */
const struct route *routes_find(const char *path);

/* Is the row switched on in cfg? */
int routes_enabled(const struct route *r, const struct config *cfg);

#endif
