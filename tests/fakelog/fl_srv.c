#include "tests/fakelog/fl_srv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "tests/fakelog/fl_ctl.h"
#include "tests/fakelog/fl_gzip.h"

#define TILE_W 256

/* A request held open by a fault: timeout, 2 GiB Content-Length that never
 * arrives, or an endless body. Freed by the timer or by the connection's
 * close callback, whichever comes first. */
struct hold {
	struct fl_srv *s;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	struct event *ev;
	int kind;
	uint64_t sent;
};

static void
hold_free(struct hold *h)
{
	if (h->conn)
		evhttp_connection_set_closecb(h->conn, NULL, NULL);
	if (h->ev)
		event_free(h->ev);
	free(h);
}

static void
hold_closed(struct evhttp_connection *conn, void *arg)
{
	struct hold *h = arg;

	(void)conn;
	/* libevent detaches a request whose reply was never finished from its
	 * dying connection and leaves it to us to free. */
	if (evhttp_request_get_connection(h->req) == NULL)
		evhttp_request_free(h->req);
	h->conn = NULL;
	hold_free(h);
}

static void
hold_expired(evutil_socket_t fd, short what, void *arg)
{
	struct hold *h = arg;
	struct evhttp_connection *conn = h->conn;
	struct evhttp_request *req = h->req;
	int kind = h->kind;

	(void)fd;
	(void)what;
	hold_free(h);
	if (kind == FL_F_TIMEOUT)
		evhttp_send_error(req, 504, "held by fault");
	else if (conn)
		evhttp_connection_free(conn);
}

static void endless_more(struct evhttp_connection *conn, void *arg);

static int
hold_start(struct fl_srv *s, struct evhttp_request *req, int kind)
{
	struct hold *h = calloc(1, sizeof(*h));
	struct timeval tv = { s->hold_secs, 0 };

	if (h == NULL)
		return -1;
	h->s = s;
	h->req = req;
	h->kind = kind;
	h->conn = evhttp_request_get_connection(req);
	if ((h->ev = evtimer_new(s->base, hold_expired, h)) == NULL) {
		free(h);
		return -1;
	}
	evhttp_connection_set_closecb(h->conn, hold_closed, h);
	evtimer_add(h->ev, &tv);
	if (kind == FL_F_BIGCL) {
		struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
		struct evbuffer *b = evbuffer_new();

		evhttp_add_header(oh, "Content-Type", "application/json");
		evhttp_add_header(oh, "Content-Length", "2147483648");
		evhttp_send_reply_start(req, 200, "OK");
		s->cur.status = 200;
		if (b) {
			evbuffer_add_printf(b, "{\"entries\":[");
			evhttp_send_reply_chunk(req, b);
			evbuffer_free(b);
		}
	} else if (kind == FL_F_ENDLESS) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "application/json");
		evhttp_send_reply_start(req, 200, "OK");
		s->cur.status = 200;
		endless_more(NULL, h);
	}
	return 0;
}

/* Each time a chunk is written, queue the next: the body never ends. */
static void
endless_more(struct evhttp_connection *conn, void *arg)
{
	struct hold *h = arg;
	struct evbuffer *b = evbuffer_new();
	static char chunk[16384];

	(void)conn;
	if (b == NULL)
		return;
	if (chunk[0] == '\0')
		for (size_t i = 0; i + 1 < sizeof(chunk); i += 2)
			memcpy(chunk + i, "0,", 2);
	if (h->sent == 0)
		evbuffer_add(b, "{\"entries\":[", 12);
	evbuffer_add(b, chunk, sizeof(chunk) - 1);
	h->sent += evbuffer_get_length(b);
	evhttp_send_reply_chunk_with_cb(h->req, b, endless_more, h);
	evbuffer_free(b);
}

struct fl_log *
fl_srv_find_log(struct fl_srv *s, const char *name, size_t len)
{
	for (int i = 0; i < s->nlogs; i++)
		if (strlen(s->logs[i].name) == len &&
		    memcmp(s->logs[i].name, name, len) == 0)
			return &s->logs[i];
	return NULL;
}

void
fl_srv_send(struct fl_srv *s, struct evhttp_request *req, int code,
    const char *reason, struct evbuffer *body)
{
	s->cur.status = code;
	s->cur.bytes = body ? evbuffer_get_length(body) : 0;
	evhttp_send_reply(req, code, reason, body);
}

