/*
 * One client connection: request head -> route -> WebSocket / SSE stream
 * from the ring, or one HTTP answer; then a lingering close.
 *
 * Streaming write path (no allocation, no copy of record bytes, except the
 * rest of a record cut mid-write):
 *
 *   [rest of a partly written record][control bytes][records cursor..head]
 *
 * go out in one writev() straight from shared memory. Control bytes
 * (heartbeat, ping, pong, close, SSE comments) wait in a small per-client
 * buffer and only ever start on a frame boundary, so frames never interleave.
 * After the write the ring tells whether the bytes were still intact; a
 * client that got torn bytes is closed. When a write stops inside a record,
 * the rest of that one record is copied out of the ring at once, so a slow
 * client that is lapped later still ends its frame and skips ahead instead
 * of being cut off mid-frame: its only memory is that one rest.
 *
 * TLS clients (tls.cert set) go through the same states after a
 * non-blocking handshake; their streaming bytes are copied, at most
 * TLS_CHUNK per SSL_write(), into the worker's scratch buffer (tls.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include <openssl/err.h>

#include "broadcast/auth.h"
#include "broadcast/client.h"
#include "broadcast/endpoints.h"
#include "broadcast/filter_sel.h"
#include "shm/limits.h"
#include "broadcast/sse.h"
#include "broadcast/tls.h"
#include "broadcast/ws.h"
#include "broadcast/ws_deflate.h"
#include "common/log.h"
#include "common/utf8.h"
#include "shm/ring.h"

#define CLIENT_CTL_MAX 256
#define CLIENT_RBUF 144         /* 14-byte frame header + 125-byte control payload */
#define CLIENT_LINGER_MS 2000   /* wait this long for the peer's FIN */
#define CLIENT_RESP_MS 30000    /* a plain answer must drain within this */
#define CLIENT_READS_PER_TURN 16
#define CLIENT_WRITES_PER_TURN 4

enum client_state { CS_HEAD, CS_RESP, CS_STREAM, CS_LINGER };

#define CF_WANT_WRITE 0x01      /* socket full: wait for EV_WRITE */
#define CF_CLOSE_QUEUED 0x02    /* no more records; end after ctl drains */
#define CF_COUNTED 0x04         /* counted in the streaming stats */
#define CF_IN_MSG 0x08          /* a fragmented client message is open */
#define CF_EOF 0x10             /* peer sent FIN */
#define CF_DISCARD 0x20         /* ignore further client frames */
#define CF_LAPPING 0x40         /* lapped and not caught a record since */
#define CF_LAP_LOGGED 0x80      /* its first lap was logged */
#define CF_TEXT 0x100           /* the open client message is text */
#define CF_FRAME_FIN 0x200      /* the data frame being read is its last */
#define CF_TLS_HS 0x400         /* TLS handshake not finished */
#define CF_GAP_DUE 0x800        /* a gap notice waits for the next record */
#define CF_GAPS 0x1000          /* a WebSocket client that asked for gaps=1 */
#define CF_DEFLATE 0x2000       /* permessage-deflate negotiated */
#define CF_UNIQUE 0x4000        /* asked unique=1: RING_F_PAIRED records skipped */

struct client {
	struct client *prev, *next;
	struct wctx *w;
	struct event ev;
	int fd;
	uint8_t state;
	uint8_t proto;          /* SP_WS, SP_SSE (streaming only) */
	uint8_t stream;         /* enum ring_variant */
	uint8_t evflags;        /* what ev is registered for, 0 = none */
	uint16_t flags;
	uint16_t ctl_len, ctl_off, rlen;
	uint32_t since;         /* ms: accepted, close queued, or linger start */
	uint32_t last_rx;       /* ms: last byte from the peer */
	char *rest;             /* the unsent end of a record begun; cursor is past it */
	uint32_t rest_len, rest_off;
	int64_t rest_seen;      /* its data.seen, for latency */
	uint32_t head_len;
	uint32_t head_cap;      /* head's size: the limit may change on reload */
	uint64_t cursor;        /* next record to send */
	uint64_t z_next;        /* CF_DEFLATE: the record whose compressed frame
	                         * follows on from the last one sent */
	uint64_t gap_from, gap_to, gap_n;       /* the gap notice due */
	uint64_t skip;          /* data-frame payload bytes still to discard */
	uint64_t msg_len;       /* bytes of the open fragmented message */
	uint64_t pay_off;       /* payload bytes of the current frame seen */
	uint32_t utf8;          /* utf8_feed state of the text message */
	uint8_t mask[4];        /* the current data frame's masking key */
	struct limits_hold hold;        /* its place in the connection limits */
	struct filter_sel filter;       /* ?domain= etc.: records it wants */
	SSL *ssl;               /* TLS clients only */
	uint16_t tls_pend;      /* bytes of a record OpenSSL still holds */
	char *head;             /* request head; freed once routed */
	struct http_progress hp;        /* how far head was parsed */
	struct evbuffer *out;   /* handshake or answer bytes; freed once sent */
	uint8_t ctl[CLIENT_CTL_MAX];
	uint8_t rbuf[CLIENT_RBUF];
};

static void client_cb(evutil_socket_t fd, short what, void *arg);
static int client_write(struct client *c);
static int client_frames(struct client *c);

static int
client_events(struct client *c)
{
	uint8_t want = 0;

	if (!(c->flags & CF_EOF))
		want |= EV_READ;
	if (c->flags & CF_WANT_WRITE)
		want |= EV_WRITE;
	if (want == c->evflags)
		return 0;
	if (c->evflags != 0)
		event_del(&c->ev);
	c->evflags = 0;
	if (want == 0)
		return 0;
	event_assign(&c->ev, c->w->base, c->fd, (short)(want | EV_PERSIST),
	    client_cb, c);
	if (event_add(&c->ev, NULL) == -1) {
		log_warnx("%s: event_add(fd %d)", __func__, c->fd);
		client_close(c);
		return -1;
	}
	c->evflags = want;
	return 0;
}

static int
client_want_write(struct client *c, int on)
{
	if (on)
		c->flags |= CF_WANT_WRITE;
	else
		c->flags &= (uint16_t)~CF_WANT_WRITE;
	return client_events(c);
}

/* read(2) on the socket, or SSL_read on a TLS client. */
static ssize_t
client_recv(struct client *c, void *buf, size_t len)
{
	if (c->ssl != NULL)
		return tls_read(c->ssl, buf, len);
	return read(c->fd, buf, len);
}

