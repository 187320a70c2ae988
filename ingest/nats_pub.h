/*
 * Publishing to JetStream on an ingest node (nats.publish): every entry
 * the CT source passes goes through here, in order per log, and a log's
 * resume point in the segment (st->next_index, from there the state file)
 * moves past an entry only once the stream acknowledged it and every entry
 * before it. A record is one message (nats_env.h) with Nats-Msg-Id = the
 * SHA-256 of its certificate (README "Scaling out": why the certificate
 * and not log id + index).
 *
 * A thread publishes, up to 256 messages in flight at once, and the
 * stream's acknowledgements are taken in order (nats_win.h); the ingest's
 * loop only queues. At most nats.max_pending entries wait (in flight
 * included): past that nats_pub_entry() blocks until the stream answers,
 * so memory stays bounded while NATS is away and the pollers simply wait.
 */
#ifndef INGEST_NATS_PUB_H
#define INGEST_NATS_PUB_H

#include <stdint.h>

#include "common/config.h"
#include "shm/ring.h"
#include "shm/segment.h"

/* Connect and start the publishing thread (the stream is created by it
 * when missing, once a server answers). 0, or -1 (logged). */
int nats_pub_start(const struct config *cfg, struct shm_seg *seg);

/* Is publishing on? */
int nats_pub_on(void);

/*
 * Entry index of the log whose slot is st passes: r is its record (NULL:
 * nothing to publish, a duplicate or an undecodable entry), logid the
 * log's id, key the certificate's SHA-256. Blocks while nats.max_pending
 * entries wait for the stream.
 */
void nats_pub_entry(struct shm_log_status *st, uint64_t index,
    const struct ring_rec *r, const char *logid, const uint8_t key[32]);

/* Stop the thread and close; entries not acknowledged stay behind the
 * resume points (the next ingest publishes them again; the stream drops
 * what it already had by Msg-Id). */
void nats_pub_stop(void);

#endif
