/*
 * The stream writer: a streaming client is a cursor into the ring, and
 * when its socket is writable
 *
 *   [rest of a partly written record][control bytes][records cursor..head]
 *
 * go out in one writev() straight from shared memory (no allocation, no
 * copy of record bytes, except the rest of a record cut mid-write). Control
 * bytes (heartbeat, ping, pong, close, SSE comments) wait in a small
 * per-client buffer and only ever start on a frame boundary, so frames
 * never interleave. After the write the ring tells whether the bytes were
 * still intact; a client that got torn bytes is closed. When a write stops
 * inside a record, the rest of that one record is copied out of the ring at
 * once, so a slow client that is lapped later still ends its frame and
 * skips ahead instead of being cut off mid-frame: its only memory is that
 * one rest. Records a client does not get (filter, unique=1, notices) are
 * passed unsent; a client the ring laps skips ahead and is told of the gap;
 * a client that negotiated permessage-deflate gets the ring's shared
 * compressed frames while in step.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include <event2/buffer.h>

#include "broadcast/client_priv.h"
#include "broadcast/sse.h"
#include "broadcast/sse_gzip.h"
#include "broadcast/tls.h"
#include "broadcast/ws.h"
#include "common/log.h"
#include "shm/ring.h"

/* Queue control bytes; they go out on the next frame boundary. */
int
client_ctl_add(struct client *c, const void *p, size_t len)
{
	size_t gz = (c->flags & CF_GZIP) ? SSE_GZIP_STORED_HDR : 0;

	if (c->ctl_off > 0 && c->ctl_off == c->ctl_len)
		c->ctl_off = c->ctl_len = 0;
	if (c->ctl_len + gz + len > CLIENT_CTL_MAX && c->ctl_off > 0) {
		/* The iovec is rebuilt from ctl_off on every write. */
		memmove(c->ctl, c->ctl + c->ctl_off, c->ctl_len - c->ctl_off);
		c->ctl_len = (uint16_t)(c->ctl_len - c->ctl_off);
		c->ctl_off = 0;
	}
	if (c->ctl_len + gz + len > CLIENT_CTL_MAX)
		return -1;
	if (gz > 0) {   /* a stored block: out of the shared stream's step */
		sse_gzip_stored(c->ctl + c->ctl_len, len);
		c->ctl_len = (uint16_t)(c->ctl_len + gz);
		c->z_next = UINT64_MAX;
	}
	memcpy(c->ctl + c->ctl_len, p, len);
	c->ctl_len = (uint16_t)(c->ctl_len + len);
	return 0;
}

/* The rest of a record was overwritten before it could go out, or went out
 * torn: the client cannot get an intact frame any more. */
static int
client_torn(struct client *c)
{
	wstat_add(&c->w->st->torn_closed, 1);
	log_debug("client fd %d: record %llu reused mid-write, closing", c->fd,
	    (unsigned long long)c->cursor);
	client_close(c);
	return -1;
}

/* Note records the client will not get: SSE clients, and WebSocket clients
 * that asked with gaps=1, are told before the next record (client_gap_flush).
 * Gaps in a row, not told yet, merge into one. */
void
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
		wstat_add(&c->w->st->lapped, 1);
	}
	if (!(c->flags & CF_LAP_LOGGED)) {
		c->flags |= CF_LAP_LOGGED;
		log_info("client fd %d: too slow, lapped by the ring: skipped "
		    "%llu records (further laps only counted)", c->fd,
		    (unsigned long long)n);
	}
	wstat_add(&c->w->st->skipped, n);
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

/* Does this client pass a record with flags f (ring_flags): the second of
 * a pair with unique=1, a notice for a WebSocket client without gaps=1, an
 * id the source skipped? */
static int
client_passes_f(const struct client *c, int f)
{
	return f > 0 && (((f & RING_F_PAIRED) && (c->flags & CF_UNIQUE)) ||
	    (f & RING_F_GAP) || ((f & RING_F_NOTICE) && c->proto == SP_WS &&
	    !(c->flags & CF_GAPS)));
}