void
fl_srv_error(struct fl_srv *s, struct evhttp_request *req, int code,
    const char *msg)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	if (b)
		evbuffer_add_printf(b, "{\"error\":\"%s\"}", msg);
	fl_srv_send(s, req, code, msg, b);
	if (b)
		evbuffer_free(b);
}

/* A Range header over a body of len bytes: "bytes=A-", "bytes=A-B" or
 * "bytes=-N". 1 with the inclusive span in *a, *b; 0 to ignore it (none,
 * several ranges, malformed: RFC 9110 lets a server send the whole body);
 * -1 if no byte of it is in the body. */
static int
parse_range(const char *h, size_t len, uint64_t *a, uint64_t *b)
{
	unsigned long long x, y = ULLONG_MAX;
	char *end;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0)
		return 0;
	h += 6;
	errno = 0;
	if (*h == '-') {
		if (!isdigit((unsigned char)h[1]))
			return 0;
		y = strtoull(h + 1, &end, 10);
		if (*end || errno)
			return 0;
		if (y == 0 || len == 0)
			return -1;
		*a = y >= len ? 0 : len - y;
		*b = len - 1;
		return 1;
	}
	if (!isdigit((unsigned char)*h))
		return 0;
	x = strtoull(h, &end, 10);
	if (errno || *end != '-')
		return 0;
	h = end + 1;
	if (*h) {
		if (!isdigit((unsigned char)*h))
			return 0;
		y = strtoull(h, &end, 10);
		if (*end || errno || y < x)
			return 0;
	}
	if (x >= len)
		return -1;
	*a = x;
	*b = y >= len ? len - 1 : y;
	return 1;
}

/* Answers a Range request on an identity body: 206 with the span, or 416.
 * Returns 0 if there was no usable Range (the caller sends 200). */
static int
reply_range(struct fl_srv *s, struct evhttp_request *req,
    struct evbuffer *body)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Range");
	size_t len = evbuffer_get_length(body);
	struct evbuffer *part;
	uint64_t a, b;
	char cr[80];

	switch (parse_range(h, len, &a, &b)) {
	case 0:
		return 0;
	case -1:
		snprintf(cr, sizeof(cr), "bytes */%zu", len);
		evhttp_add_header(oh, "Content-Range", cr);
		fl_srv_send(s, req, 416, "Range Not Satisfiable", NULL);
		return 1;
	}
	if ((part = evbuffer_new()) == NULL)
		return 0;
	evbuffer_drain(body, (size_t)a);
	evbuffer_remove_buffer(body, part, (size_t)(b - a + 1));
	snprintf(cr, sizeof(cr), "bytes %llu-%llu/%zu", (unsigned long long)a,
	    (unsigned long long)b, len);
	evhttp_add_header(oh, "Content-Range", cr);
	fl_srv_send(s, req, 206, "Partial Content", part);
	evbuffer_free(part);
	return 1;
}

/* Sends body (consumed) through the body-changing faults; gzip-encoded if
 * gzip, else honouring a Range header unless --no-range. */
static void
reply(struct fl_srv *s, struct evhttp_request *req, const char *ctype,
    struct evbuffer *body, const struct fl_fault *f, int gzip)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	size_t len = evbuffer_get_length(body);

	(void)s;
	evhttp_add_header(oh, "Content-Type", ctype);
	if (f && f->kind == FL_F_TRUNCATE) {
		/* A complete HTTP response whose body stops half way. */
		{
			struct evbuffer *half = evbuffer_new();

			if (half) {
				evbuffer_remove_buffer(body, half, len / 2);
				fl_srv_send(s, req, 200, "OK", half);
				evbuffer_free(half);
				return;
			}
		}
	}
	if (gzip || (f && f->kind == FL_F_GZIP)) {
		struct fl_buf gz = { 0 };
		const uint8_t *p = evbuffer_pullup(body, -1);

		fl_gzip_stored(p, len, &gz);
		if (!gz.err) {
			struct evbuffer *g = evbuffer_new();

			if (g) {
				evbuffer_add(g, gz.p, gz.len);
				evhttp_add_header(oh, "Content-Encoding", "gzip");
				fl_srv_send(s, req, 200, "OK", g);
				evbuffer_free(g);
				fl_buf_free(&gz);
				return;
			}
		}
		fl_buf_free(&gz);
	}
	if (!s->no_range && reply_range(s, req, body))
		return;
	fl_srv_send(s, req, 200, "OK", body);
}

int
fl_srv_b64_add(struct evbuffer *b, const uint8_t *p, size_t len)
{
	char *s = fl_buf_b64(p, len);

	if (s == NULL)
		return -1;
	evbuffer_add(b, s, strlen(s));
	free(s);
	return 0;
}