/* A TLS record OpenSSL still holds goes out before anything else.
 * 1: nothing held (any more); 0: wait for EV_WRITE; -1: c closed. */
static int
client_tls_flush(struct client *c)
{
	int r;

	if (c->tls_pend == 0)
		return 1;
	if ((r = tls_flush(c->ssl, c->tls_pend)) == 1) {
		c->tls_pend = 0;
		return 1;
	}
	if (r == 0)
		return client_want_write(c, 1) == -1 ? -1 : 0;
	client_close(c);
	return -1;
}

/* Copy the iovecs (at most TLS_CHUNK bytes) into the worker's scratch and
 * SSL_write them. Returns the bytes taken (OpenSSL may still hold them:
 * c->tls_pend), 0 when the batch went stale while copied (nothing sent,
 * rebuild it), -1 broken. */
static ssize_t
client_tls_writev(struct client *c, int niov, int nrec, uint64_t first)
{
	struct wctx *w = c->w;
	size_t len = 0;
	ssize_t n;
	int i, pending;

	for (i = 0; i < niov && len < TLS_CHUNK; i++) {
		size_t l = w->iov[i].iov_len;

		if (l > TLS_CHUNK - len)
			l = TLS_CHUNK - len;
		memcpy(w->scratch + len, w->iov[i].iov_base, l);
		len += l;
	}
	/* The copy is what gets encrypted: it must be the records we meant. */
	if (nrec > 0 && !ring_still_valid(w->seg, first))
		return 0;
	n = tls_write(c->ssl, w->scratch, len, &pending);
	if (n > 0 && pending)
		c->tls_pend = (uint16_t)len;
	return n;
}

static void
client_count(struct client *c, int up)
{
	struct shm_worker_stats *st = c->w->st;

	if (up && !(c->flags & CF_COUNTED)) {
		c->flags |= CF_COUNTED;
		atomic_fetch_add(&st->clients, 1);
		atomic_fetch_add(&st->conns[c->stream][c->proto], 1);
	} else if (!up && (c->flags & CF_COUNTED)) {
		c->flags &= (uint16_t)~CF_COUNTED;
		atomic_fetch_sub(&st->clients, 1);
		atomic_fetch_sub(&st->conns[c->stream][c->proto], 1);
	}
}

static int client_answer(struct client *c, int status, const char *msg,
    const char *extra);

int
client_open(struct wctx *w, int fd, const struct sockaddr *sa)
{
	struct client *c;
	enum limits_verdict v;
	int one = 1;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_warn("%s: calloc(%zu)", __func__, sizeof(*c));
		close(fd);
		return -1;
	}
	c->w = w;
	c->fd = fd;
	c->state = CS_HEAD;
	c->since = c->last_rx = wctx_clock(w);
	/* Records go out as soon as they are published: no Nagle delay. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = w->clients;
	if (w->clients != NULL)
		w->clients->prev = c;
	w->clients = c;
	w->nconns++;
	atomic_fetch_add(&w->st->accepted, 1);
	if (w->tls != NULL) {
		if ((c->ssl = SSL_new(w->tls)) == NULL ||
		    SSL_set_fd(c->ssl, fd) != 1) {
			log_warnx("%s: SSL_new for fd %d", __func__, fd);
			ERR_clear_error();
			client_close(c);
			return -1;
		}
		c->flags |= CF_TLS_HS;
	}
	if (client_events(c) == -1)
		return -1;
	/* Limits hold for every worker at once; refused before any request
	 * is read (so before any upgrade). */
	v = limits_acquire(w->seg->limits, w->cfg, sa, (uint64_t)time(NULL),
	    w->id, &c->hold);
	if (v == LIMITS_OK)
		return 0;
	atomic_fetch_add(&w->st->limit_rejects, 1);
	if (v == LIMITS_TOTAL)
		return client_answer(c, 503, "server at its connection limit",
		    "Retry-After: 5\r\n");
	return client_answer(c, 429, v == LIMITS_RATE ?
	    "too many new connections from this address" :
	    "too many connections from this address", "Retry-After: 1\r\n");
}

void
client_close(struct client *c)
{
	struct wctx *w = c->w;

	client_count(c, 0);
	limits_release(w->seg->limits, &c->hold);
	if (c->evflags != 0)
		event_del(&c->ev);
	SSL_free(c->ssl);
	close(c->fd);
	free(c->head);
	free(c->rest);
	filter_sel_close(&c->filter);
	if (c->out != NULL)
		evbuffer_free(c->out);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	free(c);
}

struct client *
client_next(const struct client *c)
{
	return c->next;
}

/* Stop sending, half-close, and wait briefly for the peer's FIN so that it
 * reads what we sent (a close on unread input would reset it). */
