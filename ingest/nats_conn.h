/*
 * A connection to NATS as the config says (nats.url, credentials, TLS),
 * shared by the publishing ingest (nats_pub.c) and the edge (nats_edge.c).
 * The connection retries for ever: a server down at start or later is
 * waited for, never fatal.
 */
#ifndef INGEST_NATS_CONN_H
#define INGEST_NATS_CONN_H

#include <stddef.h>

#include <nats/nats.h>

#include "common/config.h"
#include "shm/layout.h"

/* Connect (in the background if no server answers yet). Connection state
 * changes are written to stats->nats and logged. ack (NULL: none) answers
 * every asynchronous publish, at most inflight of them at once. 0, or -1
 * with err. */
int natsc_open(const struct config *cfg, struct shm_ingest_stats *stats,
    natsConnection **nc, jsCtx **js, jsPubAckHandler ack, int inflight,
    char *err, size_t errlen);

/* Is the connection up? Also refreshes stats->nats. */
int natsc_up(natsConnection *nc, struct shm_ingest_stats *stats);

/* The stream nats.stream exists, else is created with nats.subject, the
 * retention keys, replicas and the duplicate window. 0, or -1 with err. */
int natsc_stream_ensure(jsCtx *js, const struct config *cfg, char *err,
    size_t errlen);

/* Close and free both (NULL is fine), then the library's threads;
 * stats->nats says NATS is not in use any more. */
void natsc_close(natsConnection *nc, jsCtx *js,
    struct shm_ingest_stats *stats);

#endif
