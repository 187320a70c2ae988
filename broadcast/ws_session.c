/*
 * A client's WebSocket session after the upgrade: the 101 answer (with
 * permessage-deflate when offered), then reading the client's frames:
 * data is only size-checked (and text UTF-8-checked), pings are answered,
 * a close is returned.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "broadcast/client_priv.h"
#include "broadcast/ws.h"
#include "broadcast/ws_deflate.h"
#include "common/log.h"
#include "common/utf8.h"
#include "shm/ring.h"
#include "shm/ring_deflate.h"

/* Send a WebSocket close with code (0: none) and stop streaming. */
int
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

int
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
	wstat_add(&w->st->http_requests, 1);
	if (restlen > sizeof(c->rbuf)) {
		/* Frames sent before our 101: no client does that. */
		return client_answer(c, 400, "data before the handshake", NULL);
	}
	c->z_next = UINT64_MAX;        /* in step only from a keyframe */
	if (w->cfg->compression.enabled &&
	    ws_deflate_negotiate(req, zresp) == 1) {
		c->flags |= CF_DEFLATE;
		ring_deflate_want(w->seg, stream, SP_WS, ring_deflate_now_ms());
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

/* Data payload bytes arrived: text is unmasked and checked as UTF-8
 * across fragments. Returns 1 if the message is not valid UTF-8. */
static int
client_payload(struct client *c, uint8_t *p, size_t n, int frame_done)
{
	if (!(c->flags & CF_TEXT))
		return 0;
	ws_unmask(p, n, c->mask, c->pay_off);
	c->pay_off += (uint32_t)n;
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
int
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
		/* (max may have shrunk on a reload since msg_len grew) */
		if (c->msg_len > max || f.payload_len > max - c->msg_len)
			return client_ws_close(c, WS_CLOSE_TOO_BIG);
		c->msg_len += (uint32_t)f.payload_len;
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
		c->skip = (uint32_t)(f.payload_len - take);
		bad = client_payload(c, c->rbuf + f.header_len, take, c->skip == 0);
		client_rbuf_drop(c, f.header_len + take);
		if (bad)
			return client_ws_close(c, WS_CLOSE_BAD_DATA);
	}
	if (c->ctl_off < c->ctl_len && !(c->flags & CF_WANT_WRITE))
		return client_write(c);
	return 0;
}

int
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
			c->skip -= (uint32_t)n;
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