int
fl_srv_get_u64(struct evkeyvalq *q, const char *key, uint64_t *out)
{
	const char *v = evhttp_find_header(q, key);
	char *end;

	if (v == NULL || !isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return *end || errno ? -1 : 0;
}

/* The tree head of size base as a fault would show it. */
static void
sth_view(struct fl_log *l, const struct fl_fault *f, uint64_t base,
    uint64_t *size, uint8_t root[32])
{
	*size = base;
	if (f && f->kind == FL_F_SHRINK) {
		uint64_t by = f->param > 0 ? (uint64_t)f->param : *size / 2 + 1;

		*size = by >= *size ? 0 : *size - by;
	}
	fl_merkle_root(&l->tree, *size, root);
}

static void
get_sth(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req,
    const struct fl_fault *f)
{
	struct fl_buf sig = { 0 };
	uint8_t root[32];
	uint64_t size;
	struct evbuffer *b = evbuffer_new();

	sth_view(l, f, l->pub_n, &size, root);
	if (b == NULL || fl_sign_sth(&l->key, l->sth_ts, size, root, &sig) < 0) {
		fl_srv_error(s, req, 500, "signing failed");
		goto done;
	}
	if (f && f->kind == FL_F_BADSIG)
		sig.p[sig.len - 1] ^= 0x01;     /* still DER-shaped, wrong */
	evbuffer_add_printf(b, "{\"tree_size\":%llu,\"timestamp\":%llu,"
	    "\"sha256_root_hash\":\"", (unsigned long long)size,
	    (unsigned long long)l->sth_ts);
	fl_srv_b64_add(b, root, 32);
	evbuffer_add_printf(b, "\",\"tree_head_signature\":\"");
	fl_srv_b64_add(b, sig.p, sig.len);
	evbuffer_add_printf(b, "\"}");
	reply(s, req, "application/json", b, f, 0);
done:
	if (b)
		evbuffer_free(b);
	fl_buf_free(&sig);
}

static void
get_entries(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req,
    struct evkeyvalq *q, const struct fl_fault *f)
{
	uint64_t start, end;
	struct evbuffer *b;
	struct fl_buf leaf = { 0 }, extra = { 0 };

	if (fl_srv_get_u64(q, "start", &start) < 0 || fl_srv_get_u64(q, "end", &end) < 0 ||
	    end < start || start >= l->pub_n) {
		fl_srv_error(s, req, 400, "bad start or end");
		return;
	}
	if (end >= l->pub_n)
		end = l->pub_n - 1;
	if (end - start + 1 > s->batch_cap)
		end = start + s->batch_cap - 1;
	if (f && f->kind == FL_F_SHORT)
		end = start + (end - start) / 2;
	if ((b = evbuffer_new()) == NULL) {
		fl_srv_error(s, req, 500, "out of memory");
		return;
	}
	evbuffer_add_printf(b, "{\"entries\":[");
	for (uint64_t i = start; i <= end; i++) {
		char *s64;

		/* swap: the first entry served is its neighbour, a real entry
		 * that is not the tree's at this index */
		size_t at = (size_t)i;

		if (f && f->kind == FL_F_SWAP && i == start)
			at = i + 1 < l->pub_n ? at + 1 : at - 1;
		leaf.len = 0;
		extra.len = 0;
		fl_log_leaf(l, at, &leaf);
		fl_entry_extra(l->slots[at].e, &l->corpus->pool, &extra);
		if (leaf.err || extra.err)
			break;
		evbuffer_add_printf(b, "%s{\"leaf_input\":\"", i > start ? "," : "");
		if ((s64 = fl_buf_b64(leaf.p, leaf.len)) == NULL)
			break;
		/* '!' is outside the base64 alphabet. */
		if (f && f->kind == FL_F_BADB64 && i == start)
			s64[4] = '!';
		evbuffer_add(b, s64, strlen(s64));
		free(s64);
		evbuffer_add_printf(b, "\",\"extra_data\":\"");
		fl_srv_b64_add(b, extra.p, extra.len);
		evbuffer_add_printf(b, "\"}");
	}
	evbuffer_add_printf(b, "]}");
	l->entries_served += end - start + 1;
	reply(s, req, "application/json", b, f, 0);
	evbuffer_free(b);
	fl_buf_free(&leaf);
	fl_buf_free(&extra);
}

static void
get_roots(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req,
    const struct fl_fault *f)
{
	struct evbuffer *b = evbuffer_new();
	const struct fl_pool *p = &l->corpus->pool;
	uint32_t idx[2] = { s->gen->ed_idx, s->gen->rsa_idx };

	if (b == NULL)
		return fl_srv_error(s, req, 500, "out of memory");
	evbuffer_add_printf(b, "{\"certificates\":[");
	for (int i = 0; i < 2; i++) {
		evbuffer_add_printf(b, "%s\"", i ? "," : "");
		fl_srv_b64_add(b, p->v[idx[i]].der, p->v[idx[i]].len);
		evbuffer_add_printf(b, "\"");
	}
	evbuffer_add_printf(b, "]}");
	reply(s, req, "application/json", b, f, 0);
	evbuffer_free(b);
}

static void
add_hashes(struct evbuffer *b, const char *key, uint8_t h[][32], size_t n)
{
	evbuffer_add_printf(b, "\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		evbuffer_add_printf(b, "%s\"", i ? "," : "");
		fl_srv_b64_add(b, h[i], 32);
		evbuffer_add_printf(b, "\"");
	}
	evbuffer_add_printf(b, "]");
}

