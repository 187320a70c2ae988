/*
 * Load generator clients: one process's WebSocket and SSE connections on a
 * bare libevent loop (no bufferevents: one recv per readable event into a
 * shared scratch buffer; only a partial frame is kept per connection).
 * Per message: find the frame, scan back from its end for "seen" and
 * "cert_index", nothing else.
 */
#include <errno.h>
#include <stdint.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "tests/bench/loadgen.h"

#define SCRATCH (512 * 1024)
#define MAX_INFLIGHT 512         /* handshakes in progress at once */
#define MAX_FRAME (256 * 1024)

enum { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_STREAM, C_DEAD };
enum { K_WS, K_SSE };

struct conn {
	int fd;
	uint8_t state, kind, stall, sse_body;
	struct event *ev;
	char *carry;
	uint32_t carry_len, carry_cap;
	int64_t feedpos;        /* WS: position in the feed; SSE: last id */
	const char *path;
	struct cl *cl;
};

struct cl {
	const struct lg_client_opts *o;
	struct lg_stats *st;
	struct event_base *base;
	struct event *tick;
	struct conn *c;
	int next;               /* next connection to start */
	int inflight;
	int64_t start_mono;
	struct sockaddr_in sa;
	struct sockaddr_in src;
	int64_t now;            /* realtime of the current read */
	int64_t ws, we;         /* the window, as the parent last set it */
};

static char scratch[SCRATCH];

static void conn_cb(evutil_socket_t, short, void *);

static void
conn_kill(struct conn *c, int counted_close)
{
	struct cl *cl = c->cl;

	if (c->state == C_DEAD)
		return;
	if (c->state == C_CONNECTING || c->state == C_HANDSHAKE) {
		cl->inflight--;
		cl->st->connect_errors++;
	} else if (counted_close) {
		cl->st->closed++;
	}
	if (c->ev != NULL)
		event_free(c->ev);
	c->ev = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->carry);
	c->carry = NULL;
	c->carry_len = c->carry_cap = 0;
	c->state = C_DEAD;
}

static void
conn_start(struct cl *cl, struct conn *c)
{
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		cl->st->connect_errors++;
		c->state = C_DEAD;
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->cl = cl;
	/* One loopback source address per process: each has its own ~28k
	 * ephemeral ports (chosen at connect, not at bind). */
	if (cl->o->src != NULL &&
	    (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&cl->src, sizeof(cl->src)) == -1)) {
		close(fd);
		c->fd = -1;
		cl->st->connect_errors++;
		c->state = C_DEAD;
		return;
	}
	c->state = C_CONNECTING;
	cl->inflight++;
	if (connect(fd, (struct sockaddr *)&cl->sa, sizeof(cl->sa)) == -1 &&
	    errno != EINPROGRESS) {
		conn_kill(c, 0);
		return;
	}
	if ((c->ev = event_new(cl->base, fd, EV_WRITE, conn_cb, c)) == NULL ||
	    event_add(c->ev, NULL) == -1)
		conn_kill(c, 0);
}

static int
send_request(struct conn *c)
{
	char req[8192]; /* filter URLs of the filter bench run to a few KB */
	int n;

	if (c->kind == K_WS)
		n = snprintf(req, sizeof(req),
		    "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n",
		    c->path, c->cl->o->host, c->cl->o->port);
	else
		n = snprintf(req, sizeof(req),
		    "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n\r\n",
		    c->path, c->cl->o->host, c->cl->o->port);
	if (n <= 0 || (size_t)n >= sizeof(req))
		return -1;
	return write(c->fd, req, (size_t)n) == n ? 0 : -1;
}

static int
keep(struct conn *c, const char *p, size_t len)
{
	if (len > MAX_FRAME)
		return -1;
	if (len == 0) {
		c->carry_len = 0;
		return 0;
	}
	if (len > c->carry_cap) {
		char *n = realloc(c->carry, len);

		if (n == NULL)
			return -1;
		c->carry = n;
		c->carry_cap = (uint32_t)len;
	}
	memmove(c->carry, p, len);
	c->carry_len = (uint32_t)len;
	return 0;
}

static int
in_window(struct cl *cl)
{
	return !cl->o->idle && cl->ws != 0 && cl->now >= cl->ws &&
	    cl->now < cl->we;
}

static void
ws_seq(struct conn *c, int64_t idx)
{
	const struct lg_msgs *f = c->cl->o->feed;
	size_t n, k, from;

	if (f == NULL || idx < 0)
		return;
	n = f->n;
	from = c->feedpos < 0 ? 0 : (size_t)(c->feedpos + 1) % n;
	for (k = 0; k < n; k++)
		if (f->index[(from + k) % n] == idx)
			break;
	if (k == n) {
		c->cl->st->unparsed++;
		return;
	}
	if (c->feedpos >= 0 && k > 0 && in_window(c->cl)) {
		c->cl->st->gaps++;
		c->cl->st->skipped += k;
	}
	c->feedpos = (int64_t)((from + k) % n);
}

