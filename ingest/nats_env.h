/*
 * The envelope of one record on the JetStream stream (ingest nodes write
 * it, edges read it). Binary, big-endian, so that the forms travel as the
 * ingest rendered them, byte for byte, with no escaping:
 *
 *   0   4  magic "CSN1"
 *   4   1  flags (RING_F_*)
 *   5   1  L: length of the log id
 *   6   2  zero
 *   8   8  the entry's index in its log
 *   16  8  seen, Unix microseconds (signed)
 *   24  16 lengths of lite, full, domains, facts (4 bytes each)
 *   40  L  log id: the log's RFC 6962 log id (base64), or its URL when the
 *          list names none; the same on every node, unlike the local slot
 *   then the lite, full, domains and facts bytes, back to back.
 *
 * The forms carry no "id": an edge's ring adds the stream's sequence.
 */
#ifndef INGEST_NATS_ENV_H
#define INGEST_NATS_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "shm/ring.h"

#define NATS_ENV_HDR 40
#define NATS_ENV_MAGIC "CSN1"

/* Bytes nats_env_encode() writes for r and a log id of loglen bytes. */
size_t nats_env_size(const struct ring_rec *r, size_t loglen);

/* Write r's envelope to out (nats_env_size() bytes); the log id is cut at
 * 255 bytes. Returns the length. */
size_t nats_env_encode(uint8_t *out, const struct ring_rec *r,
    const char *logid);

/*
 * Point r's forms and facts into buf (no copy) and fill its index, seen
 * and flags; r->log is RING_NO_LOG. *logid / *loglen: the log id, not
 * NUL-terminated. 0, or -1 when buf is not a whole envelope.
 */
int nats_env_decode(const uint8_t *buf, size_t len, struct ring_rec *r,
    const char **logid, size_t *loglen);

#endif
