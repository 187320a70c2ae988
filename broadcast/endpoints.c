/*
 * Plain HTTP answers of a worker: the response framing every answer uses
 * (status line, headers, JSON errors) and the dispatch of a request to its
 * answer by the route table (routes.c). Nothing here is on the streaming
 * path.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "broadcast/endpoints_priv.h"
#include "broadcast/routes.h"
#include "broadcast/static.h"

static const char *
ep_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* The status line and headers of a len-byte answer. */
static int
send_head(struct evbuffer *out, int status, const char *ctype, size_t len,
    const char *extra)
{
	return evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Access-Control-Allow-Origin: *\r\n"
	    "Connection: close\r\n%s\r\n", status, ep_reason(status), ctype,
	    len, extra != NULL ? extra : "") < 0 ? -1 : 0;
}

/* Status line, headers, then body[0..len) unless head_only. */
int
ep_send(struct evbuffer *out, int status, const char *ctype,
    const void *body, size_t len, const char *extra, int head_only)
{
	if (send_head(out, status, ctype, len, extra) == -1)
		return -1;
	if (!head_only && len > 0 && evbuffer_add(out, body, len) == -1)
		return -1;
	return status;
}

/* Move body into out behind a head. */
int
ep_send_buf(struct evbuffer *out, int status, const char *ctype,
    struct evbuffer *body, const char *extra, int head_only)
{
	size_t len = evbuffer_get_length(body);

	if (send_head(out, status, ctype, len, extra) == -1)
		return -1;
	if (!head_only && evbuffer_add_buffer(out, body) == -1)
		return -1;
	return status;
}

int
endpoints_error(struct evbuffer *out, int status, const char *msg,
    const char *extra, int head_only)
{
	json_object *o = json_object_new_object();
	const char *s;
	char *body = NULL;
	int rc = -1;

	if (o == NULL || json_object_object_add(o, "error",
	    json_object_new_string(msg)) != 0)
		goto cleanup;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (s == NULL || asprintf(&body, "%s\n", s) == -1) {
		body = NULL;
		goto cleanup;
	}
	rc = ep_send(out, status, "application/json", body, strlen(body),
	    extra, head_only);
cleanup:
	free(body);
	json_object_put(o);
	return rc;
}

static int
ep_is(const struct http_str *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->p, lit, n) == 0;
}

/* A stream's path asked without its upgrade. */
int
ep_upgrade_required(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only)
{
	(void)w;
	(void)req;
	return endpoints_error(out, 426, "WebSocket upgrade required",
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n", head_only);
}

int
endpoints_respond(struct wctx *w, const struct http_request *req,
    const char *path, struct evbuffer *out)
{
	const struct config *cfg = w->cfg;
	int get = ep_is(&req->method, "GET"), head = ep_is(&req->method, "HEAD");
	const struct static_file *page = static_find(path);
	const struct route *r = routes_find(path);

	if (page == NULL && (r == NULL || !routes_enabled(r, cfg)))
		return endpoints_error(out, 404, "not found", NULL, head);
	if (ep_is(&req->method, "OPTIONS"))
		return ep_send(out, 200, "text/plain", NULL, 0,
		    "Allow: GET, HEAD, OPTIONS\r\n"
		    "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"
		    "Access-Control-Allow-Headers: *\r\n"
		    "Access-Control-Max-Age: 86400\r\n", 1);
	if (!get && !head)
		return endpoints_error(out, 405, "method not allowed",
		    "Allow: GET, HEAD, OPTIONS\r\n", 0);

	if (page != NULL)   /* the index page's files (static.c) */
		return static_respond(page, req, out, head);
	/* A stream only on GET (/sse; a GET was routed to it before). */
	if (r->respond == NULL || !(r->methods & (get ? ROUTE_GET : ROUTE_HEAD)))
		return endpoints_error(out, 405, "method not allowed",
		    (r->methods & ROUTE_HEAD) ? "Allow: GET, HEAD\r\n" :
		    "Allow: GET\r\n", head);
	return r->respond(w, req, out, head);
}