static int
client_linger(struct client *c)
{
	client_count(c, 0);
	/* Done with it: a closing connection no longer counts as the
	 * peer's. */
	limits_release(c->w->seg->limits, &c->hold);
	if (c->out != NULL) {
		evbuffer_free(c->out);
		c->out = NULL;
	}
	free(c->head);
	c->head = NULL;
	c->flags &= (uint16_t)~CF_WANT_WRITE;
	c->state = CS_LINGER;
	c->since = wctx_clock(c->w);
	/* TLS: close_notify first (best effort: the socket may be full). */
	if (c->ssl != NULL && !(c->flags & CF_TLS_HS)) {
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	if ((c->flags & CF_EOF) || shutdown(c->fd, SHUT_WR) == -1) {
		client_close(c);
		return -1;
	}
	return client_events(c);
}

/* Queue control bytes; they go out on the next frame boundary. */
static int
client_ctl_add(struct client *c, const void *p, size_t len)
{
	if (c->ctl_off > 0 && c->ctl_off == c->ctl_len)
		c->ctl_off = c->ctl_len = 0;
	if (c->ctl_len + len > CLIENT_CTL_MAX && c->ctl_off > 0) {
		/* The iovec is rebuilt from ctl_off on every write. */
		memmove(c->ctl, c->ctl + c->ctl_off, c->ctl_len - c->ctl_off);
		c->ctl_len = (uint16_t)(c->ctl_len - c->ctl_off);
		c->ctl_off = 0;
	}
	if (c->ctl_len + len > CLIENT_CTL_MAX)
		return -1;
	memcpy(c->ctl + c->ctl_len, p, len);
	c->ctl_len = (uint16_t)(c->ctl_len + len);
	return 0;
}

/* Send a WebSocket close with code (0: none) and stop streaming. */
static int
client_ws_close(struct client *c, uint16_t code)
{
	uint8_t f[8];
	size_t n;

	if (c->flags & CF_CLOSE_QUEUED)
		return 0;
	c->flags |= CF_CLOSE_QUEUED | CF_DISCARD;
	c->since = wctx_clock(c->w);
	n = ws_control_frame(f, WS_OP_CLOSE, code, NULL, 0);
	if (client_ctl_add(c, f, n) == -1) {
		client_close(c);
		return -1;
	}
	if (c->flags & CF_WANT_WRITE)
		return 0;
	return client_write(c);
}

/* The rest of a record was overwritten before it could go out, or went out
 * torn: the client cannot get an intact frame any more. */
static int
client_torn(struct client *c)
{
	atomic_fetch_add(&c->w->st->torn_closed, 1);
	log_debug("client fd %d: record %llu reused mid-write, closing", c->fd,
	    (unsigned long long)c->cursor);
	client_close(c);
	return -1;
}

/* Note records the client will not get: SSE clients, and WebSocket clients
 * that asked with gaps=1, are told before the next record (client_gap_flush).
 * Gaps in a row, not told yet, merge into one. */
static void
client_gap(struct client *c, uint64_t n, uint64_t from, uint64_t to)
{
	if (c->proto == SP_WS && !(c->flags & CF_GAPS))
		return;
	if (!(c->flags & CF_GAP_DUE)) {
		c->flags |= CF_GAP_DUE;
		c->gap_from = from;
		c->gap_n = 0;
	}
	c->gap_to = to;
	c->gap_n += n;
}

/* Queue the gap notice due, if any, as control bytes: they go out before
 * any record after it. 0, or -1 when the control buffer has no room yet
 * (records then wait for it to drain). */
static int
client_gap_flush(struct client *c)
{
	char json[SSE_GAP_MAX];
	uint8_t buf[RING_WS_HDR_MAX + SSE_GAP_MAX];
	size_t len;
	int hl;

	if (!(c->flags & CF_GAP_DUE))
		return 0;
	if (c->proto == SP_SSE) {
		len = sse_gap_event((char *)buf, sizeof(buf), c->gap_n,
		    c->gap_from, c->gap_to);
	} else {
		len = sse_gap_json(json, sizeof(json),
		    "{\"message_type\":\"gap\",", c->gap_n, c->gap_from,
		    c->gap_to);
		hl = ring_ws_header(buf, len);
		memcpy(buf + hl, json, len);
		len = len > 0 ? len + (size_t)hl : 0;
	}
	if (len > 0 && client_ctl_add(c, buf, len) == -1)
		return -1;
	c->flags &= (uint16_t)~CF_GAP_DUE;
	return 0;
}

/* The producer passed the cursor: skip ahead past the oldest intact
 * record, by a quarter of what the ring holds. Landing on the oldest one
 * would put the client where the very next publish overwrites: during a
 * burst (a catch-up after downtime) its next writev would go out torn and
 * close it. A lap is counted once until the client gets a record again (a
 * stuck client is passed on every publish); every skipped record is
 * counted. */
static void
client_lapped(struct client *c, uint64_t tail, uint64_t head)
{
	uint64_t n;

	if (head > tail)
		tail += (head - tail) / 4;
	n = tail - c->cursor;
	char buf[SSE_SKIPPED_MAX];
	size_t len;

	if (!(c->flags & CF_LAPPING)) {
		c->flags |= CF_LAPPING;
		atomic_fetch_add(&c->w->st->lapped, 1);
	}
	if (!(c->flags & CF_LAP_LOGGED)) {
		c->flags |= CF_LAP_LOGGED;
		log_info("client fd %d: too slow, lapped by the ring: skipped "
		    "%llu records (further laps only counted)", c->fd,
		    (unsigned long long)n);
	}
	atomic_fetch_add(&c->w->st->skipped, n);
	client_gap(c, n, c->cursor, tail - 1);
	c->cursor = tail;
	if (c->proto == SP_SSE) {
		len = sse_skipped_comment(buf, sizeof(buf), n);
		if (len > 0)
			(void)client_ctl_add(c, buf, len);
	}
}

/* Where a writer stops being safe. Once the ring has wrapped (tail above
 * its first seq), the records within an eighth of the ring of its tail are
 * the next ones overwritten: during a burst a writev of them could go out
 * torn, which closes the client. A client that far behind is passed as if
 * lapped. */
static uint64_t
client_edge(uint64_t first, uint64_t tail, uint64_t head)
{
	if (tail <= first)
		return tail;
	return head > tail ? tail + (head - tail) / 8 : tail;
}

/* Is record seq one this client passes: the second of a pair with
 * unique=1, a notice for a WebSocket client without gaps=1? */
static int
client_passes(struct client *c, uint64_t seq)
{
	int f = ring_flags(c->w->seg, seq);

	return f > 0 && (((f & RING_F_PAIRED) && (c->flags & CF_UNIQUE)) ||
	    ((f & RING_F_NOTICE) && c->proto == SP_WS &&
	    !(c->flags & CF_GAPS)));
}

/* The pieces of record seq as this client gets it: the frame (WebSocket) or
 * prefix, payload, end (SSE). Returns how many, or -1: not in the ring.
 * A permessage-deflate client whose inflater holds the shared stream up to
 * seq (zn == seq: it got seq - 1 compressed), or that reaches a keyframe,
 * gets the shared compressed frame (*z set); else the plain one. */
static int
client_record_parts(struct client *c, uint64_t seq, struct iovec part[3],
    int unit, int64_t *seen, uint64_t zn, int *z)
{
	struct wctx *w = c->w;
	char *p;
	int key;

	*z = 0;
	if ((c->flags & CF_DEFLATE) && ring_peek_z(w->seg, seq,
	    (enum ring_variant)c->stream, &part[0], &key) == 0 &&
	    (key || zn == seq)) {
		/* latency wants data.seen; the plain peek gives it */
		if (ring_peek(w->seg, seq, (enum ring_variant)c->stream, 1,
		    &part[1], seen) == -1)
			return -1;
		*z = (int)part[1].iov_len;
		return 1;
	}
	if (ring_peek(w->seg, seq, (enum ring_variant)c->stream,
	    c->proto == SP_WS, &part[c->proto == SP_WS ? 0 : 1], seen) == -1)
		return -1;
	if (c->proto == SP_WS)
		return 1;
	p = w->sse_pfx[unit];
	part[0].iov_base = p;
	part[0].iov_len = sse_event_prefix(p, sizeof(w->sse_pfx[0]), seq);
	part[2].iov_base = (void *)(uintptr_t)SSE_EVENT_END;
	part[2].iov_len = SSE_EVENT_END_LEN;
	return 3;
}

/* Add record seq to the writev. -1: not in the ring. */
static int
client_add_record(struct client *c, uint64_t seq, int *niov, int *nunits,
    size_t *total, uint64_t *zn)
{
	struct wctx *w = c->w;
	struct iovec part[3];
	struct wctx_unit *u;
	int64_t seen = 0;
	uint32_t len = 0;
	int n, k, z;

	if ((n = client_record_parts(c, seq, part, *nunits, &seen, *zn,
	    &z)) == -1)
		return -1;
	if (z > 0)
		*zn = seq + 1;
	for (k = 0; k < n; k++) {
		w->iov[*niov] = part[k];
		len += (uint32_t)part[k].iov_len;
		(*niov)++;
	}
	u = &w->units[(*nunits)++];
	u->len = len;
	u->seen_us = seen;
	u->kind = WCTX_UNIT_RECORD;
	u->zplain = (uint32_t)z;
	*total += len;
	return 0;
}

/* A compressed frame of zlen bytes went out (or began to) in place of
 * plain bytes of a frame of plen. */
static void
client_zcount(struct client *c, uint64_t zlen, uint64_t plen)
{
	struct shm_worker_stats *st = c->w->st;

	atomic_fetch_add(&st->stream_zbytes[c->stream][c->proto], zlen);
	atomic_fetch_add(&st->stream_zplain[c->stream][c->proto], plen);
}

/* A write stopped `done` bytes into record `cursor`: keep the rest of it
 * before the ring can reuse it. 0; -1 when it was already gone (torn); -2
 * out of memory. */
static int
client_keep_rest(struct client *c, uint32_t done)
{
	struct wctx *w = c->w;
	struct iovec part[3];
	int64_t seen = 0;
	size_t len = 0, at = 0, skip = done;
	int n, k, z;

	/* Every unit before this one is consumed: z_next is as it was when
	 * the record was chosen, so the same frame comes back. */
	if ((n = client_record_parts(c, c->cursor, part, 0, &seen, c->z_next,
	    &z)) == -1)
		return -1;
	for (k = 0; k < n; k++)
		len += part[k].iov_len;
	if (done >= len)
		return -1;
	if ((c->rest = malloc(len - done)) == NULL) {
		log_warn("client fd %d: malloc(%zu)", c->fd, len - done);
		return -2;
	}
	for (k = 0; k < n; k++) {
		size_t l = part[k].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		memcpy(c->rest + at, (char *)part[k].iov_base + skip, l - skip);
		at += l - skip;
		skip = 0;
	}
	/* The copy must be the record the first bytes came from. */
	if (!ring_still_valid(w->seg, c->cursor)) {
		free(c->rest);
		c->rest = NULL;
		return -1;
	}
	c->rest_len = (uint32_t)at;
	c->rest_off = 0;
	c->rest_seen = seen;
	if (z > 0) {
		c->z_next = c->cursor + 1;
		client_zcount(c, len, (uint64_t)z);
	}
	c->cursor++;
	/* it has begun a record past the tail: a later lap is a new one */
	c->flags &= (uint16_t)~CF_LAPPING;
	return 0;
}

static void
client_latency(struct shm_worker_stats *st, int64_t now_us, int64_t seen_us)
{
	int64_t d = now_us - seen_us;
	int i = 0;

	if (seen_us <= 0)
		return;
	if (d < 0)
		d = 0;
	/* bucket i: d <= 2^i ms; the last one is +Inf */
	while (i < SHM_LAT_BUCKETS - 1 && d > (int64_t)1000 << i)
		i++;
	atomic_fetch_add(&st->lat_bucket[i], 1);
	atomic_fetch_add(&st->lat_sum_us, (uint64_t)d);
	atomic_fetch_add(&st->lat_count, 1);
}

/* Account n written bytes against the units of the last writev.
 * Returns 0, or -1 when c was closed. */
static int
client_consume(struct client *c, size_t n, int nunits)
{
	struct wctx *w = c->w;
	struct timespec ts;
	int64_t now_us;
	uint64_t msgs = 0, sent = n;
	int i, r = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	atomic_fetch_add(&w->st->bytes_sent, n);
	for (i = 0; i < nunits; i++) {
		struct wctx_unit *u = &w->units[i];

		if (n >= u->len) {
			n -= u->len;
			switch (u->kind) {
			case WCTX_UNIT_CTL:
				c->ctl_off = c->ctl_len = 0;
				break;
			case WCTX_UNIT_REST:
				free(c->rest);
				c->rest = NULL;
				msgs++;
				client_latency(w->st, now_us, c->rest_seen);
				break;
			default:
				if (u->zplain > 0) {
					c->z_next = c->cursor + 1;
					client_zcount(c, u->len, u->zplain);
				}
				c->cursor++;
				c->flags &= (uint16_t)~CF_LAPPING;
				msgs++;
				client_latency(w->st, now_us, u->seen_us);
				break;
			}
			continue;
		}
		if (u->kind == WCTX_UNIT_CTL)
			c->ctl_off = (uint16_t)(c->ctl_off + n);
		else if (u->kind == WCTX_UNIT_REST)
			c->rest_off += (uint32_t)n;
		else if (n > 0)
			r = client_keep_rest(c, (uint32_t)n);
		break;
	}
	atomic_fetch_add(&w->st->stream_bytes[c->stream][c->proto], sent);
	if (msgs > 0) {
		atomic_fetch_add(&w->st->messages_sent, msgs);
		atomic_fetch_add(&w->st->stream_msgs[c->stream][c->proto], msgs);
	}
	if (r == -2) {
		client_close(c);
		return -1;
	}
	return r == -1 ? client_torn(c) : 0;
}

/* Write the handshake / answer bytes. 1: done, go on; 0: wait; -1: closed. */
static int
client_write_out(struct client *c)
{
	while (evbuffer_get_length(c->out) > 0) {
		int n;

		if (c->ssl != NULL) {
			size_t len = evbuffer_get_length(c->out);
			unsigned char *p;
			int pending, r;

			if ((r = client_tls_flush(c)) != 1)
				return r;
			if (len > TLS_CHUNK)
				len = TLS_CHUNK;
			if ((p = evbuffer_pullup(c->out, (ssize_t)len)) == NULL) {
				log_warnx("%s: evbuffer_pullup(%zu)", __func__,
				    len);
				client_close(c);
				return -1;
			}
			n = (int)tls_write(c->ssl, p, len, &pending);
			if (n > 0) {
				evbuffer_drain(c->out, (size_t)n);
				atomic_fetch_add(&c->w->st->bytes_sent,
				    (uint64_t)n);
				if (pending) {
					/* Flushed before anything else,
					 * the close included. */
					c->tls_pend = (uint16_t)n;
					return client_want_write(c, 1) == -1 ?
					    -1 : 0;
				}
				continue;
			}
			client_close(c);
			return -1;
		}
		n = evbuffer_write(c->out, c->fd);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return client_want_write(c, 1) == -1 ? -1 : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			client_close(c);
			return -1;
		}
		atomic_fetch_add(&c->w->st->bytes_sent, (uint64_t)n);
	}
	evbuffer_free(c->out);
	c->out = NULL;
	if (c->state != CS_STREAM)
		return client_linger(c) == -1 ? -1 : 0;
	return 1;
}

