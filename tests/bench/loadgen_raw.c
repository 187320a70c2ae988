/*
 * The ceiling: a raw fan-out server doing the least work that delivers the
 * same pre-framed messages to the same WebSocket clients. Messages are
 * framed once into an in-memory ring; each client is a cursor into it and
 * gets one writev per turn with every pending message coalesced. Saturating
 * input publishes as fast as the slowest client allows (nobody is lapped,
 * so no torn frames); a fixed rate publishes on a 1 ms timer.
 * Prints raw_deliveries, raw_cpu_s and raw_deliveries_per_cpu_s on exit.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "tests/bench/loadgen.h"

#define RING 8192               /* slots, power of two */
#define IOV 64                  /* messages per writev */
#define HS_MAX 4096

struct slot {
	char *buf;              /* frame header + payload */
	size_t len;
};

struct rc {
	int fd;
	int streaming, blocked;
	uint64_t cursor;        /* next message */
	size_t off;             /* bytes of it already written */
	struct event *rev, *wev;
	char *hs;               /* handshake bytes until streaming */
	size_t hs_len;
	struct raw *r;
	int idx;                /* in r->live */
};

struct raw {
	const struct lg_raw_opts *o;
	struct event_base *base;
	struct slot ring[RING];
	uint64_t head;
	size_t next_tpl;
	struct rc **live;       /* streaming clients */
	int nlive, cap;
	uint64_t deliveries;
	uint64_t published;
	int64_t first_us;       /* monotonic, first streaming client */
	int64_t rate_start;
	struct rusage ru0;
	struct event *tick;
	struct event *kick;     /* saturating: the next turn, after a poll */
};