static void
get_consistency(struct fl_srv *s, struct fl_log *l,
    struct evhttp_request *req, struct evkeyvalq *q, const struct fl_fault *f)
{
	uint64_t first, second;
	uint8_t proof[FL_PROOF_MAX][32];
	size_t n = 0;
	struct evbuffer *b;

	if (fl_srv_get_u64(q, "first", &first) < 0 || fl_srv_get_u64(q, "second", &second) < 0 ||
	    first > second || second > l->pub_n)
		return fl_srv_error(s, req, 400, "bad first or second");
	if (first > 0 && first < second)
		n = fl_merkle_consistency(&l->tree, first, second, proof);
	if ((b = evbuffer_new()) == NULL)
		return fl_srv_error(s, req, 500, "out of memory");
	evbuffer_add_printf(b, "{");
	add_hashes(b, "consistency", proof, n);
	evbuffer_add_printf(b, "}");
	reply(s, req, "application/json", b, f, 0);
	evbuffer_free(b);
}

static void
get_proof_by_hash(struct fl_srv *s, struct fl_log *l,
    struct evhttp_request *req, struct evkeyvalq *q, const struct fl_fault *f)
{
	uint64_t size;
	const char *hs = evhttp_find_header(q, "hash");
	struct fl_buf h = { 0 };
	uint8_t proof[FL_PROOF_MAX][32];
	size_t n, i;
	struct evbuffer *b;

	if (hs == NULL || fl_srv_get_u64(q, "tree_size", &size) < 0 ||
	    size > l->pub_n || fl_buf_unb64(hs, &h) < 0 || h.len != 32) {
		fl_buf_free(&h);
		return fl_srv_error(s, req, 400, "bad hash or tree_size");
	}
	for (i = 0; i < size; i++)
		if (memcmp(l->tree.lv[0][i], h.p, 32) == 0)
			break;
	fl_buf_free(&h);
	if (i == size)
		return fl_srv_error(s, req, 404, "hash not in tree");
	n = fl_merkle_audit(&l->tree, i, size, proof);
	if ((b = evbuffer_new()) == NULL)
		return fl_srv_error(s, req, 500, "out of memory");
	evbuffer_add_printf(b, "{\"leaf_index\":%zu,", i);
	add_hashes(b, "audit_path", proof, n);
	evbuffer_add_printf(b, "}");
	reply(s, req, "application/json", b, f, 0);
	evbuffer_free(b);
}