/* Write what is due, until caught up, the socket is full or the turn ends.
 * Returns 0, or -1 when c was closed. */
static int
client_write(struct client *c)
{
	struct wctx *w = c->w;
	int round;

	if (c->ssl != NULL) {
		int r = client_tls_flush(c);

		if (r != 1)
			return r;
	}
	if (c->out != NULL) {
		int r = client_write_out(c);

		if (r != 1)
			return r;
	}
	if (c->state != CS_STREAM)
		return client_want_write(c, 0);
	for (round = 0; round < CLIENT_WRITES_PER_TURN; round++) {
		int niov = 0, nunits = 0, nrec = 0, hold;
		size_t total = 0, pre;
		uint64_t first, seq, head, tail, zn = c->z_next;
		ssize_t n;

		tail = ring_tail(w->seg);
		head = ring_head(w->seg);
		if (c->cursor < client_edge(w->seg->ctl->first_seq, tail, head))
			client_lapped(c, tail, head);
		/* Records this client does not get (a pair's second with
		 * unique=1, a notice, what its filter leaves out): passed
		 * unsent, not a gap. */
		for (;;) {
			uint64_t at = c->cursor;

			while (c->cursor < head && client_passes(c, c->cursor))
				c->cursor++;
			if (c->filter.g != NULL)
				filter_skip(c->filter.r, c->filter.g, w->seg,
				    &c->cursor, head);
			if (c->cursor == at)
				break;
		}
		/* Never after a close frame: a gap then goes untold. */
		hold = !(c->flags & CF_CLOSE_QUEUED) &&
		    client_gap_flush(c) == -1;
		first = seq = c->cursor;
		if (c->rest != NULL) {
			struct wctx_unit *u = &w->units[nunits++];

			w->iov[niov].iov_base = c->rest + c->rest_off;
			w->iov[niov++].iov_len = c->rest_len - c->rest_off;
			u->len = c->rest_len - c->rest_off;
			u->seen_us = c->rest_seen;
			u->kind = WCTX_UNIT_REST;
			u->zplain = 0;
			total += u->len;
		}
		if (c->ctl_off < c->ctl_len) {
			struct wctx_unit *u = &w->units[nunits++];

			w->iov[niov].iov_base = c->ctl + c->ctl_off;
			w->iov[niov++].iov_len = (size_t)(c->ctl_len - c->ctl_off);
			u->len = (uint32_t)(c->ctl_len - c->ctl_off);
			u->seen_us = 0;
			u->kind = WCTX_UNIT_CTL;
			u->zplain = 0;
			total += u->len;
		}
		pre = total;    /* bytes before the ring's: rest and control */
		if (!hold && !(c->flags & CF_CLOSE_QUEUED)) {
			while (seq < head && nunits < WCTX_IOV_MAX &&
			    total < WCTX_BUDGET) {
				/* a batch is a run of records it gets */
				if (seq > first && (client_passes(c, seq) ||
				    filter_sel_wants(&c->filter, w->seg,
				    seq) != 1))
					break;
				if (client_add_record(c, seq, &niov, &nunits,
				    &total, &zn) == -1) {
					/* Not lapped yet unreadable: give up on
					 * it rather than spin. */
					if (nunits == 0 &&
					    ring_still_valid(w->seg, seq))
						return client_torn(c);
					break;
				}
				seq++;
				nrec++;
			}
		}
		if (nunits == 0) {
			if (c->flags & CF_CLOSE_QUEUED)
				return client_linger(c);
			if (seq < ring_head(w->seg))
				continue;       /* lapped while building */
			return client_want_write(c, 0);
		}
		/* Lapped while building: drop the batch, resync above. */
		if (nrec > 0 && !ring_still_valid(w->seg, first))
			continue;
		if (c->ssl != NULL) {
			n = client_tls_writev(c, niov, nrec, first);
			if (n == 0)
				continue;       /* lapped while copied */
			if (n < 0) {
				client_close(c);
				return -1;
			}
			if (client_consume(c, (size_t)n, nunits) == -1)
				return -1;
			if (c->tls_pend > 0)
				return client_want_write(c, 1);
			continue;
		}
		n = writev(c->fd, w->iov, niov);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return client_want_write(c, 1);
			if (errno == EINTR)
				continue;
			client_close(c);
			return -1;
		}
		/* The kernel copied the bytes during writev(): were they still
		 * the records we meant? (Only if any of theirs went out.) */
		if (nrec > 0 && (size_t)n > pre &&
		    !ring_still_valid(w->seg, first))
			return client_torn(c);
		if (client_consume(c, (size_t)n, nunits) == -1)
			return -1;
		if ((size_t)n < total)
			return client_want_write(c, 1);
	}
	/* More is due: let the other clients have their turn first. */
	return client_want_write(c, 1);
}

