/*
 * One client connection's lifecycle: accepted (counted in the connection
 * limits), its socket events, a plain HTTP answer, the timers (header,
 * idle, linger), a graceful stop, a lingering close, and teardown.
 *
 * Teardown is deferred: client_close() gives back the stats, the limits
 * and the events at once and unlinks the client, but closes its socket and
 * frees it only in the reaper, an event of its own that runs after the
 * callback that closed it (client_priv.h), so no caller can read a freed
 * client.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <openssl/err.h>

#include "broadcast/client_priv.h"
#include "broadcast/endpoints.h"
#include "common/log.h"
#include "shm/ring_deflate.h"
#include "shm/segment.h"
#include "broadcast/ws.h"

static void client_cb(evutil_socket_t fd, short what, void *arg);

static int
client_events(struct client *c)
{
	uint8_t want = 0;

	if (c->closed)
		return -1;
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

int
client_want_write(struct client *c, int on)
{
	if (on)
		c->flags |= CF_WANT_WRITE;
	else
		c->flags &= (uint16_t)~CF_WANT_WRITE;
	return client_events(c);
}

void
client_count(struct client *c, int up)
{
	struct shm_worker_stats *st = c->w->st;

	if (up && !(c->flags & CF_COUNTED)) {
		c->flags |= CF_COUNTED;
		shm_fetch_add(&st->clients, 1, relaxed);       /* gauges */
		shm_fetch_add(&st->conns[c->stream][c->proto], 1, relaxed);
	} else if (!up && (c->flags & CF_COUNTED)) {
		c->flags &= (uint16_t)~CF_COUNTED;
		shm_fetch_sub(&st->clients, 1, relaxed);
		shm_fetch_sub(&st->conns[c->stream][c->proto], 1, relaxed);
	}
}

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
	/* At the end: the pump serves those already streaming first. */
	c->prev = w->clients_last;
	if (w->clients_last != NULL)
		w->clients_last->next = c;
	else
		w->clients = c;
	w->clients_last = c;
	w->nconns++;
	wstat_add(&w->st->accepted, 1);
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
	wstat_add(&w->st->limit_rejects, 1);
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

	if (c->closed)
		return;
	c->closed = 1;
	client_count(c, 0);
	limits_release(w->seg->limits, &c->hold);
	if (c->evflags != 0)
		event_del(&c->ev);
	c->evflags = 0;
	/* Unlinked, but c->next still leads on: a loop over w->clients that
	 * stands on c goes on past it. */
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		w->clients_last = c->prev;
	w->nconns--;
	/* The socket, the TLS state and the buffers go with c, in the
	 * reaper: until then a caller still holding c reads what it had. */
	c->dead_next = w->dead;
	w->dead = c;
	if (w->reap_ev != NULL)
		event_active(w->reap_ev, EV_TIMEOUT, 0);
}

static void
client_free(struct client *c)
{
	SSL_free(c->ssl);
	close(c->fd);
	free(c->head);
	free(c->rest);
	filter_sel_close(&c->filter);
	if (c->out != NULL)
		evbuffer_free(c->out);
	free(c);
}

/* Free every client closed so far. */
static void
client_reap(struct wctx *w)
{
	while (w->dead != NULL) {
		struct client *c = w->dead;

		w->dead = c->dead_next;
		client_free(c);
	}
}

static void
client_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_reap(arg);
}

int
client_reaper_init(struct wctx *w)
{
	w->reap_ev = event_new(w->base, -1, 0, client_reap_cb, w);
	if (w->reap_ev == NULL) {
		log_warnx("%s: event_new", __func__);
		return -1;
	}
	return 0;
}

void
client_reaper_fini(struct wctx *w)
{
	client_reap(w);
	if (w->reap_ev != NULL)
		event_free(w->reap_ev);
	w->reap_ev = NULL;
}

struct client *
client_next(const struct client *c)
{
	return c->next;
}

/* Stop sending, half-close, and wait briefly for the peer's FIN so that it
 * reads what we sent (a close on unread input would reset it). */
int
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

/* Answer with a whole HTTP response, then close. */
int
client_answer(struct client *c, int status, const char *msg, const char *extra)
{
	struct wctx *w = c->w;

	wstat_add(&w->st->http_requests, 1);
	if (status >= 400)
		wstat_add(&w->st->http_errors, 1);
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

/* Read and drop whatever arrives; EOF ends a stream or a linger. */
int
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

void
client_tick(struct client *c)
{
	const struct config *cfg = c->w->cfg;
	uint32_t now = c->w->now;

	if (c->closed)
		return;
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
		/* its shared compressed stream stays wanted while it is here */
		if (c->flags & (CF_DEFLATE | CF_GZIP))
			ring_deflate_want(c->w->seg, c->stream, c->proto,
			    ring_deflate_now_ms());
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
	if (c->closed)
		return;
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

static void
client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	(void)fd;
	if (c->closed)
		return;
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