static void
get_checkpoint(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req,
    const struct fl_fault *f)
{
	char origin[160];
	uint8_t root[32];
	uint64_t size;
	struct fl_buf note = { 0 };
	struct evbuffer *b = evbuffer_new();
	struct fl_pub cp = { l->pub_n, l->sth_ts };
	const char *blank;

	/* A cache in front: the checkpoint published stale_ms ago. */
	if (s->stale_ms > 0)
		cp = fl_log_published_at(l, fl_log_now_ms() - (uint64_t)s->stale_ms);
	snprintf(origin, sizeof(origin), "127.0.0.1:%d/%s%s", s->port, l->name,
	    f && f->kind == FL_F_ORIGIN ? "-moved" : "");
	sth_view(l, f, cp.size, &size, root);
	if (b == NULL ||
	    fl_sign_note(&l->key, origin, size, root, cp.ms, &note) < 0) {
		fl_srv_error(s, req, 500, "signing failed");
		goto done;
	}
	if (f && f->kind == FL_F_BADSIG && note.len > 12) {
		/* Change one base64 character well inside the ECDSA signature
		 * (clear of any '=' padding): same length, wrong signature. */
		char *c = (char *)note.p + note.len - 10;

		*c = *c == 'A' ? 'B' : 'A';
	}
	/* Witness lines after the log's own, over the same note text. */
	if (s->cosig && s->cosig->n > 0 &&
	    ((blank = memmem(note.p, note.len, "\n\n", 2)) == NULL ||
	    fl_cosig_sign(s->cosig, (const char *)note.p,
	    (size_t)(blank - (const char *)note.p) + 1, cp.ms / 1000, &note) < 0)) {
		fl_srv_error(s, req, 500, "cosigning failed");
		goto done;
	}
	evbuffer_add(b, note.p, note.len);
	reply(s, req, "text/plain; charset=utf-8", b, f, s->gzip_always);
done:
	if (b)
		evbuffer_free(b);
	fl_buf_free(&note);
}

/* "x001/x234/067" or "067.p/10" -> index 1234067 and width. */
static int
parse_tile_index(const char *p, uint64_t *n, unsigned *w)
{
	*n = 0;
	*w = TILE_W;
	for (;;) {
		int x = *p == 'x';

		if (x)
			p++;
		if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]))
			return -1;
		*n = *n * 1000 + (uint64_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 +
		    (p[2] - '0'));
		p += 3;
		if (x) {
			if (*p++ != '/')
				return -1;
			continue;
		}
		if (*p == '\0')
			return 0;
		if (strncmp(p, ".p/", 3) == 0) {
			char *end;
			unsigned long v = strtoul(p + 3, &end, 10);

			if (*end || v == 0 || v >= TILE_W || !isdigit((unsigned char)p[3]))
				return -1;
			*w = (unsigned)v;
			return 0;
		}
		return -1;
	}
}

static int
want_gzip(struct fl_srv *s, struct evhttp_request *req)
{
	const char *ae = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Accept-Encoding");

	return s->gzip_tiles && ae && strstr(ae, "gzip");
}

static void
get_tile(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req,
    const char *rest, const struct fl_fault *f)
{
	uint64_t n, level = 0;
	unsigned w;
	int data = strncmp(rest, "data/", 5) == 0;
	const char *ix;
	struct evbuffer *b;

	if (data) {
		ix = rest + 5;
	} else {
		char *end;

		level = strtoull(rest, &end, 10);
		if (end == rest || *end != '/' || level > 5)
			return fl_srv_error(s, req, 404, "no such tile");
		ix = end + 1;
	}
	/* n bounded so that n * 256 + w cannot wrap. */
	if (parse_tile_index(ix, &n, &w) < 0 || n >= (1ull << 48))
		return fl_srv_error(s, req, 404, "no such tile");
	/* A log may delete a partial tile once the full one is written. */
	if (s->delete_partials && w < TILE_W &&
	    (n + 1) * TILE_W <= (l->pub_n >> (level * 8)))
		return fl_srv_error(s, req, 404, "partial tile deleted");
	if ((b = evbuffer_new()) == NULL)
		return fl_srv_error(s, req, 500, "out of memory");
	if (data) {
		struct fl_buf tl = { 0 };

		if ((n * TILE_W + w) > l->pub_n) {
			evbuffer_free(b);
			return fl_srv_error(s, req, 404, "tile beyond tree");
		}
		for (uint64_t i = n * TILE_W; i < n * TILE_W + w; i++) {
			size_t at = (size_t)i;

			/* swap: the tile's first leaf is its neighbour's */
			if (f && f->kind == FL_F_SWAP && i == n * TILE_W)
				at = i + 1 < l->pub_n ? at + 1 : at - 1;
			fl_log_tile_leaf(l, at, &tl);
		}
		if (tl.err) {
			fl_buf_free(&tl);
			evbuffer_free(b);
			return fl_srv_error(s, req, 500, "out of memory");
		}
		evbuffer_add(b, tl.p, tl.len);
		fl_buf_free(&tl);
		l->entries_served += w;
	} else {
		int lv = (int)level * 8;

		if ((n * TILE_W + w) > (l->pub_n >> lv)) {
			evbuffer_free(b);
			return fl_srv_error(s, req, 404, "tile beyond tree");
		}
		for (uint64_t i = n * TILE_W; i < n * TILE_W + w; i++)
			evbuffer_add(b, fl_merkle_node(&l->tree, lv, (size_t)i), 32);
	}
	reply(s, req, "application/octet-stream", b, f,
	    s->gzip_always || want_gzip(s, req));
	evbuffer_free(b);
}