void
client_deliver(struct client *c)
{
	uint64_t tail;

	if (c->state != CS_STREAM || (c->flags & CF_CLOSE_QUEUED))
		return;
	if (!(c->flags & CF_WANT_WRITE)) {
		(void)client_write(c);
		return;
	}
	/* Waiting for a full socket: count the lap now, so a client that
	 * never reads shows up in the stats. A frame already begun is safe
	 * in c->rest. */
	tail = ring_tail(c->w->seg);
	if (c->cursor >= tail)
		return;
	client_lapped(c, tail, ring_head(c->w->seg));
}

void
client_heartbeat(struct client *c, const uint8_t *wsframe, size_t wslen)
{
	int r;

	if (c->state != CS_STREAM || (c->flags & CF_CLOSE_QUEUED))
		return;
	if (c->proto == SP_WS)
		r = client_ctl_add(c, wsframe, wslen);
	else
		r = client_ctl_add(c, SSE_HEARTBEAT, SSE_HEARTBEAT_LEN);
	if (r == -1)
		return;         /* the peer is not reading: nothing to keep alive */
	atomic_fetch_add(&c->w->st->heartbeats, 1);
	if (!(c->flags & CF_WANT_WRITE))
		(void)client_write(c);
}

void
client_ping(struct client *c)
{
	uint8_t f[4];
	size_t n;

	if (c->state != CS_STREAM || c->proto != SP_WS ||
	    (c->flags & CF_CLOSE_QUEUED))
		return;
	n = ws_control_frame(f, WS_OP_PING, 0, NULL, 0);
	if (client_ctl_add(c, f, n) == -1)
		return;
	if (!(c->flags & CF_WANT_WRITE))
		(void)client_write(c);
}

