/*
 * The last verified tree head of each log, in its shm_log_status row: the
 * head a log's next one must extend, kept for the next ingest even after
 * kill -9 (and carried into a replacing segment, then the state file).
 *
 * A double buffer with one writer (the ingest): a put fills the slot that
 * verified_gen does not name, then advances verified_gen (0: none yet), so
 * the named slot is always whole and readers (the ingest, /health/deep in
 * the workers) never wait. The put is marked (shm/mark.h) with the
 * ingest's owner id while the unnamed slot is written; heads_reclaim, run
 * by the next ingest, clears what a dead one left half written.
 */
#ifndef SHM_HEADS_H
#define SHM_HEADS_H

#include <stdint.h>

#include "shm/layout.h"

#define HEADS_HASH_LEN 32

/* Remember size and root as the log's verified head (nothing is written
 * when it is already the one named). Ingest only. */
void heads_put(struct shm_log_status *s, uint64_t size,
    const uint8_t root[HEADS_HASH_LEN]);

/* The head named: 0 and *size, root; -1 if none. Any process. */
int heads_get(const struct shm_log_status *s, uint64_t *size,
    uint8_t root[HEADS_HASH_LEN]);

/* Forget the log's head (another tree: a changed key or kind). Ingest
 * only. */
void heads_clear(struct shm_log_status *s);

/* The reclaim pass of shm/mark.h for the ingest: 1 if a dead ingest's
 * half-written slot was cleared (its mark taken away), else 0. The named
 * head is kept either way. Before the ingest first puts. */
int heads_reclaim(struct shm_log_status *s);

/* Copy from's named head into to, as its only head (a replacing segment,
 * not shared yet). */
void heads_carry(struct shm_log_status *to, const struct shm_log_status *from);

#endif