static void
on_message(struct conn *c, const char *p, size_t len)
{
	struct cl *cl = c->cl;
	int64_t seen, idx;
	int hb;

	if (lg_parse_msg(p, len, &seen, &idx, &hb) == -1) {
		if (in_window(cl))
			cl->st->unparsed++;
		return;
	}
	if (hb) {
		if (in_window(cl))
			cl->st->heartbeats++;
		return;
	}
	cl->st->total_messages++;
	if (c->kind == K_WS)
		ws_seq(c, idx);
	if (!in_window(cl))
		return;
	cl->st->messages++;
	lg_hist_add(&cl->st->lat, cl->now - seen);
}

static void
ws_pong(struct conn *c, const char *payload, size_t len)
{
	char f[6 + 125];

	if (len > 125)
		return;
	f[0] = (char)0x8A;
	f[1] = (char)(0x80 | len);
	memset(f + 2, 0, 4); /* zero mask: payload unchanged */
	memcpy(f + 6, payload, len);
	(void)!write(c->fd, f, 6 + len);
}

/* Parse whole frames; returns bytes used, or -1 to close. */
static ssize_t
ws_parse(struct conn *c, const char *buf, size_t len)
{
	size_t at = 0;

	while (len - at >= 2) {
		const unsigned char *h = (const unsigned char *)buf + at;
		uint64_t plen = h[1] & 0x7f;
		size_t hl = 2;
		int op = h[0] & 0x0f;

		if (h[1] & 0x80)
			return -1; /* servers never mask */
		if (plen == 126) {
			if (len - at < 4)
				break;
			plen = ((uint64_t)h[2] << 8) | h[3];
			hl = 4;
		} else if (plen == 127) {
			if (len - at < 10)
				break;
			plen = 0;
			for (int i = 2; i < 10; i++)
				plen = (plen << 8) | h[i];
			hl = 10;
		}
		if (plen > MAX_FRAME)
			return -1;
		if (len - at < hl + plen)
			break;
		switch (op) {
		case 0x0:
		case 0x1:
		case 0x2:
			on_message(c, buf + at + hl, (size_t)plen);
			break;
		case 0x8:
			return -2; /* the server closed: not a protocol error */
		case 0x9:
			ws_pong(c, buf + at + hl, (size_t)plen);
			break;
		default:
			break;
		}
		at += hl + plen;
	}
	return (ssize_t)at;
}

static ssize_t
sse_parse(struct conn *c, const char *buf, size_t len)
{
	size_t at = 0;
	struct cl *cl = c->cl;

	for (;;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t ll;
		const char *l = buf + at;

		if (nl == NULL)
			break;
		ll = (size_t)(nl - l);
		if (ll > 0 && l[ll - 1] == '\r')
			ll--;
		if (ll >= 6 && memcmp(l, "data: ", 6) == 0) {
			on_message(c, l + 6, ll - 6);
		} else if (ll >= 4 && memcmp(l, "id: ", 4) == 0) {
			int64_t id = 0;
			size_t i = 4;

			while (i < ll && l[i] >= '0' && l[i] <= '9')
				id = id * 10 + (l[i++] - '0');
			if (i == ll) {
				if (c->feedpos >= 0 && id != c->feedpos + 1 &&
				    in_window(cl)) {
					cl->st->gaps++;
					if (id > c->feedpos + 1)
						cl->st->skipped += (uint64_t)(id - c->feedpos - 1);
				}
				c->feedpos = id;
			}
		} else if (ll >= 1 && l[0] == ':') {
			if (memmem(l, ll, "heartbeat", 9) != NULL && in_window(cl))
				cl->st->heartbeats++;
		}
		at = (size_t)(nl - buf) + 1;
	}
	if (len - at > MAX_FRAME)
		return -1;
	return (ssize_t)at;
}

static void
handshake_done(struct conn *c)
{
	struct cl *cl = c->cl;

	c->state = C_STREAM;
	cl->inflight--;
	cl->st->connected++;
	if (c->stall) {
		/* connected, never read again: the kernel buffers fill up */
		event_del(c->ev);
	}
}