void
client_tick(struct client *c)
{
	const struct config *cfg = c->w->cfg;
	uint32_t now = c->w->now;

	switch (c->state) {
	case CS_HEAD:
		if (now - c->since >=
		    (uint32_t)cfg->server.header_timeout_secs * 1000u)
			client_close(c);  /* slowloris: no answer owed */
		break;
	case CS_RESP:
		/* a refused TLS client's handshake has the header timeout too */
		if (now - c->since >= ((c->flags & CF_TLS_HS) ?
		    (uint32_t)cfg->server.header_timeout_secs * 1000u :
		    CLIENT_RESP_MS))
			client_close(c);
		break;
	case CS_LINGER:
		if (now - c->since >= CLIENT_LINGER_MS)
			client_close(c);
		break;
	case CS_STREAM:
		if (c->flags & CF_CLOSE_QUEUED) {
			if (now - c->since >= CLIENT_LINGER_MS)
				client_close(c);
		} else if (c->proto == SP_WS &&
		    cfg->server.idle_timeout_secs > 0 && now - c->last_rx >=
		    (uint32_t)cfg->server.idle_timeout_secs * 1000u) {
			(void)client_ws_close(c, WS_CLOSE_GOING_AWAY);
		}
		break;
	}
}

void
client_shutdown(struct client *c)
{
	switch (c->state) {
	case CS_HEAD:
		client_close(c);
		break;
	case CS_STREAM:
		if (c->proto == SP_WS) {
			(void)client_ws_close(c, WS_CLOSE_GOING_AWAY);
		} else if (!(c->flags & CF_CLOSE_QUEUED)) {
			/* SSE: end after the event in flight. */
			c->flags |= CF_CLOSE_QUEUED;
			c->since = wctx_clock(c->w);
			if (!(c->flags & CF_WANT_WRITE))
				(void)client_write(c);
		}
		break;
	default:
		break;
	}
}

int
client_behind(const struct client *c, uint64_t head)
{
	return c->state == CS_STREAM && !(c->flags & CF_CLOSE_QUEUED) &&
	    (c->cursor < head || c->rest_off < c->rest_len);
}

/* Answer with a whole HTTP response, then close. */
static int
client_answer(struct client *c, int status, const char *msg, const char *extra)
{
	struct wctx *w = c->w;

	atomic_fetch_add(&w->st->http_requests, 1);
	if (status >= 400)
		atomic_fetch_add(&w->st->http_errors, 1);
	c->state = CS_RESP;
	c->since = wctx_clock(w);
	free(c->head);
	c->head = NULL;
	if (c->out == NULL && (c->out = evbuffer_new()) == NULL) {
		log_warnx("%s: evbuffer_new", __func__);
		client_close(c);
		return -1;
	}
	if (msg != NULL && endpoints_error(c->out, status, msg, extra, 0) == -1) {
		log_warnx("%s: no memory for a %d answer", __func__, status);
		client_close(c);
		return -1;
	}
	/* A TLS client refused at accept: it goes out once the handshake is
	 * done (client_handshake), not as a bare close in the middle of it. */
	if (c->flags & CF_TLS_HS)
		return 0;
	return client_write(c);
}

static int
client_stream_for(const char *path)
{
	if (strcmp(path, "/") == 0)
		return RV_LITE;
	if (strcmp(path, "/full-stream") == 0)
		return RV_FULL;
	if (strcmp(path, "/domains-only") == 0)
		return RV_DOMAINS;
	return -1;
}

static int
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
static int
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
static void
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
	atomic_fetch_add(&w->st->skipped, skipped);
	if (c->proto == SP_SSE) {
		len = sse_skipped_comment(buf, sizeof(buf), skipped);
		if (len > 0)
			(void)client_ctl_add(c, buf, len);
	}
}

/* The request's filter into c->filter. 0; 1 a bad one was answered; -1
 * c was closed. */
