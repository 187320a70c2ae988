/*
 * The ring writer's shared compressors: one raw-deflate stream per record
 * form, advanced once per record, whose bytes every in-step WebSocket
 * client of that form receives (permessage-deflate, RFC 7692, with the
 * server's context kept). No client has a compressor of its own.
 *
 * Each message is deflated after the record's "id" is in its text, ended
 * with Z_SYNC_FLUSH, and its trailing 00 00 ff ff removed (RFC 7692
 * §7.2.1). At a keyframe (every key_records records or key_ms ms, and the
 * first record) the stream is reset first: that message refers to nothing
 * before it, so a client whose inflater starts there decodes everything
 * from there on. A client out of step gets plain messages until the next
 * keyframe.
 */
#ifndef SHM_RING_DEFLATE_H
#define SHM_RING_DEFLATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "shm/layout.h"

struct ring_deflate;

struct ring_deflate_cfg {
	int level;              /* zlib level 1..9 */
	uint32_t key_records;   /* a keyframe at least every this many records */
	uint32_t key_ms;        /* ... and at least every this many ms (0: off) */
};

/* NULL on failure (logged). */
struct ring_deflate *ring_deflate_new(const struct ring_deflate_cfg *cfg);
void ring_deflate_free(struct ring_deflate *d);

/*
 * Compress one record: form v's text is the concatenation of its npart[v]
 * (at most 2) pieces. On 0, out[v] points at the raw-deflate payload of
 * each form (valid until the next call) and *key says whether this record
 * is a keyframe. -1 on failure (zlib or memory): the record goes out
 * plain, and the next one is a keyframe.
 */
int ring_deflate_rec(struct ring_deflate *d,
    const struct iovec part[RV_COUNT][2], const int npart[RV_COUNT],
    struct iovec out[RV_COUNT], int *key);

/* The record compressed last was not published: the next must be a
 * keyframe, or the stream would refer to bytes no client saw. */
void ring_deflate_void(struct ring_deflate *d);

/* Server frame header (FIN, RSV1, text) for len bytes of compressed
 * payload; its length (2, 4 or 10). */
int ring_deflate_header(uint8_t out[10], uint64_t len);

#endif