static int
client_passes(struct client *c, uint64_t seq)
{
	return client_passes_f(c, ring_flags(c->w->seg, seq));
}

/* client_passes at the cursor, moving it: a skipped id is told as a gap
 * (ids in a row merge into one notice, as a lapped client's). */
static int
client_pass(struct client *c)
{
	int f = ring_flags(c->w->seg, c->cursor);

	if (!client_passes_f(c, f))
		return 0;
	if (f & RING_F_GAP)
		client_gap(c, 1, c->cursor, c->cursor);
	c->cursor++;
	return 1;
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
	if (c->flags & CF_GZIP)
		return sse_gzip_parts(w->seg, seq, c->stream, zn == seq,
		    (unsigned)unit, part, seen, z);
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

	wstat_add(&st->stream_zbytes[c->stream][c->proto], zlen);
	wstat_add(&st->stream_zplain[c->stream][c->proto], plen);
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
	wstat_add(&st->lat_bucket[i], 1);
	wstat_add(&st->lat_sum_us, (uint64_t)d);
	wstat_add(&st->lat_count, 1);
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
	wstat_add(&w->st->bytes_sent, n);
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
	wstat_add(&w->st->stream_bytes[c->stream][c->proto], sent);
	if (msgs > 0) {
		wstat_add(&w->st->messages_sent, msgs);
		wstat_add(&w->st->stream_msgs[c->stream][c->proto], msgs);
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
				wstat_add(&c->w->st->bytes_sent,
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
		wstat_add(&c->w->st->bytes_sent, (uint64_t)n);
	}
	evbuffer_free(c->out);
	c->out = NULL;
	if (c->state != CS_STREAM)
		return client_linger(c) == -1 ? -1 : 0;
	return 1;
}

/* Write what is due, until caught up, the socket is full or the turn ends.
 * Returns 0, or -1 when c was closed. */
int
client_write(struct client *c)
{
	struct wctx *w = c->w;
	int round;

	if (c->closed)
		return -1;
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

			while (c->cursor < head && client_pass(c))
				;
			if (c->filter.g != NULL)
				filter_skip(c->filter.r, c->filter.g, w->seg,
				    &c->cursor, head);
			if (c->cursor == at)
				break;
		}
		/* Never after a close frame: a gap then goes untold. Told at
		 * once, unless the newest record is a skipped id (an edge's
		 * RING_F_GAP run may still be growing): then with what
		 * follows, so the run goes out as one notice. */
		{
			int f = c->cursor == head && head > 0 ?
			    ring_flags(w->seg, head - 1) : -1;
			int growing = f > 0 && (f & RING_F_GAP);

			hold = !(c->flags & CF_CLOSE_QUEUED) && !growing &&
			    client_gap_flush(c) == -1;
		}
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

	if (c->closed || c->state != CS_STREAM ||
	    (c->flags & CF_CLOSE_QUEUED))
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

	if (c->closed || c->state != CS_STREAM ||
	    (c->flags & CF_CLOSE_QUEUED))
		return;
	if (c->proto == SP_WS)
		r = client_ctl_add(c, wsframe, wslen);
	else
		r = client_ctl_add(c, SSE_HEARTBEAT, SSE_HEARTBEAT_LEN);
	if (r == -1)
		return;         /* the peer is not reading: nothing to keep alive */
	wstat_add(&c->w->st->heartbeats, 1);
	if (!(c->flags & CF_WANT_WRITE))
		(void)client_write(c);
}

void
client_ping(struct client *c)
{
	uint8_t f[4];
	size_t n;

	if (c->closed || c->state != CS_STREAM || c->proto != SP_WS ||
	    (c->flags & CF_CLOSE_QUEUED))
		return;
	n = ws_control_frame(f, WS_OP_PING, 0, NULL, 0);
	if (client_ctl_add(c, f, n) == -1)
		return;
	if (!(c->flags & CF_WANT_WRITE))
		(void)client_write(c);
}