static int
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
client_start_ws(struct client *c, const struct http_request *req, int stream,
    const char *accept, const char *rest, size_t restlen)
{
	struct wctx *w = c->w;
	uint64_t last = 0;
	char val[8], zresp[WS_DEFLATE_RESP_MAX];
	char ext[WS_DEFLATE_RESP_MAX + 32] = "";
	long n;
	int r, f;

	if ((r = client_resume_id(req, &last)) == -1)
		return client_answer(c, 400, "since must be a record id", NULL);
	if ((f = client_filter(c, req)) != 0)
		return f == -1 ? -1 : 0;
	atomic_fetch_add(&w->st->http_requests, 1);
	if (restlen > sizeof(c->rbuf)) {
		/* Frames sent before our 101: no client does that. */
		return client_answer(c, 400, "data before the handshake", NULL);
	}
	c->z_next = UINT64_MAX;        /* in step only from a keyframe */
	if (w->cfg->compression.enabled &&
	    ws_deflate_negotiate(req, zresp) == 1) {
		c->flags |= CF_DEFLATE;
		snprintf(ext, sizeof(ext), "Sec-WebSocket-Extensions: %s\r\n",
		    zresp);
	}
	if ((c->out = evbuffer_new()) == NULL ||
	    evbuffer_add_printf(c->out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept, ext) < 0) {
		log_warnx("%s: evbuffer", __func__);
		client_close(c);
		return -1;
	}
	memcpy(c->rbuf, rest, restlen);
	c->rlen = (uint16_t)restlen;
	c->proto = SP_WS;
	n = http_query_get(&req->query, "gaps", val, sizeof(val));
	if (n >= 0 && (strcmp(val, "1") == 0 || strcmp(val, "true") == 0))
		c->flags |= CF_GAPS;
	n = http_query_get(&req->query, "unique", val, sizeof(val));
	if (n >= 0 && (strcmp(val, "1") == 0 || strcmp(val, "true") == 0))
		c->flags |= CF_UNIQUE;
	/* Live (the next record published), or after the id asked for. */
	c->cursor = ring_head(w->seg);
	if (r == 1)
		client_resume(c, last);
	if (client_start_stream(c, SP_WS, stream) == -1)
		return -1;
	return c->rlen > 0 ? client_frames(c) : 0;
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
	c->cursor = ring_head(w->seg);
	if (r == 1)
		client_resume(c, last);
	atomic_fetch_add(&w->st->http_requests, 1);
	len = sse_response_head(buf, sizeof(buf), 0);
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
	atomic_fetch_add(&c->w->st->auth_failures, 1);
	return client_answer(c, 401, "missing or invalid token",
	    "WWW-Authenticate: Bearer\r\n");
}

