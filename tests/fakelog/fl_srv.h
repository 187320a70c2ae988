/*
 * The fake log's HTTP side (libevent evhttp on 127.0.0.1): RFC 6962 and
 * static-ct-api endpoints for every log, /loglist.json, fault injection,
 * Range, and the growth and publish timers. /control/ is fl_ctl.c.
 */
#ifndef FAKELOG_FL_SRV_H
#define FAKELOG_FL_SRV_H

#include <event2/event.h>
#include <event2/http.h>

#include "tests/fakelog/fl_cosig.h"
#include "tests/fakelog/fl_log.h"

struct fl_srv {
	struct event_base *base;
	struct evhttp *http;
	struct event *grow_ev;
	struct event *pub_ev;
	struct fl_log *logs;
	int nlogs;
	int port;
	size_t batch_cap;
	int gzip_tiles;
	double grow_per_sec;
	size_t grow_per_request;    /* entries added before each log request */
	long publish_ms;            /* static logs publish this often (0: at once) */
	long stale_ms;              /* checkpoints served are this old */
	int delete_partials;        /* partial tiles 404 once the full one exists */
	int gzip_always;            /* tiles and checkpoints always gzip */
	int no_range;               /* ignore Range headers */
	const struct fl_cosig *cosig;   /* witness lines on checkpoints */
	long hold_secs;
	struct fl_buf bomb;          /* built on first use */
	void *ssl_ctx;               /* SSL_CTX: serve HTTPS when set */
	struct fl_corpus *corpus;
	struct fl_gen *gen;
	/* What the request being answered was sent, for its log's
	 * accounting. Requests are answered one at a time. */
	struct {
		int status;
		uint64_t bytes;
	} cur;
};

/* Loads a PEM certificate chain and key: the logs are then served over
 * TLS and the log list names https URLs. */
int fl_srv_tls(struct fl_srv *s, const char *cert, const char *key, char *err,
    size_t errlen);
/* Binds 127.0.0.1:port (0 = any free port, stored in s->port) and starts
 * the growth and publish timers. */
int fl_srv_start(struct fl_srv *s, int port, char *err, size_t errlen);
void fl_srv_stop(struct fl_srv *s);

/* Shared with the control endpoints (fl_ctl.c). */
struct fl_log *fl_srv_find_log(struct fl_srv *s, const char *name, size_t len);
/* Every reply goes through here: it notes status and body bytes for the
 * accounting of a log request. */
void fl_srv_send(struct fl_srv *s, struct evhttp_request *req, int code,
    const char *reason, struct evbuffer *body);
/* {"error": msg} with that status. */
void fl_srv_error(struct fl_srv *s, struct evhttp_request *req, int code,
    const char *msg);
int fl_srv_b64_add(struct evbuffer *b, const uint8_t *p, size_t len);
/* A decimal query parameter: 0, or -1 if absent or not a number. */
int fl_srv_get_u64(struct evkeyvalq *q, const char *key, uint64_t *out);
const char *fl_srv_scheme(const struct fl_srv *s);

#endif
