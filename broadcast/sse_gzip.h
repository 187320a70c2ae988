/*
 * Server-Sent Events under Content-Encoding: gzip, from the ring's shared
 * SSE deflate streams (shm/ring_deflate.h): no compressor per client.
 *
 * The body is one gzip member (RFC 1952) that never ends: its 10-byte
 * header goes out once, after the response head; then each record as
 * deflate blocks (RFC 1951). A client in step with form v's shared stream
 * (it got the previous record from it, or this record is a keyframe) gets
 * the shared bytes; any other record, and every byte that is not a record
 * (heartbeats, gap events, skipped comments), goes out as a stored block
 * (a 5-byte header, then the bytes as they are), which takes the client
 * out of step until the next keyframe: the shared stream's back references
 * count the records' bytes only. Each piece ends on a byte boundary, so a
 * decoder gives every event out as soon as it arrives.
 */
#ifndef BROADCAST_SSE_GZIP_H
#define BROADCAST_SSE_GZIP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "broadcast/http.h"
#include "shm/segment.h"

/* A stored block's header: BFINAL 0, BTYPE 00, padding, LEN, NLEN. */
#define SSE_GZIP_STORED_HDR 5
/* The longest piece one stored block holds. */
#define SSE_GZIP_STORED_MAX 65535u
/* 1 if the request's Accept-Encoding takes gzip (named with a q above 0,
 * or "*" with one), else 0 (RFC 9110 §12.5.3). */
int sse_gzip_accepted(const struct http_request *req);

/* The SSE response head with "Content-Encoding: gzip", followed by the
 * gzip member header that starts the body. Its length, 0 if it does not
 * fit (SSE_HEAD_MAX always does). */
size_t sse_gzip_head(char *out, size_t outlen);

/* The stored block header for len bytes (len <= SSE_GZIP_STORED_MAX). */
void sse_gzip_stored(uint8_t out[SSE_GZIP_STORED_HDR], size_t len);

/*
 * Record seq of form v as a gzip client gets it, in part[] (at most 3;
 * how many returned, or -1: not in the ring, or an event too long for a
 * stored block that the shared stream does not hold). in_step: the client
 * got seq - 1 from the shared stream. *z: the plain event's length when
 * the shared bytes were chosen (the client is in step after it), else 0.
 * unit picks this call's scratch (one per record of a writev).
 */
int sse_gzip_parts(const struct shm_seg *seg, uint64_t seq, int v,
    int in_step, unsigned unit, struct iovec part[3], int64_t *seen,
    int *z);

#endif
