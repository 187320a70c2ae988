/*
 * The fake log's HTTP side (libevent evhttp on 127.0.0.1): RFC 6962 and
 * static-ct-api endpoints for every log, /loglist.json, the /control/
 * endpoints, fault injection, and the growth timer.
 */
#ifndef FAKELOG_FL_SRV_H
#define FAKELOG_FL_SRV_H

#include <event2/event.h>
#include <event2/http.h>

#include "tests/fakelog/fl_log.h"

struct fl_srv {
	struct event_base *base;
	struct evhttp *http;
	struct event *grow_ev;
	struct fl_log *logs;
	int nlogs;
	int port;
	size_t batch_cap;
	int gzip_tiles;
	double grow_per_sec;
	long hold_secs;
	struct fl_buf bomb;          /* built on first use */
	void *ssl_ctx;               /* SSL_CTX: serve HTTPS when set */
	struct fl_corpus *corpus;
	struct fl_gen *gen;
};

/* Loads a PEM certificate chain and key: the logs are then served over
 * TLS and the log list names https URLs. */
int fl_srv_tls(struct fl_srv *s, const char *cert, const char *key, char *err,
    size_t errlen);
/* Binds 127.0.0.1:port (0 = any free port, stored in s->port) and starts
 * the growth timer. */
int fl_srv_start(struct fl_srv *s, int port, char *err, size_t errlen);
void fl_srv_stop(struct fl_srv *s);

#endif
