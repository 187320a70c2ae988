/*
 * The ring writer's shared compressors: per record form, one raw-deflate
 * stream of the WebSocket messages (permessage-deflate, RFC 7692, with the
 * server's context kept) and one of the SSE events (the body of a
 * `Content-Encoding: gzip` response), each advanced once per record. Every
 * in-step client of that form and protocol receives the same bytes; no
 * client has a compressor of its own.
 *
 * A stream is compressed only while some worker has a client that takes
 * it: workers mark it wanted (ring_deflate_want) for a lease they renew;
 * a stream that starts does so at a keyframe.
 *
 * Each WebSocket message is deflated after the record's "id" is in its
 * text, ended with Z_SYNC_FLUSH, and its trailing 00 00 ff ff removed (RFC
 * 7692 §7.2.1). An SSE event ("id: N\ndata: " + text + "\n\n", as sse.h
 * frames it) keeps the 00 00 ff ff: the gzip body goes on with the next
 * block. At a keyframe (every key_records records or key_ms ms, the first
 * record, when a stream starts, and an SSE event too long for one stored
 * block, which is compressed whether its stream is wanted or not) every
 * stream is reset first: that message refers to nothing
 * before it, so a client whose inflater starts there decodes everything
 * from there on. A client out of step gets plain messages (SSE: stored
 * blocks) until the next keyframe.
 */
#ifndef SHM_RING_DEFLATE_H
#define SHM_RING_DEFLATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "shm/layout.h"
#include "shm/segment.h"

/* How long a worker's mark keeps a stream wanted, ms. */
#define RING_ZWANT_LEASE_MS 5000
/* The longest SSE event one stored deflate block holds. */
#define RING_STORED_MAX 65535u

struct ring_deflate;

struct ring_deflate_cfg {
	int level;              /* zlib level 1..9 */
	uint32_t key_records;   /* a keyframe at least every this many records */
	uint32_t key_ms;        /* ... and at least every this many ms (0: off) */
	int strategy;           /* zlib strategy (0: Z_DEFAULT_STRATEGY) */
	int mem_level;          /* zlib memLevel 1..9 (0: 8) */
};

/* One record's compressed streams (valid until the next call). */
struct ring_deflate_out {
	struct iovec ws[RV_COUNT];      /* WebSocket payload, without 00 00 ff ff */
	struct iovec sse[RV_COUNT];     /* SSE gzip stream bytes */
	unsigned zflags;                /* RING_Z_* (ring.h): which are there */
};

/* NULL on failure (logged). */
struct ring_deflate *ring_deflate_new(const struct ring_deflate_cfg *cfg);
void ring_deflate_free(struct ring_deflate *d);

/*
 * Compress one record, seq, for the streams in want (RING_Z_WS(v) |
 * RING_Z_SSE(v) bits): form v's text is the concatenation of its npart[v]
 * (at most 2) pieces. 0 with o filled (o->zflags 0: nothing wanted), or -1
 * on failure (zlib or memory): the record goes out plain, and the next one
 * is a keyframe.
 */
int ring_deflate_rec(struct ring_deflate *d, unsigned want, uint64_t seq,
    const struct iovec part[RV_COUNT][2], const int npart[RV_COUNT],
    struct ring_deflate_out *o);

/* The record compressed last was not published: the next must be a
 * keyframe, or the stream would refer to bytes no client saw. */
void ring_deflate_void(struct ring_deflate *d);

/* Server frame header (FIN, RSV1, text) for len bytes of compressed
 * payload; its length (2, 4 or 10). */
int ring_deflate_header(uint8_t out[10], uint64_t len);

/* Worker side: form v's stream for protocol p (SP_WS, SP_SSE) has a
 * client; wanted until now_ms + RING_ZWANT_LEASE_MS. Cheap to call often:
 * the shared word is written only once half the lease has gone. */
void ring_deflate_want(struct shm_seg *seg, int v, int p, int64_t now_ms);

/* Writer side: the RING_Z_WS / RING_Z_SSE bits of the streams wanted at
 * now_ms. */
unsigned ring_deflate_wanted(const struct shm_seg *seg, int64_t now_ms);

/* CLOCK_MONOTONIC in ms, the clock of the two above. */
int64_t ring_deflate_now_ms(void);

#endif