static enum auth_scope
client_scope(const char *path)
{
	if (strcmp(path, "/sse") == 0)
		return AUTH_STREAM;
	if (strcmp(path, "/latest.json") == 0 ||
	    strcmp(path, "/example.json") == 0)
		return AUTH_DATA;
	if (strcmp(path, "/health") == 0 || strcmp(path, "/health/deep") == 0)
		return AUTH_HEALTH;
	if (strcmp(path, "/metrics") == 0)
		return AUTH_METRICS;
	return AUTH_OPEN;
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
	int stream, status;
	long plen;

	plen = http_path_normalize(&req->path, path, sizeof(path));
	if (plen < 0)
		return client_answer(c, 400, "bad request path", NULL);
	stream = client_stream_for(path);
	hs = ws_handshake_check(req, accept);
	if (hs != WS_HS_NOT_UPGRADE) {
		if (stream < 0 || !cfg->protocols.websocket)
			return client_answer(c, 404, "not found", NULL);
		if (!auth_allowed(cfg, req, AUTH_STREAM))
			return client_unauthorized(c);
		switch (hs) {
		case WS_HS_OK:
			return client_start_ws(c, req, stream, accept,
			    c->head + req->head_len, c->head_len - req->head_len);
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
	if (!auth_allowed(cfg, req, client_scope(path)) &&
	    !(req->method.len == 7 && memcmp(req->method.p, "OPTIONS", 7) == 0))
		return client_unauthorized(c);
	if (strcmp(path, "/sse") == 0 && cfg->protocols.sse &&
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

static int
client_read_head(struct client *c)
{
	struct wctx *w = c->w;
	size_t max;
	int i;

	if (c->head == NULL) {
		c->head_cap = (uint32_t)w->cfg->server.max_header_bytes;
		if ((c->head = malloc((size_t)c->head_cap + 1)) == NULL) {
			log_warn("%s: malloc(%u)", __func__, c->head_cap + 1);
			client_close(c);
			return -1;
		}
		memset(&c->hp, 0, sizeof(c->hp));
	}
	max = c->head_cap;
	for (i = 0; i < CLIENT_READS_PER_TURN; i++) {
		enum http_parse_result r;
		ssize_t n;

		if (c->head_len >= max)
			return client_answer(c, 431, "request head too large",
			    NULL);
		n = client_recv(c, c->head + c->head_len, max - c->head_len);
		if (n == 0 || (n < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR)) {
			client_close(c);
			return -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		c->head_len += (uint32_t)n;
		c->last_rx = wctx_clock(w);
		r = http_parse_resume(&c->hp, c->head, c->head_len, max,
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

/* Read and drop whatever arrives; EOF ends a stream or a linger. */
static int
client_discard(struct client *c)
{
	int i;

	for (i = 0; i < CLIENT_READS_PER_TURN; i++) {
		ssize_t n = client_recv(c, c->w->scratch, sizeof(c->w->scratch));

		if (n > 0) {
			c->last_rx = wctx_clock(c->w);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && c->state == CS_RESP) {
			c->flags |= CF_EOF;     /* still owe the answer */
			return client_events(c);
		}
		client_close(c);
		return -1;
	}
	return 0;
}

/* Data payload bytes arrived: text is unmasked and checked as UTF-8
 * across fragments. Returns 1 if the message is not valid UTF-8. */
static int
client_payload(struct client *c, uint8_t *p, size_t n, int frame_done)
{
	if (!(c->flags & CF_TEXT))
		return 0;
	ws_unmask(p, n, c->mask, c->pay_off);
	c->pay_off += n;
	c->utf8 = utf8_feed(c->utf8, p, n);
	if (c->utf8 == UTF8_BAD)
		return 1;
	/* The message ends mid-character. */
	return frame_done && (c->flags & CF_FRAME_FIN) && c->utf8 != UTF8_OK;
}

static void
client_rbuf_drop(struct client *c, size_t n)
{
	memmove(c->rbuf, c->rbuf + n, c->rlen - n);
	c->rlen = (uint16_t)(c->rlen - n);
}

/* Parse the client frames in rbuf. Data is ignored (only its size is
 * checked); control frames are answered. */
static int
client_frames(struct client *c)
{
	uint64_t max = (uint64_t)c->w->cfg->server.max_frame_bytes;

	while (c->rlen > 0 && c->skip == 0 && !(c->flags & CF_DISCARD)) {
		struct ws_frame f;
		enum ws_frame_result r;
		uint8_t *payload, out[128];
		size_t plen, take;
		uint16_t code;
		int bad, z;

		z = 0;
		r = (c->flags & CF_DEFLATE) ? ws_deflate_frame_parse(c->rbuf,
		    c->rlen, max, &f, &z) : ws_frame_parse(c->rbuf, c->rlen, max,
		    &f);
		if (r == WS_FRAME_INCOMPLETE)
			break;
		if (r == WS_FRAME_ERR_TOO_BIG)
			return client_ws_close(c, WS_CLOSE_TOO_BIG);
		if (r != WS_FRAME_OK)
			return client_ws_close(c, WS_CLOSE_PROTOCOL);
		if (f.opcode >= WS_OP_CLOSE) {
			if (c->rlen < f.header_len + f.payload_len)
				break;  /* control payload still coming */
			payload = c->rbuf + f.header_len;
			plen = (size_t)f.payload_len;
			ws_unmask(payload, plen, f.mask, 0);
			if (f.opcode == WS_OP_PING) {
				size_t n = ws_control_frame(out, WS_OP_PONG, 0,
				    payload, plen);

				/* Only the latest ping needs its pong. */
				(void)client_ctl_add(c, out, n);
			} else if (f.opcode == WS_OP_CLOSE) {
				code = ws_close_check(payload, plen);
				client_rbuf_drop(c, f.header_len + plen);
				return client_ws_close(c, code);
			}
			client_rbuf_drop(c, f.header_len + plen);
			continue;
		}
		if (f.opcode == WS_OP_CONT) {
			if (!(c->flags & CF_IN_MSG))
				return client_ws_close(c, WS_CLOSE_PROTOCOL);
		} else {
			if (c->flags & CF_IN_MSG)
				return client_ws_close(c, WS_CLOSE_PROTOCOL);
			c->flags |= CF_IN_MSG;
			c->msg_len = 0;
		}
		c->msg_len += f.payload_len;
		if (c->msg_len > max)
			return client_ws_close(c, WS_CLOSE_TOO_BIG);
		if (f.fin)
			c->flags &= (uint16_t)~CF_IN_MSG;
		if (f.fin)
			c->flags |= CF_FRAME_FIN;
		else
			c->flags &= (uint16_t)~CF_FRAME_FIN;
		if (f.opcode == WS_OP_TEXT && !z) {
			c->flags |= CF_TEXT;
			c->utf8 = UTF8_OK;
		} else if (f.opcode != WS_OP_CONT) {
			/* binary, or compressed: its bytes are not text
			 * (never inflated: the server ignores client data) */
			c->flags &= (uint16_t)~CF_TEXT;
		}
		memcpy(c->mask, f.mask, sizeof(c->mask));
		c->pay_off = 0;
		take = c->rlen - f.header_len;
		if (take > f.payload_len)
			take = (size_t)f.payload_len;
		c->skip = f.payload_len - take;
		bad = client_payload(c, c->rbuf + f.header_len, take, c->skip == 0);
		client_rbuf_drop(c, f.header_len + take);
		if (bad)
			return client_ws_close(c, WS_CLOSE_BAD_DATA);
	}
	if (c->ctl_off < c->ctl_len && !(c->flags & CF_WANT_WRITE))
		return client_write(c);
	return 0;
}

static int
client_read_ws(struct client *c)
{
	struct wctx *w = c->w;
	int i;

	for (i = 0; i < CLIENT_READS_PER_TURN; i++) {
		ssize_t n;

		if (c->flags & CF_DISCARD)
			return client_discard(c);
		if (c->skip > 0) {
			size_t want = sizeof(w->scratch);

			if (c->skip < want)
				want = (size_t)c->skip;
			n = client_recv(c, w->scratch, want);
		} else {
			n = client_recv(c, c->rbuf + c->rlen,
			    sizeof(c->rbuf) - c->rlen);
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			client_close(c);
			return -1;
		}
		c->last_rx = wctx_clock(w);
		if (c->skip > 0) {
			c->skip -= (uint64_t)n;
			if (client_payload(c, w->scratch, (size_t)n, c->skip == 0))
				return client_ws_close(c, WS_CLOSE_BAD_DATA);
			if (c->skip > 0 || c->rlen == 0)
				continue;
		} else {
			c->rlen = (uint16_t)(c->rlen + n);
		}
		if (client_frames(c) == -1)
			return -1;
	}
	return 0;
}

/* A TLS handshake step; the header timeout bounds the whole handshake. */
static void
client_handshake(struct client *c)
{
	static const char refuse[] = "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: application/json\r\nContent-Length: 51\r\n"
	    "Connection: close\r\n\r\n"
	    "{\"error\":\"this port speaks TLS: use https or wss\"}\n";
	int want_write, plain, r;

	r = tls_accept(c->ssl, &want_write, &plain);
	if (r == 1) {
		c->flags &= (uint16_t)~CF_TLS_HS;
		c->last_rx = wctx_clock(c->w);
		if (client_want_write(c, 0) == -1)
			return;
		if (c->state == CS_RESP) {
			/* refused by the limits: the answer waited for this */
			(void)client_write(c);
			return;
		}
		/* The request may already sit decrypted in OpenSSL. */
		if (SSL_pending(c->ssl) > 0 || SSL_has_pending(c->ssl))
			(void)client_read_head(c);
		return;
	}
	if (r == 0) {
		(void)client_want_write(c, want_write);
		return;
	}
	if (plain) {
		/* Plain HTTP on the TLS port: say so in plain HTTP, once. */
		atomic_fetch_add(&c->w->st->http_requests, 1);
		atomic_fetch_add(&c->w->st->http_errors, 1);
		if (write(c->fd, refuse, sizeof(refuse) - 1) > 0) {
			/* Take the rest of the request so that the close
			 * is a FIN, not a reset over the answer. */
			while (read(c->fd, c->w->scratch,
			    sizeof(c->w->scratch)) > 0)
				;
			(void)shutdown(c->fd, SHUT_WR);
		}
	}
	log_debug("client fd %d: TLS handshake failed", c->fd);
	client_close(c);
}

static void
client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	(void)fd;
	if (c->flags & CF_TLS_HS) {
		client_handshake(c);
		return;
	}
	if (what & EV_READ) {
		int r;

		switch (c->state) {
		case CS_HEAD:
			r = client_read_head(c);
			break;
		case CS_STREAM:
			r = c->proto == SP_WS ? client_read_ws(c) :
			    client_discard(c);
			break;
		default:
			r = client_discard(c);
			break;
		}
		if (r == -1)
			return;
		/* Bytes OpenSSL already decrypted raise no socket event:
		 * come back for them after the others' turn. */
		if (c->ssl != NULL && SSL_pending(c->ssl) > 0 &&
		    (c->evflags & EV_READ))
			event_active(&c->ev, EV_READ, 0);
	}
	if ((what & EV_WRITE) && (c->flags & CF_WANT_WRITE))
		(void)client_write(c);
}
