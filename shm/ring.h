/*
 * The record ring: one writer (ingest), many readers (workers), in the shared
 * segment (layout.h). The writer never waits for a reader.
 *
 * Protocol (Aeron broadcast style, memory orders in ring.c):
 *  - Records get consecutive 64-bit sequence numbers; slot = seq & (nslots-1).
 *  - Before overwriting any slot or data byte, the writer raises ctl->tail
 *    past every record that the write destroys, then (release fence) writes.
 *  - A record's bytes and slot are written, then slot->seq, then ctl->head
 *    (release); readers load head (acquire), read the slot and the bytes, and
 *    afterwards re-check tail (acquire fence): if seq < tail the record may
 *    have been overwritten while they read it, and what they read is void.
 *  - Zero copy: a worker writev()s straight from the data area, then calls
 *    ring_still_valid(); if false the frame that went out may be torn and the
 *    client must be closed.
 *  - Wake-ups: a reader that drained to head sets ctl->wake[i] (ring_arm_wake)
 *    and re-checks head before sleeping on its eventfd; the writer's
 *    ring_wake() writes the eventfd of every armed reader only.
 */
#ifndef SHM_RING_H
#define SHM_RING_H

#include <stdint.h>
#include <sys/uio.h>

#include "shm/layout.h"
#include "shm/segment.h"

#define RING_WS_HDR_MAX 10

struct ring_deflate;

struct ring_writer {
	struct shm_seg *seg;
	const int *wake_fds;    /* one eventfd per worker, or NULL */
	int nwake;
	int ids;                /* give JSON records their "id" (ring_publish) */
	struct ring_deflate *dfl;       /* shared compressors, or NULL (none) */
};

/* Attach a writer to the segment; resumes from ctl->head/wpos (a new ingest
 * after a crash continues where the last one stopped). Clears ids and dfl:
 * the caller sets them (dfl stays the caller's to free). */
void ring_writer_init(struct ring_writer *w, struct shm_seg *seg,
    const int *wake_fds, int nwake);

/*
 * A fresh ring's first seq (and so its first record id): only on a segment
 * nobody else uses yet, with nothing published. See segment.h for the
 * choice of first.
 */
void ring_start_at(struct shm_seg *seg, uint64_t first);

#define RING_NO_LOG 0xffffu

/* Compressed streams of a record (struct ring_slot zflags). */
#define RING_Z_KEY 0x01u                 /* the streams were reset before it */
#define RING_Z_WS(v) (0x02u << (v))      /* form v's permessage-deflate frame */
#define RING_Z_SSE(v) (0x10u << (v))     /* form v's SSE gzip stream bytes */

/* What a writer hands the ring for one record. */
struct ring_rec {
	struct iovec json[RV_COUNT];  /* the forms: RV_LITE, RV_FULL, RV_DOMAINS */
	struct iovec facts;           /* what filters match on; opaque here, may be empty */
	int64_t seen_us;              /* the record's data.seen */
	uint64_t index;               /* the entry's index in its log */
	uint16_t log;                 /* its shm_log_status slot, or RING_NO_LOG */
	uint8_t flags;                /* RING_F_* */
};

/*
 * Copy one record into the ring and publish it; frame headers are built
 * here. Returns the record's seq, or UINT64_MAX if the record cannot fit
 * (larger than a quarter of the data area) — nothing is published then.
 * With w->ids set (the ingest's writer; ring_writer_init clears it), a
 * variant that is a JSON object (starts with {") is stored with the seq as
 * its first member, "id":<seq>, so every stream and endpoint that sends
 * the record carries its id; anything else is stored as given.
 */
uint64_t ring_publish_rec(struct ring_writer *w, const struct ring_rec *r);

/* ring_publish_rec of the three forms alone (no facts, no log, no flags). */
uint64_t ring_publish(struct ring_writer *w, const struct iovec json[RV_COUNT],
    int64_t seen_us);

/* Record flags, in the slot's flags byte (RING_F_*). */
#define RING_F_PAIRED 0x01  /* the second of a precertificate/certificate
                               pair (same tbs_sha256): ?unique=1 skips it */