static void
get_issuer(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req,
    const char *hex, const struct fl_fault *f)
{
	uint8_t fp[32];
	long i;
	struct evbuffer *b;

	if (strlen(hex) != 64)
		return fl_srv_error(s, req, 404, "no such issuer");
	for (int k = 0; k < 32; k++) {
		unsigned v;

		if (!isxdigit((unsigned char)hex[2 * k]) ||
		    !isxdigit((unsigned char)hex[2 * k + 1]) ||
		    sscanf(hex + 2 * k, "%2x", &v) != 1)
			return fl_srv_error(s, req, 404, "no such issuer");
		fp[k] = (uint8_t)v;
	}
	if ((i = fl_pool_find(&l->corpus->pool, fp)) < 0)
		return fl_srv_error(s, req, 404, "no such issuer");
	if ((b = evbuffer_new()) == NULL)
		return fl_srv_error(s, req, 500, "out of memory");
	evbuffer_add(b, l->corpus->pool.v[i].der, l->corpus->pool.v[i].len);
	reply(s, req, "application/pkix-cert", b, f, 0);
	evbuffer_free(b);
}

static int
endpoint_class(const char *rest)
{
	if (strcmp(rest, "ct/v1/get-sth") == 0 || strcmp(rest, "checkpoint") == 0)
		return FL_EP_STH;
	if (strcmp(rest, "ct/v1/get-entries") == 0 ||
	    strncmp(rest, "tile/data/", 10) == 0)
		return FL_EP_ENTRIES;
	if (strncmp(rest, "tile/", 5) == 0)
		return FL_EP_TILES;
	return FL_EP_OTHER;
}

/* Faults that replace the whole response. Returns 1 if one was sent. */
static int
fault_takeover(struct fl_srv *s, struct evhttp_request *req,
    const struct fl_fault *f)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	char num[32];

	switch (f->kind) {
	case FL_F_429:
		snprintf(num, sizeof(num), "%ld", f->param > 0 ? f->param : 1);
		evhttp_add_header(oh, "Retry-After", num);
		fl_srv_error(s, req, 429, "Too Many Requests");
		return 1;
	case FL_F_500:
		fl_srv_error(s, req, 500, "Internal Server Error");
		return 1;
	case FL_F_REDIRECT:
		/* Back to the very same URL: a loop only a redirect limit ends. */
		evhttp_add_header(oh, "Location", evhttp_request_get_uri(req));
		fl_srv_send(s, req, 302, "Found", NULL);
		return 1;
	case FL_F_TIMEOUT:
	case FL_F_BIGCL:
	case FL_F_ENDLESS:
		if (hold_start(s, req, f->kind) < 0)
			fl_srv_error(s, req, 500, "out of memory");
		return 1;
	case FL_F_BOMB: {
		struct evbuffer *b = evbuffer_new();

		if (s->bomb.len == 0)
			fl_gzip_bomb(&s->bomb);
		if (b == NULL || s->bomb.err) {
			fl_srv_error(s, req, 500, "out of memory");
		} else {
			evbuffer_add_reference(b, s->bomb.p, s->bomb.len, NULL, NULL);
			evhttp_add_header(oh, "Content-Encoding", "gzip");
			evhttp_add_header(oh, "Content-Type", "application/json");
			fl_srv_send(s, req, 200, "OK", b);
		}
		if (b)
			evbuffer_free(b);
		return 1;
	}
	default:
		return 0;
	}
}

static void
dispatch(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req,
    const char *rest, struct evkeyvalq *q)
{
	struct fl_fault copy;
	const struct fl_fault *f;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
		return fl_srv_error(s, req, 405, "method not allowed");
	f = fl_log_fault_take(l, endpoint_class(rest), &copy);
	if (f && f->kind != FL_F_GZIP && f->kind != FL_F_TRUNCATE)
		log_info("%s: fault %s on %s", l->name, fl_log_fault_name(f->kind), rest);
	if (f && fault_takeover(s, req, f))
		return;
	if (!l->is_static) {
		if (strcmp(rest, "ct/v1/get-sth") == 0)
			return get_sth(s, l, req, f);
		if (strcmp(rest, "ct/v1/get-entries") == 0)
			return get_entries(s, l, req, q, f);
		if (strcmp(rest, "ct/v1/get-roots") == 0)
			return get_roots(s, l, req, f);
		if (strcmp(rest, "ct/v1/get-sth-consistency") == 0)
			return get_consistency(s, l, req, q, f);
		if (strcmp(rest, "ct/v1/get-proof-by-hash") == 0)
			return get_proof_by_hash(s, l, req, q, f);
	} else {
		if (strcmp(rest, "checkpoint") == 0)
			return get_checkpoint(s, l, req, f);
		if (strncmp(rest, "tile/", 5) == 0)
			return get_tile(s, l, req, rest + 5, f);
		if (strncmp(rest, "issuer/", 7) == 0)
			return get_issuer(s, l, req, rest + 7, f);
	}
	fl_srv_error(s, req, 404, "not found");
}

