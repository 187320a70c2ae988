/*
 * What the plain HTTP answers share (private to broadcast/): framing a
 * response (endpoints.c) and reading the segment's process and log state
 * (ep_health.c, also read by ep_metrics.c). The answers themselves:
 * ep_health.c (/health, /health/deep), ep_metrics.c (/metrics), ep_json.c
 * (/latest.json, /example.json); routes.c names which path gets which.
 */
#ifndef BROADCAST_ENDPOINTS_PRIV_H
#define BROADCAST_ENDPOINTS_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "broadcast/endpoints.h"
#include "broadcast/filter_sel.h"
#include "shm/layout.h"

struct evbuffer;

/* endpoints.c: status line, headers, then body[0..len) (or the evbuffer
 * body, moved) unless head_only. Return status, or -1 (no memory). */
int ep_send(struct evbuffer *out, int status, const char *ctype,
    const void *body, size_t len, const char *extra, int head_only);
int ep_send_buf(struct evbuffer *out, int status, const char *ctype,
    struct evbuffer *body, const char *extra, int head_only);

/* One log's ingest delay histogram, read once: per-bucket counts (the
 * segment keeps them so), their total, the sum and the last delay. */
struct ep_delay {
	uint64_t bucket[SHM_DELAY_BUCKETS], total, sum_ms, last_ms;
};

/* ep_health.c: the processes and logs as the segment shows them. */
extern const char *const ep_stream_names[RV_COUNT];
extern const char *const ep_proto_names[SP_COUNT];
int ep_ingest_alive(const struct shm_seg *seg);
int ep_worker_alive(const struct shm_seg *seg, uint32_t i);
uint32_t ep_nworkers(const struct shm_seg *seg);
void ep_delay_read(const struct shm_log_status *l, struct ep_delay *d);
const char *ep_log_state(uint32_t s);
void ep_field(char *dst, const char *src, size_t n);
/* 2 healthy, 1 degraded (still serving), 0 unhealthy */
int ep_health(const struct wctx *w);
int ep_health_deep(struct wctx *w, struct evbuffer *out, int head_only);

/* ep_metrics.c */
int ep_metrics(struct wctx *w, struct evbuffer *out, int head_only);

/* ep_json.c: the newest record (or the bundled example) that f wants. */
int ep_example(struct wctx *w, struct filter_sel *f, struct evbuffer *out,
    int head_only);
int ep_latest(struct wctx *w, struct filter_sel *f, struct evbuffer *out,
    int head_only);

/* The plain answers of the route table's rows (routes.h route_fn). */
int ep_upgrade_required(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only);
int ep_health_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only);
int ep_health_deep_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only);
int ep_metrics_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only);
int ep_latest_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only);
int ep_example_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only);

#endif
