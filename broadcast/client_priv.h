/*
 * The state of one client connection, shared by the files that each do one
 * job for it (private to broadcast/):
 *
 *   client.c      lifecycle: open, events, plain answers, timers, closing
 *   client_tls.c  the TLS handshake and TLS reads and writes
 *   request.c     the request head, routing, starting a stream
 *   stream_out.c  the stream writer: cursor, writev from the ring
 *   ws_session.c  the WebSocket session after the upgrade
 *
 * client_close() never frees: it gives back the client's place (stats,
 * limits, events), unlinks it and hands it to the reaper, which closes the
 * socket and frees it once the current callback has returned. A function
 * that closed c returns -1; c itself stays readable until then, and every
 * entry point does nothing on a closed client.
 */
#ifndef BROADCAST_CLIENT_PRIV_H
#define BROADCAST_CLIENT_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event_struct.h>

#include <openssl/ssl.h>

#include "broadcast/client.h"
#include "broadcast/filter_sel.h"
#include "broadcast/http.h"
#include "shm/limits.h"
#include "broadcast/worker_ctx.h"

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
#define CF_GZIP 0x8000          /* SSE body gzip-encoded (sse_gzip.h) */

/* The request head while it is read; an idle stream does not carry it. */
struct client_head {
	struct http_progress hp;        /* how far text was parsed */
	uint32_t len;
	uint32_t cap;           /* text's size: the limit may change on reload */
	char text[];
};

struct client {
	union {
		struct client *prev;            /* in w->clients */
		struct client *dead_next;       /* closed: w->dead, for the reaper */
	};
	struct client *next;    /* still read after close: see client_close */
	struct wctx *w;
	struct event ev;
	int fd;
	uint8_t state;
	uint8_t proto;          /* SP_WS, SP_SSE (streaming only) */
	uint8_t stream;         /* enum ring_variant */
	uint8_t evflags;        /* what ev is registered for, 0 = none */
	uint8_t closed;         /* client_close() done; freed by the reaper */
	uint16_t flags;
	uint16_t ctl_len, ctl_off, rlen;
	uint16_t tls_pend;      /* bytes of a record OpenSSL still holds */
	uint32_t since;         /* ms: accepted, close queued, or linger start */
	uint32_t last_rx;       /* ms: last byte from the peer */
	char *rest;             /* the unsent end of a record begun; cursor is past it */
	uint32_t rest_len, rest_off;
	int64_t rest_seen;      /* its data.seen, for latency */
	uint64_t cursor;        /* next record to send */
	uint64_t z_next;        /* CF_DEFLATE: the record whose compressed frame
	                         * follows on from the last one sent */
	uint64_t gap_from, gap_to, gap_n;       /* the gap notice due */
	/* These three are at most server.max_frame_bytes (16 MiB): */
	uint32_t skip;          /* data-frame payload bytes still to discard */
	uint32_t msg_len;       /* bytes of the open fragmented message */
	uint32_t pay_off;       /* payload bytes of the current frame seen */
	uint32_t utf8;          /* utf8_feed state of the text message */
	uint8_t mask[4];        /* the current data frame's masking key */
	struct limits_hold hold;        /* its place in the connection limits */
	struct filter_sel filter;       /* ?domain= etc.: records it wants */
	SSL *ssl;               /* TLS clients only */
	struct client_head *head;       /* freed once routed */
	struct evbuffer *out;   /* handshake or answer bytes; freed once sent */
	uint8_t ctl[CLIENT_CTL_MAX];
	uint8_t rbuf[CLIENT_RBUF];
};

/* client.c */
int client_want_write(struct client *c, int on);
void client_count(struct client *c, int up);
int client_linger(struct client *c);
int client_answer(struct client *c, int status, const char *msg,
    const char *extra);
int client_discard(struct client *c);

/* client_tls.c */
ssize_t client_recv(struct client *c, void *buf, size_t len);
int client_tls_flush(struct client *c);
ssize_t client_tls_writev(struct client *c, int niov, int nrec,
    uint64_t first);
void client_handshake(struct client *c);

/* request.c */
int client_read_head(struct client *c);
int client_start_stream(struct client *c, int proto, int stream);
int client_resume_id(const struct http_request *req, uint64_t *last);
void client_resume(struct client *c, uint64_t last);
int client_filter(struct client *c, const struct http_request *req);

/* stream_out.c */
int client_ctl_add(struct client *c, const void *p, size_t len);
void client_gap(struct client *c, uint64_t n, uint64_t from, uint64_t to);
int client_write(struct client *c);

/* ws_session.c */
int client_ws_close(struct client *c, uint16_t code);
int client_start_ws(struct client *c, const struct http_request *req,
    int stream, const char *accept, const char *rest, size_t restlen);
int client_frames(struct client *c);
int client_read_ws(struct client *c);

#endif