/* A request to a log: grown first if asked, answered, then accounted (the
 * URI and Range are copied first: a reply may free req at once). */
static void
serve_log(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req,
    const char *rest, struct evkeyvalq *q)
{
	const char *rh = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Range");
	char uri[sizeof(l->acct.ring->path)], range[sizeof(l->acct.ring->range)];
	char err[256];

	l->requests++;
	snprintf(uri, sizeof(uri), "%s", evhttp_request_get_uri(req));
	if (rh)
		snprintf(range, sizeof(range), "%s",
		    strncmp(rh, "bytes=", 6) == 0 ? rh + 6 : rh);
	if (s->grow_per_request > 0 &&
	    fl_log_grow(l, s->grow_per_request, err, sizeof(err)) < 0)
		log_warnx("%s: grow: %s", l->name, err);
	s->cur.status = 0;
	s->cur.bytes = 0;
	dispatch(s, l, req, rest, q);
	fl_acct_record(&l->acct, fl_acct_kind(rest), uri, rh ? range : NULL,
	    s->cur.status, s->cur.bytes, fl_log_now_ms());
}

const char *
fl_srv_scheme(const struct fl_srv *s)
{
	return s->ssl_ctx ? "https" : "http";
}

static void
loglist(struct fl_srv *s, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	int first;

	if (b == NULL)
		return fl_srv_error(s, req, 500, "out of memory");
	evbuffer_add_printf(b, "{\"version\":\"1.0\","
	    "\"log_list_timestamp\":\"2026-01-01T00:00:00Z\",\"operators\":[{"
	    "\"name\":\"Fakelog\",\"email\":[\"fakelog@example.test\"],"
	    "\"logs\":[");
	first = 1;
	for (int i = 0; i < s->nlogs; i++) {
		struct fl_log *l = &s->logs[i];

		if (l->is_static)
			continue;
		evbuffer_add_printf(b, "%s{\"description\":\"Fakelog '%s'\","
		    "\"log_id\":\"%s\",\"key\":\"%s\","
		    "\"url\":\"%s://127.0.0.1:%d/%s/\",\"mmd\":86400,"
		    "\"state\":{\"usable\":{\"timestamp\":\"2025-01-01T00:00:00Z\"}},"
		    "\"temporal_interval\":{\"start_inclusive\":\"2025-01-01T00:00:00Z\","
		    "\"end_exclusive\":\"2030-01-01T00:00:00Z\"}}",
		    first ? "" : ",", l->name, l->key.log_id_b64, l->key.spki_b64,
		    fl_srv_scheme(s), s->port, l->name);
		first = 0;
	}
	evbuffer_add_printf(b, "],\"tiled_logs\":[");
	first = 1;
	for (int i = 0; i < s->nlogs; i++) {
		struct fl_log *l = &s->logs[i];

		if (!l->is_static)
			continue;
		evbuffer_add_printf(b, "%s{\"description\":\"Fakelog '%s'\","
		    "\"log_id\":\"%s\",\"key\":\"%s\","
		    "\"submission_url\":\"%s://127.0.0.1:%d/%s/\","
		    "\"monitoring_url\":\"%s://127.0.0.1:%d/%s/\",\"mmd\":60,"
		    "\"state\":{\"usable\":{\"timestamp\":\"2025-01-01T00:00:00Z\"}},"
		    "\"temporal_interval\":{\"start_inclusive\":\"2025-01-01T00:00:00Z\","
		    "\"end_exclusive\":\"2030-01-01T00:00:00Z\"}}",
		    first ? "" : ",", l->name, l->key.log_id_b64, l->key.spki_b64,
		    fl_srv_scheme(s), s->port, l->name, fl_srv_scheme(s), s->port, l->name);
		first = 0;
	}
	evbuffer_add_printf(b, "]}]}");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	fl_srv_send(s, req, 200, "OK", b);
	evbuffer_free(b);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct fl_srv *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path, *query;
	struct evkeyvalq q;
	const char *slash;
	struct fl_log *l;

	/* libevent calls back again, without a URI, on some errors. */
	if (uri == NULL) {
		fl_srv_error(s, req, 400, "bad request");
		return;
	}
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	TAILQ_INIT(&q);
	if (query && evhttp_parse_query_str(query, &q) < 0) {
		fl_srv_error(s, req, 400, "bad query");
		return;
	}
	if (path == NULL || *path != '/') {
		fl_srv_error(s, req, 400, "bad path");
	} else if (strcmp(path, "/loglist.json") == 0) {
		loglist(s, req);
	} else if (strncmp(path, "/control/", 9) == 0) {
		fl_ctl_serve(s, req, path + 9, &q);
	} else if ((slash = strchr(path + 1, '/')) != NULL &&
	    (l = fl_srv_find_log(s, path + 1, (size_t)(slash - path - 1))) != NULL) {
		serve_log(s, l, req, slash + 1, &q);
	} else {
		fl_srv_error(s, req, 404, "not found");
	}
	evhttp_clear_headers(&q);
}

