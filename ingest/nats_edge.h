/*
 * The NATS source of an edge (source: nats): a JetStream ordered consumer
 * on nats.stream whose records fill the ring with ring ids equal to the
 * stream's sequence numbers, so every edge gives a record the same id.
 *
 * Where it starts: the ring's head when the ring holds records (an ingest
 * restart, or a segment carried over); on an empty ring, nats.backfill
 * records before the stream's end. A stream sequence above the ring's
 * head (records removed from the stream before this edge took them) is a
 * gap: its ids become RING_F_GAP records, told to clients as one gap
 * notice, and the ring keeps what it holds (a gap of as many ids as the
 * ring has slots empties it, ring_skip_to, and clients behind are told as
 * when lapped); it is counted (nats_skipped). Records below the head are
 * dropped (they are in the ring already), unless the whole stream ends
 * below it: then it was deleted and created again, and its records come
 * under ids after the head (id = sequence + nats_id_shift, counted in
 * nats_recreated).
 */
#ifndef INGEST_NATS_EDGE_H
#define INGEST_NATS_EDGE_H

#include "common/config.h"
#include "shm/ring.h"
#include "shm/segment.h"

struct nats_edge;

/* Connect and start the consuming thread (the only writer of the ring from
 * now on). NULL (logged) on failure. */
struct nats_edge *nats_edge_start(const struct config *cfg,
    struct shm_seg *seg, struct ring_writer *w);

/* Stop the thread and close. NULL is fine. */
void nats_edge_stop(struct nats_edge *e);

#endif
