/*
 * A client's TLS side (tls.cert set): the non-blocking handshake, and reads
 * and writes through OpenSSL in place of read(2) and writev(2). Streaming
 * bytes are copied, at most TLS_CHUNK per SSL_write(), into the worker's
 * scratch buffer (tls.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "broadcast/client_priv.h"
#include "broadcast/tls.h"
#include "common/log.h"
#include "shm/ring.h"

/* read(2) on the socket, or SSL_read on a TLS client. */
ssize_t
client_recv(struct client *c, void *buf, size_t len)
{
	if (c->ssl != NULL)
		return tls_read(c->ssl, buf, len);
	return read(c->fd, buf, len);
}

/* A TLS record OpenSSL still holds goes out before anything else.
 * 1: nothing held (any more); 0: wait for EV_WRITE; -1: c closed. */
int
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
ssize_t
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

/* A TLS handshake step; the header timeout bounds the whole handshake. */
void
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
		wstat_add(&c->w->st->http_requests, 1);
		wstat_add(&c->w->st->http_errors, 1);
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
