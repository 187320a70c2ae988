/*
 * A worker process: one libevent loop serving its own SO_REUSEPORT listener.
 */
#ifndef BROADCAST_WORKER_H
#define BROADCAST_WORKER_H

#include "common/config.h"
#include "shm/segment.h"

/* Serve until SIGTERM/SIGINT (then close WebSocket clients with 1001, end
 * SSE streams, exit). SIGHUP re-reads cfg->path and applies tokens and
 * limits. id is 0..nworkers-1 (its stats slot and wake flag). */
int worker_main(const struct config *cfg, struct shm_seg *seg, int id,
    int listen_fd, int wake_fd);

struct wctx;
/* A new filter group came: merge it soon (every WORKER_FILTER_MS while
 * groups wait). Nothing without a loop (unit tests). */
void worker_filters_soon(struct wctx *w);

#endif
