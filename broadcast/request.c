/*
 * A client's request: read the head (incrementally), route it, and start
 * what it asked for: a WebSocket or SSE stream (where it resumes, its
 * filter) or one plain answer (endpoints.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "broadcast/auth.h"
#include "broadcast/client_priv.h"
#include "broadcast/endpoints.h"
#include "broadcast/routes.h"
#include "broadcast/sse.h"
#include "broadcast/sse_gzip.h"
#include "broadcast/worker.h"
#include "broadcast/ws.h"
#include "common/log.h"
#include "shm/ring.h"
#include "shm/ring_deflate.h"

int
client_start_stream(struct client *c, int proto, int stream)
{
	c->state = CS_STREAM;
	c->proto = (uint8_t)proto;
	c->stream = (uint8_t)stream;
	c->since = wctx_clock(c->w);
	free(c->head);
	c->head = NULL;
	client_count(c, 1);
	return client_write(c);
}

/*
 * The id a stream resumes after: ?since=, else a Last-Event-ID header,
 * else ?lastEventId= (what an EventSource polyfill sends). 1 with *last
 * set; 0 none (an unparsable header is ignored, as browsers send what
 * they got); -1 a since that is not an id.
 */
int
client_resume_id(const struct http_request *req, uint64_t *last)
{
	const struct http_str *h;
	char val[64];
	long n;

	n = http_query_get(&req->query, "since", val, sizeof(val));
	if (n >= 0)
		return sse_parse_last_event_id(val, (size_t)n, last) == 0 ?
		    1 : -1;
	h = http_header_get(req, "last-event-id");
	if (h != NULL && sse_parse_last_event_id(h->p, h->len, last) == 0)
		return 1;
	n = http_query_get(&req->query, "lastEventId", val, sizeof(val));
	if (n >= 0 && sse_parse_last_event_id(val, (size_t)n, last) == 0)
		return 1;
	return 0;
}

/*
 * Where a stream that resumes after record id `last` starts, the same for
 * SSE and WebSocket: right after it while the ring holds it; live if that
 * id is not issued yet; if it is gone, at the newest record, after a gap
 * notice (client_gap; SSE also gets the skipped comment). Ids only grow,
 * across restarts too, but are not dense across them (segment.c): a gap
 * that reaches back before this ring's first id counts only the records
 * this ring issued, and is told even if that is none, since records of
 * the earlier run may be lost.
 */
void
client_resume(struct client *c, uint64_t last)
{
	struct wctx *w = c->w;
	uint64_t head, tail, first, next, from, skipped;
	char buf[SSE_SKIPPED_MAX];
	size_t len;

	head = ring_head(w->seg);
	tail = ring_tail(w->seg);
	first = w->seg->ctl->first_seq;
	c->cursor = head;
	if (last == UINT64_MAX)
		return;
	next = last + 1;
	if (next >= tail && next <= head) {
		c->cursor = next;
		return;
	}
	if (next > head)
		return;
	c->cursor = head > tail ? head - 1 : head;
	from = next > first ? next : first;
	skipped = c->cursor > from ? c->cursor - from : 0;
	client_gap(c, skipped, next, c->cursor - 1);
	if (skipped == 0)
		return;
	wstat_add(&w->st->skipped, skipped);
	if (c->proto == SP_SSE) {
		len = sse_skipped_comment(buf, sizeof(buf), skipped);
		if (len > 0)
			(void)client_ctl_add(c, buf, len);
	}
}

/* The request's filter into c->filter. 0; 1 a bad one was answered; -1
 * c was closed. */
int
client_filter(struct client *c, const struct http_request *req)
{
	int st;

	if ((c->out = evbuffer_new()) == NULL) {
		log_warnx("%s: evbuffer_new", __func__);
		client_close(c);
		return -1;
	}
	st = filter_sel_open(&c->filter, c->w->filters, c->w->cfg, &req->query,
	    c->out);
	if (st == 0) {
		evbuffer_free(c->out);
		c->out = NULL;
		worker_filters_soon(c->w);
		return 0;
	}
	if (st < 0) {
		log_warnx("%s: no memory for a filter", __func__);
		client_close(c);
		return -1;
	}
	return client_answer(c, st, NULL, NULL) == -1 ? -1 : 1;
}

static int
client_start_sse(struct client *c, const struct http_request *req)
{
	struct wctx *w = c->w;
	char buf[SSE_HEAD_MAX], val[32];
	uint64_t last = 0;
	int stream = RV_LITE, r, f;
	long n;
	size_t len;

	n = http_query_get(&req->query, "stream", val, sizeof(val));
	if (n >= 0) {
		if (strcmp(val, "lite") == 0)
			stream = RV_LITE;
		else if (strcmp(val, "full") == 0)
			stream = RV_FULL;
		else if (strcmp(val, "domains") == 0)
			stream = RV_DOMAINS;
		else
			return client_answer(c, 400,
			    "stream must be lite, full or domains", NULL);
	}
	if ((r = client_resume_id(req, &last)) == -1)
		return client_answer(c, 400, "since must be a record id", NULL);
	if ((f = client_filter(c, req)) != 0)
		return f == -1 ? -1 : 0;
	n = http_query_get(&req->query, "unique", val, sizeof(val));
	if (n >= 0 && (strcmp(val, "1") == 0 || strcmp(val, "true") == 0))
		c->flags |= CF_UNIQUE;
	c->proto = SP_SSE;
	/* Before any byte of the body (client_resume's comment too). */
	c->z_next = UINT64_MAX;        /* in step only from a keyframe */
	if (w->cfg->compression.enabled && c->filter.g == NULL &&
	    !(c->flags & CF_UNIQUE) && sse_gzip_accepted(req)) {
		c->flags |= CF_GZIP;
		ring_deflate_want(w->seg, stream, SP_SSE, ring_deflate_now_ms());
	}
	c->cursor = ring_head(w->seg);
	if (r == 1)
		client_resume(c, last);
	wstat_add(&w->st->http_requests, 1);
	len = (c->flags & CF_GZIP) ? sse_gzip_head(buf, sizeof(buf)) :
	    sse_response_head(buf, sizeof(buf), 0);
	if ((c->out = evbuffer_new()) == NULL ||
	    evbuffer_add(c->out, buf, len) == -1) {
		log_warnx("%s: evbuffer", __func__);
		client_close(c);
		return -1;
	}
	return client_start_stream(c, SP_SSE, stream);
}