#define RING_F_NOTICE 0x02  /* not a certificate: a notice (log_gap) that
                               WebSocket clients get only with ?gaps=1 and
                               /latest.json never shows */
#define RING_F_GAP 0x04     /* with RING_F_NOTICE: an id the source skipped
                               (an edge's stream sequence that will never
                               come); workers send no record for it but
                               tell it as a gap, as when lapped */

/* The flags of record seq, or -1 if it is not (or no longer) in the ring. */
int ring_flags(const struct shm_seg *seg, uint64_t seq);
/*
 * Make seq the next seq to publish when it is above head: the records
 * below it are gone (tail = head = seq), and readers behind count them as
 * skipped, as when lapped. For a writer whose ids come from elsewhere (an
 * edge: the stream's sequence numbers, which may jump). No-op otherwise.
 */
void ring_skip_to(struct ring_writer *w, uint64_t seq);

/* Wake every reader that armed itself since the last call. Call after a
 * batch of ring_publish(); cheap when nobody waits. */
void ring_wake(struct ring_writer *w);

/* For a record's JSON as ring_publish stored it: k, the offset of the
 * comma that ends its leading `{"id":N`, so that "{" + json[k+1..len) is
 * the text as it was given; 0 if it has no id. */
size_t ring_id_len(const char *json, size_t len);

/* Next seq to be published (acquire: everything below it is written). */
uint64_t ring_head(const struct shm_seg *seg);
/* Oldest seq still intact. */
uint64_t ring_tail(const struct shm_seg *seg);

/*
 * Locate variant v of record seq: iov points into the data area, at the WS
 * frame header if ws is nonzero, else at the JSON. Returns 0, or -1 if seq is
 * not (or no longer) in [tail, head). The slot is validated before this
 * returns (iov always lies inside the data area); the bytes may still be
 * overwritten later: confirm with ring_still_valid() after using them.
 */
int ring_peek(const struct shm_seg *seg, uint64_t seq, enum ring_variant v,
    int ws, struct iovec *iov, int64_t *seen_us);

/*
 * The shared-stream compressed frame (header with RSV1, raw deflate) of
 * variant v of record seq, as ring_peek with ws set; *key set if the
 * record is a keyframe. -1 if seq is not in the ring or has no
 * compressed frames. Confirm with ring_still_valid() after use.
 */
int ring_peek_z(const struct shm_seg *seg, uint64_t seq, enum ring_variant v,
    struct iovec *iov, int *key);

/*
 * Form v of record seq in the shared SSE gzip stream: raw deflate blocks
 * that inflate to the SSE event (sse.h) and end byte-aligned (a sync
 * flush, 00 00 ff ff kept); *key as in ring_peek_z. -1 if seq is not in
 * the ring or has none. Confirm with ring_still_valid() after use.
 */
int ring_peek_zsse(const struct shm_seg *seg, uint64_t seq,
    enum ring_variant v, struct iovec *iov, int *key);

/* What the writer said of record seq beside its forms. */
struct ring_meta {
	struct iovec facts;     /* into the data area: confirm with ring_still_valid() */
	int64_t seen_us;
	uint64_t index;
	uint16_t log;
	uint8_t flags;
};

/* Fills m for seq; 0, or -1 if seq is not (or no longer) in [tail, head). */
int ring_peek_meta(const struct shm_seg *seg, uint64_t seq,
    struct ring_meta *m);

/* After reading bytes of records >= seq: were they intact? (acquire fence
 * then seq >= tail). */
int ring_still_valid(const struct shm_seg *seg, uint64_t seq);

/* Copy variant v of seq into buf (JSON only, NUL-terminated). Returns the
 * length, -1 if gone or torn, -2 if buflen is too small. */
long ring_copy(const struct shm_seg *seg, uint64_t seq, enum ring_variant v,
    char *buf, size_t buflen);

/* Reader i arms its wake flag; it must re-check ring_head() afterwards and
 * only sleep if nothing new arrived. */
void ring_arm_wake(struct shm_seg *seg, int reader);

/* Server WebSocket frame header (FIN, text) for a payload of len bytes;
 * returns its length (2, 4 or 10). */
int ring_ws_header(uint8_t out[RING_WS_HDR_MAX], uint64_t len);

#endif