static double
cpu_s(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	    (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

static void
publish(struct raw *r, int k)
{
	char digits[LG_SEEN_LEN];
	int64_t now = lg_now_us();

	lg_seen_format(digits, now);
	while (k-- > 0) {
		const struct lg_msg *m = &r->o->msgs->m[r->next_tpl];
		struct slot *s = &r->ring[r->head & (RING - 1)];
		size_t hl;

		r->next_tpl = (r->next_tpl + 1) % r->o->msgs->n;
		s->buf[0] = (char)0x81;
		if (m->len < 126) {
			s->buf[1] = (char)m->len;
			hl = 2;
		} else {
			s->buf[1] = 126;
			s->buf[2] = (char)(m->len >> 8);
			s->buf[3] = (char)(m->len & 0xff);
			hl = 4;
		}
		memcpy(s->buf + hl, m->json, m->len);
		memcpy(s->buf + hl + m->seen_at, digits, LG_SEEN_LEN);
		s->len = hl + m->len;
		r->head++;
		r->published++;
	}
}

static void
rc_free(struct rc *c)
{
	struct raw *r = c->r;

	if (c->streaming) {
		r->live[c->idx] = r->live[--r->nlive];
		r->live[c->idx]->idx = c->idx;
	}
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	close(c->fd);
	free(c->hs);
	free(c);
}

/* One writev of everything pending; 0, or -1 when the client is gone. */
static int
flush(struct raw *r, struct rc *c)
{
	struct iovec iov[IOV];
	int n = 0;
	ssize_t w;
	uint64_t s;

	for (s = c->cursor; s < r->head && n < IOV; s++, n++) {
		struct slot *sl = &r->ring[s & (RING - 1)];
		size_t skip = s == c->cursor ? c->off : 0;

		iov[n].iov_base = sl->buf + skip;
		iov[n].iov_len = sl->len - skip;
	}
	if (n == 0)
		return 0;
	w = writev(c->fd, iov, n);
	if (w == -1) {
		if (errno == EAGAIN || errno == EINTR) {
			c->blocked = 1;
			event_add(c->wev, NULL);
			return 0;
		}
		return -1;
	}
	for (int i = 0; i < n && w > 0; i++) {
		if ((size_t)w >= iov[i].iov_len) {
			w -= (ssize_t)iov[i].iov_len;
			c->cursor++;
			c->off = 0;
			r->deliveries++;
		} else {
			c->off += (size_t)w;
			w = 0;
		}
	}
	if (c->cursor < r->head) {
		c->blocked = 1;
		event_add(c->wev, NULL);
	}
	return 0;
}

/* Saturating input takes its next turn through a zero timeout, not
 * event_active(): libevent runs events activated from a callback in the
 * same pass, so the producer would spin without ever polling and no client
 * could connect, read or become writable again. */
static void
next_turn(struct raw *r)
{
	static const struct timeval zero = { 0, 0 };

	evtimer_add(r->kick, &zero);
}

/* Flush every client that is not waiting for POLLOUT; returns the lowest
 * cursor, so a saturating producer never laps anyone. */
static uint64_t
flush_all(struct raw *r)
{
	uint64_t low = r->head;

	for (int i = 0; i < r->nlive; i++) {
		struct rc *c = r->live[i];

		if (!c->blocked && flush(r, c) == -1) {
			rc_free(c);
			i--;
			continue;
		}
		if (c->cursor < low)
			low = c->cursor;
	}
	return low;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct raw *r = arg;
	uint64_t low;

	(void)fd;
	(void)what;
	if (r->nlive == 0)
		return;
	if (r->o->rate > 0) {
		double el = (double)(lg_mono_us() - r->rate_start) / 1e6;
		uint64_t due = (uint64_t)(el * r->o->rate);

		if (due > r->published) {
			uint64_t k = due - r->published;

			if (k > RING / 2) {     /* stalled: drop the debt */
				r->published = due - RING / 2;
				k = RING / 2;
			}
			publish(r, (int)k);
		}
		low = flush_all(r);
		if (r->head - low > RING - RING / 8) {
			/* a fixed rate must not lap a slow client into a torn frame:
			 * close it, as a real server would */
			for (int i = 0; i < r->nlive; i++)
				if (r->head - r->live[i]->cursor > RING - RING / 8) {
					rc_free(r->live[i]);
					i--;
				}
		}
		return;
	}
	low = flush_all(r);
	{
		uint64_t room = RING - (r->head - low);
		int k = room < (uint64_t)r->o->batch ? (int)room : r->o->batch;

		/* nothing to publish: the next writable client restarts the
		 * turns (write_cb); spinning here would bill idle CPU */
		if (k > 0) {
			publish(r, k);
			next_turn(r);
		}
	}
}

static void
write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rc *c = arg;

	(void)fd;
	(void)what;
	c->blocked = 0;
	if (flush(c->r, c) == -1) {
		rc_free(c);
		return;
	}
	if (c->r->o->rate <= 0)
		next_turn(c->r);
}

static int
ws_accept_key(const char *key, size_t klen, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char d[SHA_DIGEST_LENGTH];
	char buf[128];

	if (klen + sizeof(guid) > sizeof(buf))
		return -1;
	memcpy(buf, key, klen);
	memcpy(buf + klen, guid, sizeof(guid) - 1);
	SHA1((unsigned char *)buf, klen + sizeof(guid) - 1, d);
	EVP_EncodeBlock((unsigned char *)out, d, SHA_DIGEST_LENGTH);
	return 0;
}

static int
handshake(struct raw *r, struct rc *c)
{
	char acc[29], resp[256];
	const char *k, *e;
	int n;

	if ((k = strcasestr(c->hs, "\nSec-WebSocket-Key:")) == NULL)
		return -1;
	k += strlen("\nSec-WebSocket-Key:");
	while (*k == ' ')
		k++;
	for (e = k; *e && *e != '\r' && *e != '\n' && *e != ' '; e++)
		;
	if (ws_accept_key(k, (size_t)(e - k), acc) == -1)
		return -1;
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
	if (write(c->fd, resp, (size_t)n) != n)
		return -1;
	free(c->hs);
	c->hs = NULL;
	if (r->nlive == r->cap) {
		int nc = r->cap ? r->cap * 2 : 1024;
		struct rc **nl = realloc(r->live, (size_t)nc * sizeof(*nl));

		if (nl == NULL)
			return -1;
		r->live = nl;
		r->cap = nc;
	}
	c->streaming = 1;
	c->idx = r->nlive;
	r->live[r->nlive++] = c;
	c->cursor = r->head;
	if (r->first_us == 0) {
		r->first_us = lg_mono_us();
		r->rate_start = r->first_us;
		getrusage(RUSAGE_SELF, &r->ru0);
	}
	return 0;
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rc *c = arg;
	char buf[4096];
	ssize_t n;

	(void)what;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		rc_free(c);
		return;
	}
	if (c->streaming)
		return; /* client frames (pongs, close) are not needed here */
	if (c->hs_len + (size_t)n + 1 > HS_MAX) {
		rc_free(c);
		return;
	}
	memcpy(c->hs + c->hs_len, buf, (size_t)n);
	c->hs_len += (size_t)n;
	c->hs[c->hs_len] = '\0';
	if (strstr(c->hs, "\r\n\r\n") != NULL && handshake(c->r, c) == -1)
		rc_free(c);
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct raw *r = arg;
	int fd, one = 1;

	(void)what;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		struct rc *c = calloc(1, sizeof(*c));

		if (c == NULL || (c->hs = malloc(HS_MAX)) == NULL) {
			free(c);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->r = r;
		c->rev = event_new(r->base, fd, EV_READ | EV_PERSIST, read_cb, c);
		c->wev = event_new(r->base, fd, EV_WRITE, write_cb, c);
		if (c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) == -1) {
			rc_free(c);
			continue;
		}
	}
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