static void
on_read(struct conn *c)
{
	struct cl *cl = c->cl;
	size_t have = c->carry_len;
	ssize_t n, used;

	if (have)
		memcpy(scratch, c->carry, have);
	n = recv(c->fd, scratch + have, SCRATCH - have, 0);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		conn_kill(c, 1);
		return;
	}
	if (n == -1)
		return;
	cl->now = lg_now_us();
	if (in_window(cl))
		cl->st->bytes += (uint64_t)n;
	have += (size_t)n;
	used = 0;
	if (c->state == C_HANDSHAKE) {
		char *end = memmem(scratch, have, "\r\n\r\n", 4);

		if (end == NULL) {
			if (have > 8192 || keep(c, scratch, have) == -1) {
				conn_kill(c, 0);
				return;
			}
			return;
		}
		if (have < 12 || (memcmp(scratch + 9, "101", 3) != 0 &&
		    memcmp(scratch + 9, "200", 3) != 0)) {
			cl->st->proto_errors++;
			conn_kill(c, 0);
			return;
		}
		used = end + 4 - scratch;
		handshake_done(c);
		if (c->stall)
			return;
	}
	n = c->kind == K_WS ? ws_parse(c, scratch + used, have - (size_t)used) :
	    sse_parse(c, scratch + used, have - (size_t)used);
	if (n < 0) {
		if (n == -1)
			cl->st->proto_errors++;
		conn_kill(c, 1);
		return;
	}
	used += n;
	if (keep(c, scratch + used, have - (size_t)used) == -1) {
		cl->st->proto_errors++;
		conn_kill(c, 1);
	}
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int err = 0;
	socklen_t el = sizeof(err);

	(void)what;
	if (c->state == C_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 || err != 0 ||
		    send_request(c) == -1) {
			conn_kill(c, 0);
			return;
		}
		event_free(c->ev);
		c->state = C_HANDSHAKE;
		if ((c->ev = event_new(c->cl->base, fd, EV_READ | EV_PERSIST, conn_cb,
		    c)) == NULL || event_add(c->ev, NULL) == -1)
			conn_kill(c, 0);
		return;
	}
	on_read(c);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cl *cl = arg;
	const struct lg_client_opts *o = cl->o;
	int64_t now = lg_now_us(), el = lg_mono_us() - cl->start_mono;
	int want;

	(void)fd;
	(void)what;
	want = o->ramp > 0 ? (int)((double)el * o->ramp / 1e6) + 1 : o->nclients;
	if (want > o->nclients)
		want = o->nclients;
	while (cl->next < want && cl->inflight < MAX_INFLIGHT)
		conn_start(cl, &cl->c[cl->next++]);
	if (cl->st->connect_done_us == 0 && cl->next == o->nclients &&
	    cl->inflight == 0)
		cl->st->connect_done_us = now;
	cl->ws = o->win[0];
	cl->we = o->win[1] ? o->win[1] : INT64_MAX;
	if (now >= cl->we || now >= o->hard_end_us)
		event_base_loopbreak(cl->base);
}

int
lg_client_run(const struct lg_client_opts *o, struct lg_stats *st)
{
	struct cl cl;
	struct timeval tv = { 0, 2000 };
	int64_t tot = 0;
	int rc = -1;

	memset(&cl, 0, sizeof(cl));
	cl.o = o;
	cl.st = st;
	cl.sa.sin_family = AF_INET;
	cl.sa.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &cl.sa.sin_addr) != 1)
		return -1;
	cl.src.sin_family = AF_INET;
	if (o->src != NULL && inet_pton(AF_INET, o->src, &cl.src.sin_addr) != 1)
		return -1;
	if ((cl.c = calloc((size_t)o->nclients + 1, sizeof(*cl.c))) == NULL)
		return -1;
	for (int i = 0; i < o->npaths; i++)
		tot += o->weights[i];
	for (int i = 0; i < o->nclients; i++) {
		struct conn *c = &cl.c[i];
		/* spread the mix evenly: client i takes the path its slot falls in */
		int64_t slot = tot > 0 ? ((int64_t)i * 7919) % tot : 0, acc = 0;
		int p = 0;

		for (p = 0; p < o->npaths - 1; p++) {
			acc += o->weights[p];
			if (slot < acc)
				break;
		}
		c->fd = -1;
		c->path = o->paths[p];
		c->kind = strncmp(c->path, "/sse", 4) == 0 ? K_SSE : K_WS;
		c->stall = i < o->nstall;
		c->feedpos = -1;
	}
	if ((cl.base = event_base_new()) == NULL)
		goto out;
	cl.start_mono = lg_mono_us();
	if ((cl.tick = event_new(cl.base, -1, EV_PERSIST, tick_cb, &cl)) == NULL ||
	    event_add(cl.tick, &tv) == -1)
		goto out;
	tick_cb(-1, 0, &cl);
	event_base_dispatch(cl.base);
	rc = 0;
out:
	for (int i = 0; i < o->nclients; i++)
		if (cl.c[i].state != C_DEAD && cl.c[i].state != C_IDLE)
			conn_kill(&cl.c[i], 0);
	if (cl.tick != NULL)
		event_free(cl.tick);
	if (cl.base != NULL)
		event_base_free(cl.base);
	free(cl.c);
	return rc;
}
