/*
 * The state of one worker process that its clients and endpoints share.
 * Private to broadcast/: worker.c owns it; the client files (client_priv.h)
 * and the plain answers (endpoints_priv.h) read it.
 */
#ifndef BROADCAST_WORKER_CTX_H
#define BROADCAST_WORKER_CTX_H

#include <stdint.h>
#include <sys/uio.h>

#include "broadcast/http.h"
#include "common/clock.h"
#include "common/config.h"
#include "shm/atomics.h"
#include "shm/layout.h"
#include "shm/segment.h"

/* One writev() per client per turn: at most this many iovecs and bytes. */
#define WCTX_IOV_MAX 64
#define WCTX_BUDGET (256 * 1024)
#define WCTX_SCRATCH 16384

struct event;
struct event_base;
struct client;
struct filter_reg;
typedef struct ssl_ctx_st SSL_CTX;

/* One unit of a writev(): a record (or the rest of one) or control bytes. */
enum wctx_unit_kind {
	WCTX_UNIT_RECORD,       /* a whole record, straight from the ring */
	WCTX_UNIT_CTL,          /* the client's control bytes */
	WCTX_UNIT_REST,         /* the kept end of a record begun earlier */
};

/* Add to one of this worker's stats. Each worker's stats have one writer,
 * this process (shm/layout.h), so a relaxed load and store is enough: the
 * path every delivery takes pays no locked instruction. Readers (metrics,
 * health) load each counter whole and may see it a few adds behind. */
static inline void
wstat_add(_Atomic uint64_t *p, uint64_t v)
{
	shm_store(p, shm_load(p, relaxed) + v, relaxed);
}

struct wctx_unit {
	uint32_t len;           /* bytes of this unit in the iovecs */
	int64_t seen_us;        /* records: data.seen, for latency */
	enum wctx_unit_kind kind;
	uint32_t zplain;        /* records sent compressed: the plain frame's bytes */
};

struct wctx {
	struct config *cfg;             /* heap copy; replaced on SIGHUP */
	struct shm_seg *seg;
	struct shm_worker_stats *st;    /* seg->workers[id] */
	SSL_CTX *tls;                   /* tls.cert set; replaced on SIGHUP */
	int id;
	struct event_base *base;
	struct client *clients;         /* every connection, doubly linked,
	                                 * oldest first: a newcomer is served
	                                 * after those there before it */
	struct client *clients_last;
	struct client *dead;            /* closed, not freed yet (client.c) */
	struct event *reap_ev;          /* frees them after the callback */
	struct filter_reg *filters;     /* the clients' filter groups */
	struct event *filter_ev;        /* merges them soon (worker.c) */
	unsigned nconns;
	int stopping;                   /* SIGTERM seen: no new work */
	uint32_t now;                   /* monotonic ms, read at each tick,
	                                 * accept and client event; wraps in
	                                 * 49 days, so only differences count */
	uint64_t head;                  /* ring head at the last delivery */
	int64_t started_unix;

	/* ingest rate, sampled by the tick for /health/deep */
	uint64_t rate_records;
	uint32_t rate_at;               /* ms, like now */
	double ingest_rate;

	/* Scratch reused by every client on this (single-threaded) loop. */
	struct http_request req;
	struct iovec iov[3 * WCTX_IOV_MAX + 2];
	struct wctx_unit units[WCTX_IOV_MAX + 2];
	char sse_pfx[WCTX_IOV_MAX + 2][32];
	uint8_t scratch[WCTX_SCRATCH];
};

/* Read the clock into w->now and return it. Stamps read it afresh: the
 * tick's may be a tick old, and a timeout counted from it would fire that
 * much early. */
static inline uint32_t
wctx_clock(struct wctx *w)
{
	return w->now = (uint32_t)clock_mono_ms();
}

#endif