static void
on_grow(evutil_socket_t fd, short what, void *arg)
{
	struct fl_srv *s = arg;
	char err[256];

	(void)fd;
	(void)what;
	for (int i = 0; i < s->nlogs; i++) {
		struct fl_log *l = &s->logs[i];
		size_t n;

		l->grow_acc += s->grow_per_sec / 10.0;
		n = (size_t)l->grow_acc;
		l->grow_acc -= (double)n;
		if (n > 0 && fl_log_grow(l, n, err, sizeof(err)) < 0)
			log_warnx("%s: grow: %s", l->name, err);
	}
}

/* Static logs write their checkpoint: what was added since shows now. */
static void
on_publish(evutil_socket_t fd, short what, void *arg)
{
	struct fl_srv *s = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < s->nlogs; i++)
		if (!s->logs[i].auto_publish && fl_log_publish(&s->logs[i]) < 0)
			log_warnx("%s: publish: out of memory", s->logs[i].name);
}

/* Each accepted connection gets its own TLS session. */
static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

int
fl_srv_tls(struct fl_srv *s, const char *cert, const char *key, char *err,
    size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "TLS %s / %s: %s", cert, key,
		    ERR_error_string(ERR_get_error(), NULL));
		SSL_CTX_free(ctx);
		return -1;
	}
	s->ssl_ctx = ctx;
	return 0;
}

int
fl_srv_start(struct fl_srv *s, int port, char *err, size_t errlen)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct timeval tick = { 0, 100000 };

	if ((s->http = evhttp_new(s->base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		return -1;
	}
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(s->http, on_request, s);
	if (s->ssl_ctx)
		evhttp_set_bevcb(s->http, tls_bev, s->ssl_ctx);
	if ((bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1",
	    (ev_uint16_t)port)) == NULL) {
		snprintf(err, errlen, "bind 127.0.0.1:%d: %s", port, strerror(errno));
		return -1;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
	    &sl) < 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		return -1;
	}
	s->port = ntohs(sin.sin_port);
	if (s->grow_per_sec > 0) {
		s->grow_ev = event_new(s->base, -1, EV_PERSIST, on_grow, s);
		if (s->grow_ev == NULL || event_add(s->grow_ev, &tick) < 0) {
			snprintf(err, errlen, "growth timer failed");
			return -1;
		}
	}
	if (s->publish_ms > 0) {
		struct timeval ptv = { s->publish_ms / 1000,
		    (s->publish_ms % 1000) * 1000 };

		s->pub_ev = event_new(s->base, -1, EV_PERSIST, on_publish, s);
		if (s->pub_ev == NULL || event_add(s->pub_ev, &ptv) < 0) {
			snprintf(err, errlen, "publish timer failed");
			return -1;
		}
	}
	return 0;
}

void
fl_srv_stop(struct fl_srv *s)
{
	if (s->grow_ev)
		event_free(s->grow_ev);
	if (s->pub_ev)
		event_free(s->pub_ev);
	if (s->http)
		evhttp_free(s->http);
	fl_buf_free(&s->bomb);
	SSL_CTX_free(s->ssl_ctx);
	s->ssl_ctx = NULL;
	s->grow_ev = NULL;
	s->pub_ev = NULL;
	s->http = NULL;
}