int
lg_raw_listen(const char *host, int port)
{
	struct sockaddr_in sa;
	int lfd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* one listener per process, as certstream's workers have */
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 4096) == -1) {
		fprintf(stderr, "loadgen: raw server: %s:%d: %s\n", host, port,
		    strerror(errno));
		close(lfd);
		return -1;
	}
	return lfd;
}

int
lg_raw_run(const struct lg_raw_opts *o, int lfd)
{
	struct raw r;
	struct event *lev = NULL, *s1 = NULL, *s2 = NULL, *dur = NULL;
	struct rusage ru1;
	int rc = -1;
	double cpu, wall;

	memset(&r, 0, sizeof(r));
	r.o = o;
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < RING; i++)
		if ((r.ring[i].buf = malloc(o->msgs->max_len + 16)) == NULL)
			goto out;
	if ((r.base = event_base_new()) == NULL)
		goto out;
	lev = event_new(r.base, lfd, EV_READ | EV_PERSIST, accept_cb, &r);
	s1 = evsignal_new(r.base, SIGTERM, stop_cb, r.base);
	s2 = evsignal_new(r.base, SIGINT, stop_cb, r.base);
	if (o->rate > 0) {
		struct timeval tv = { 0, 1000 };

		r.tick = event_new(r.base, -1, EV_PERSIST, tick_cb, &r);
		if (r.tick == NULL || event_add(r.tick, &tv) == -1)
			goto out;
	} else {
		struct timeval tv = { 0, 1000 };

		/* kicked after every turn once clients are there; the timer
		 * only starts it */
		r.tick = event_new(r.base, -1, EV_PERSIST, tick_cb, &r);
		r.kick = evtimer_new(r.base, tick_cb, &r);
		if (r.tick == NULL || r.kick == NULL || event_add(r.tick, &tv) == -1)
			goto out;
	}
	if (o->duration > 0) {
		struct timeval tv = { (time_t)o->duration, 0 };

		if ((dur = evtimer_new(r.base, stop_cb, r.base)) == NULL ||
		    event_add(dur, &tv) == -1)
			goto out;
	}
	if (lev == NULL || s1 == NULL || s2 == NULL || event_add(lev, NULL) == -1 ||
	    event_add(s1, NULL) == -1 || event_add(s2, NULL) == -1)
		goto out;
	event_base_dispatch(r.base);
	getrusage(RUSAGE_SELF, &ru1);
	cpu = r.first_us ? cpu_s(&ru1) - cpu_s(&r.ru0) : 0;
	wall = r.first_us ? (double)(lg_mono_us() - r.first_us) / 1e6 : 0;
	printf("raw_clients %d\nraw_published %llu\nraw_deliveries %llu\n"
	    "raw_cpu_s %.3f\nraw_wall_s %.3f\nraw_deliveries_per_cpu_s %.0f\n",
	    r.nlive, (unsigned long long)r.published,
	    (unsigned long long)r.deliveries, cpu, wall,
	    cpu > 0 ? (double)r.deliveries / cpu : 0.0);
	fflush(stdout);
	rc = 0;
out:
	while (r.nlive > 0)
		rc_free(r.live[0]);
	free(r.live);
	if (dur != NULL)
		event_free(dur);
	if (r.tick != NULL)
		event_free(r.tick);
	if (r.kick != NULL)
		event_free(r.kick);
	if (s1 != NULL)
		event_free(s1);
	if (s2 != NULL)
		event_free(s2);
	if (lev != NULL)
		event_free(lev);
	if (r.base != NULL)
		event_base_free(r.base);
	for (int i = 0; i < RING; i++)
		free(r.ring[i].buf);
	return rc;
}