static int
client_unauthorized(struct client *c)
{
	wstat_add(&c->w->st->auth_failures, 1);
	return client_answer(c, 401, "missing or invalid token",
	    "WWW-Authenticate: Bearer\r\n");
}

/* A complete request head is in c->head: decide what it gets. */
static int
client_route(struct client *c)
{
	struct wctx *w = c->w;
	const struct config *cfg = w->cfg;
	const struct http_request *req = &w->req;
	char path[256], accept[32];
	enum ws_handshake_result hs;
	const struct route *rt;
	int status;
	long plen;

	plen = http_path_normalize(&req->path, path, sizeof(path));
	if (plen < 0)
		return client_answer(c, 400, "bad request path", NULL);
	rt = routes_find(path);
	hs = ws_handshake_check(req, accept);
	if (hs != WS_HS_NOT_UPGRADE) {
		if (rt == NULL || !(rt->streams & ROUTE_UP_WS) ||
		    !routes_enabled(rt, cfg))
			return client_answer(c, 404, "not found", NULL);
		if (!auth_allowed(cfg, req, AUTH_STREAM))
			return client_unauthorized(c);
		switch (hs) {
		case WS_HS_OK:
			return client_start_ws(c, req, (int)rt->stream, accept,
			    c->head->text + req->head_len,
			    c->head->len - req->head_len);
		case WS_HS_BAD_METHOD:
			return client_answer(c, 405, "method not allowed",
			    "Allow: GET\r\n");
		case WS_HS_BAD_VERSION:
			return client_answer(c, 426, "unsupported WebSocket version",
			    "Sec-WebSocket-Version: 13\r\n");
		case WS_HS_BAD_KEY:
			return client_answer(c, 400, "bad Sec-WebSocket-Key", NULL);
		default:
			return client_answer(c, 400, "bad WebSocket upgrade", NULL);
		}
	}
	if (!auth_allowed(cfg, req, rt != NULL ? rt->scope : AUTH_OPEN) &&
	    !(req->method.len == 7 && memcmp(req->method.p, "OPTIONS", 7) == 0))
		return client_unauthorized(c);
	if (rt != NULL && (rt->streams & ROUTE_UP_SSE) &&
	    routes_enabled(rt, cfg) &&
	    req->method.len == 3 && memcmp(req->method.p, "GET", 3) == 0)
		return client_start_sse(c, req);

	if ((c->out = evbuffer_new()) == NULL) {
		log_warnx("%s: evbuffer_new", __func__);
		client_close(c);
		return -1;
	}
	status = endpoints_respond(w, req, path, c->out);
	if (status < 0) {
		client_close(c);
		return -1;
	}
	return client_answer(c, status, NULL, NULL);
}

int
client_read_head(struct client *c)
{
	struct wctx *w = c->w;
	struct client_head *h;
	size_t max;
	int i;

	if (c->head == NULL) {
		size_t cap = w->cfg->server.max_header_bytes;

		if ((c->head = malloc(sizeof(*c->head) + cap + 1)) == NULL) {
			log_warn("%s: malloc(%zu)", __func__, cap + 1);
			client_close(c);
			return -1;
		}
		memset(c->head, 0, sizeof(*c->head));
		c->head->cap = (uint32_t)cap;
	}
	h = c->head;
	max = h->cap;
	for (i = 0; i < CLIENT_READS_PER_TURN; i++) {
		enum http_parse_result r;
		ssize_t n;

		if (h->len >= max)
			return client_answer(c, 431, "request head too large",
			    NULL);
		n = client_recv(c, h->text + h->len, max - h->len);
		if (n == 0 || (n < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR)) {
			client_close(c);
			return -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		h->len += (uint32_t)n;
		c->last_rx = wctx_clock(w);
		r = http_parse_resume(&h->hp, h->text, h->len, max,
		    &w->req);
		switch (r) {
		case HTTP_PARSE_OK:
			return client_route(c);
		case HTTP_PARSE_INCOMPLETE:
			break;
		case HTTP_PARSE_TOO_LARGE:
			return client_answer(c, 431, "request head too large",
			    NULL);
		case HTTP_PARSE_BAD_VERSION:
			return client_answer(c, 505, "HTTP version not supported",
			    NULL);
		default:
			return client_answer(c, 400, "bad request", NULL);
		}
	}
	return 0;
}
