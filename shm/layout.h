/*
 * The shared-memory segment: the one place its layout is defined.
 *
 * One POSIX shm segment, created by the master before fork, mapped by every
 * process at the same size (addresses may differ: nothing in it is a pointer).
 *
 *   [struct shm_header]            magic, version, sizes, section offsets
 *   [struct ring_ctl]              producer head/tail, cache-line padded
 *   [struct ring_slot x nslots]    one per record, nslots a power of two
 *   [struct shm_ingest_stats]      written by ingest only
 *   [struct shm_log_status x SHM_MAX_LOGS]  written by ingest only
 *   [struct shm_worker_stats x SHM_MAX_WORKERS] one writer each
 *   [struct shm_limits]            connection counters, per-IP table
 *   [struct shm_config_box]        the configuration the master applied last
 *   [data area, data_size bytes]   rendered records, back to back
 *
 * Concurrency: every counter has exactly one writer process, except the
 * limits table (atomic read-modify-write by all workers). Readers sum.
 * Each protocol over this memory has its file in shm/: the ring (ring.h,
 * ring.c), the limits table (limits.c), the verified tree heads (heads.c),
 * the configuration box (config_box.c); the dedup set lives in a segment
 * of its own (dedup.c). Their atomics go through shm/atomics.h, each
 * memory order commented with the edge it pairs with; how each survives a
 * kill -9 mid-update is shm/mark.h.
 */
#ifndef SHM_LAYOUT_H
#define SHM_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/forms.h"

#define SHM_MAGIC 0x4345525453545231ULL /* "CERTSTR1" */
#define SHM_VERSION 8u
#define SHM_CACHELINE 64

#define SHM_MAX_WORKERS 64
#define SHM_MAX_LOGS 256
#define SHM_LOG_NAME_MAX 96
#define SHM_LOG_URL_MAX 160
#define SHM_LOG_ERR_MAX 160
#define SHM_IP_SLOTS 8192 /* power of two, open addressing */
#define SHM_LAT_BUCKETS 16
#define SHM_DELAY_BUCKETS 11 /* the bounds below, then +Inf */

/* Upper bounds, in seconds, of the ingest delay histogram's finite buckets
 * (struct shm_log_status delay_bucket). */
static const uint32_t shm_delay_bounds_s[SHM_DELAY_BUCKETS - 1] = {
	1, 2, 5, 10, 30, 60, 300, 900, 3600, 86400,
};

/* Record variants (RV_LITE, RV_FULL, RV_DOMAINS): common/forms.h. */

/* Stream and protocol indices for per-worker connection counters. */
enum shm_proto { SP_WS = 0, SP_SSE = 1, SP_COUNT = 2 };

struct shm_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;   /* sizeof(struct shm_header) */
	uint64_t total_size;    /* whole mapping */
	uint64_t nslots;        /* power of two */
	uint64_t data_size;     /* bytes in the data area */
	uint64_t off_ctl;       /* offsets from the segment start */
	uint64_t off_slots;
	uint64_t off_ingest;
	uint64_t off_logs;
	uint64_t off_workers;
	uint64_t off_limits;
	uint64_t off_config;
	uint64_t off_data;
	uint32_t nworkers;      /* workers configured at creation */
	uint32_t master_pid;
	int64_t created_unix;
	uint8_t pad[72];        /* to 192 bytes: three cache lines */
};

/*
 * Producer state. Seqs are also the records' ids on the wire: a ring starts
 * at first_seq (segment.c chooses it so that ids are never reused across
 * restarts), not at 0. head: seq of the next record to publish (records
 * [tail, head) are readable). tail: oldest seq whose slot and bytes are intact;
 * the writer raises it before it overwrites anything. wpos: next byte
 * position (64-bit, only grows; data offset = pos % data_size).
 * wake[i]: worker i asked to be woken (eventfd) on the next publish.
 */
struct ring_ctl {
	alignas(SHM_CACHELINE) _Atomic uint64_t head;
	alignas(SHM_CACHELINE) _Atomic uint64_t tail;
	alignas(SHM_CACHELINE) uint64_t wpos;      /* writer-private, kept here so a new ingest resumes */
	uint64_t published_total;                  /* records ever published */
	uint64_t bytes_total;                      /* bytes ever published */
	uint64_t first_seq;                        /* this ring's first seq (set before sharing) */
	alignas(SHM_CACHELINE) _Atomic uint32_t wake[SHM_MAX_WORKERS];
	/* zwant[v][p]: the CLOCK_MONOTONIC ms until which some worker has a
	 * client that takes form v's compressed stream for protocol p; the
	 * writer compresses only the streams wanted (ring_deflate.h). */
	alignas(SHM_CACHELINE) _Atomic int64_t zwant[RV_COUNT][SP_COUNT];
};

/*
 * One record. A variant v lies at data[(pos + voff[v]) % data_size]: first
 * whdr[v] bytes of WebSocket frame header (server frames: unmasked text,
 * FIN), then vlen[v] bytes of JSON. After the variants, flen bytes of
 * facts (at foff, no frame header): what filters match on, prepared by
 * the writer, opaque to the ring. With compression on, each variant's
 * shared-stream message follows at zoff[v]: zhdr[v] bytes of frame header
 * (RSV1 set, text, FIN) and zlen[v] bytes of raw deflate (ring_deflate.h),
 * then szlen[v] bytes of the SSE gzip stream's deflate blocks; zflags says
 * which are there (RING_Z_WS(v), RING_Z_SSE(v)) and RING_Z_KEY marks a
 * keyframe. A record never wraps the data area end.
 */
struct ring_slot {
	_Atomic uint64_t seq;   /* the seq stored here; written last (release) */
	uint64_t pos;           /* byte position of the record's first byte */
	uint32_t size;          /* whole record, bytes */
	uint32_t voff[RV_COUNT];
	uint32_t vlen[RV_COUNT];
	uint8_t whdr[RV_COUNT];
	uint8_t flags;          /* RING_F_* (ring.h) */
	int64_t seen_us;        /* the record's data.seen, Unix microseconds */
	int64_t pub_ns;         /* CLOCK_REALTIME ns when published */
	/* Second cache line: what only some readers need. */
	uint64_t index;         /* the entry's index in its log */
	uint32_t foff;          /* facts, from the record's first byte */
	uint32_t flen;
	uint32_t zoff[RV_COUNT];        /* compressed frames, from the record's first byte */
	uint32_t zlen[RV_COUNT];        /* their payload lengths */
	uint32_t szlen[RV_COUNT];       /* SSE gzip stream bytes, after the frame */
	uint16_t log;           /* the entry's log: its shm_log_status slot, or RING_NO_LOG */
	uint8_t zhdr[RV_COUNT];         /* their header lengths */
	uint8_t zflags;                 /* RING_Z_* (ring.h); 0: no compressed frames */
	uint8_t pad[6];
};

struct shm_log_status {
	_Atomic uint32_t in_use;   /* 0 free, 1 live; ingest writes, others read */
	uint32_t type;             /* 0 rfc6962, 1 static */
	_Atomic uint32_t state;    /* enum in ingest: ok, lagging, failing, stopped */
	uint32_t flags;
	char name[SHM_LOG_NAME_MAX];
	char url[SHM_LOG_URL_MAX];
	char last_error[SHM_LOG_ERR_MAX];
	_Atomic uint64_t tree_size;
	_Atomic uint64_t next_index;       /* next entry to publish: the resume point */
	_Atomic uint64_t entries;          /* entries published */
	_Atomic uint64_t errors;
	_Atomic uint64_t sig_failures;
	_Atomic int64_t last_success_unix;
	/* The last tree head verified, for the next ingest even after kill
	 * -9: a double buffer, protocol in shm/heads.c (verified_mark, at
	 * the end, marks a put in progress). */
	_Atomic uint64_t verified_gen;
	struct {
		uint64_t size;
		uint8_t root[32];
	} verified[2];
	/* Ingest delay of each entry streamed: publication wall time minus
	 * the entry's CT timestamp, negatives as 0. delay_bucket[k] counts
	 * the delays in (bound[k-1], bound[k]] of shm_delay_bounds_s, the
	 * last one those above every bound: one counter per entry, not
	 * cumulative (a reader sums, so the sums it shows only grow with
	 * the bound whatever it reads mid-update). delay_count is bumped
	 * after the bucket; delay_last_ms is the newest entry's. */
	_Atomic uint64_t delay_bucket[SHM_DELAY_BUCKETS];
	_Atomic uint64_t delay_sum_ms;
	_Atomic uint64_t delay_count;
	_Atomic uint64_t delay_last_ms;
	_Atomic uint64_t skipped_entries;  /* passed by ct_log.max_catchup_lag */
	/* With nats.publish: the poller's point (next_index waits for the
	 * stream's acks), so a successor knows which entries it passed. */
	_Atomic uint64_t passed;
	/* The ingest's mark while it writes verified[] (shm/mark.h); in
	 * what was padding, so an older segment reads as unmarked. */
	_Atomic uint32_t verified_mark;
	uint8_t pad[4];
};

struct shm_ingest_stats {
	alignas(SHM_CACHELINE) _Atomic uint32_t pid;
	_Atomic uint32_t alive;
	_Atomic int64_t started_unix;
	_Atomic uint64_t records;          /* records published */
	_Atomic uint64_t parse_failures;
	_Atomic uint64_t duplicates;
	_Atomic uint64_t dedup_cache_size;
	_Atomic uint64_t sig_failures;
	_Atomic uint64_t http_requests;
	_Atomic uint64_t http_errors;
	_Atomic uint64_t tiles_fetched;
	_Atomic uint64_t issuer_cache_size;
	_Atomic uint64_t rss_bytes;
	_Atomic uint64_t held_bytes;       /* logs' answers held or in flight */
	_Atomic uint32_t nlogs;
	_Atomic uint32_t restarts;
	/* NATS (ingest/nats_pub.c, ingest/nats_edge.c); nats is SHM_NATS_*. */
	_Atomic uint32_t nats;
	_Atomic uint64_t nats_acked;       /* records the stream acknowledged */
	_Atomic uint64_t nats_pending;     /* published, not acknowledged yet */
	_Atomic uint64_t nats_received;    /* records an edge took from the stream */
	_Atomic uint64_t nats_skipped;     /* stream sequence numbers an edge never got */
	_Atomic uint64_t nats_seq;         /* the newest stream sequence seen */
	_Atomic uint64_t nats_id_shift;    /* an edge's ring id - stream sequence:
	                                    * 0 until the stream is recreated */
	_Atomic uint64_t nats_recreated;   /* streams found behind the ring */
	_Atomic int64_t nats_created;      /* the edge's stream's creation (ns) */
};

enum { SHM_NATS_OFF = 0, SHM_NATS_UP = 1, SHM_NATS_DOWN = 2 };

struct shm_worker_stats {
	alignas(SHM_CACHELINE) _Atomic uint32_t pid;
	_Atomic uint32_t alive;
	_Atomic int64_t started_unix;
	_Atomic uint32_t restarts;
	_Atomic uint32_t clients;                         /* streaming clients now */
	_Atomic uint32_t conns[RV_COUNT][SP_COUNT];        /* by stream, protocol */
	_Atomic uint64_t accepted;
	_Atomic uint64_t messages_sent;
	_Atomic uint64_t bytes_sent;
	_Atomic uint64_t lapped;          /* times a client was lapped */
	_Atomic uint64_t skipped;         /* records skipped by lapped clients */
	_Atomic uint64_t torn_closed;     /* clients closed: bytes reused mid-write */
	_Atomic uint64_t http_requests;
	_Atomic uint64_t http_errors;     /* 4xx/5xx answered */
	_Atomic uint64_t auth_failures;
	_Atomic uint64_t limit_rejects;
	_Atomic uint64_t heartbeats;
	_Atomic uint64_t rss_bytes;
	/* ingest-to-send latency histogram, le = 2^i ms, last bucket +Inf */
	_Atomic uint64_t lat_bucket[SHM_LAT_BUCKETS];
	_Atomic uint64_t lat_sum_us;
	_Atomic uint64_t lat_count;
	/* streamed records and bytes by stream and protocol */
	_Atomic uint64_t stream_msgs[RV_COUNT][SP_COUNT];
	_Atomic uint64_t stream_bytes[RV_COUNT][SP_COUNT];
	/* of those, compressed frames sent (permessage-deflate), and the
	 * bytes their plain frames have */
	_Atomic uint64_t stream_zbytes[RV_COUNT][SP_COUNT];
	_Atomic uint64_t stream_zplain[RV_COUNT][SP_COUNT];
};

struct shm_ip_slot {
	_Atomic uint32_t count;       /* live connections from this address */
	_Atomic uint32_t used;        /* state, tag, marks: shm/limits.c */
	uint8_t addr[16];             /* IPv4 as ::ffff:a.b.c.d */
	_Atomic uint64_t rate_window; /* unix second of the rate bucket */
	_Atomic uint32_t rate_count;  /* new connections in that second */
	uint32_t pad;
};

struct shm_limits {
	alignas(SHM_CACHELINE) _Atomic uint32_t total;  /* live client connections */
	uint32_t seed;             /* random, set once at creation: keys the table's hash */
	struct shm_ip_slot ip[SHM_IP_SLOTS];
	/* What each worker holds of the counts above, so that the successor
	 * of a worker killed with -9 gives its counts back. Row w is written
	 * by worker w only (and by its successor, once the master reaped it). */
	alignas(SHM_CACHELINE) _Atomic uint32_t held_total[SHM_MAX_WORKERS];
	_Atomic uint32_t held[SHM_MAX_WORKERS][SHM_IP_SLOTS];
};

/*
 * The configuration the master parsed, validated and applied last (keys
 * that need a restart kept as they run). Children take a reload from here
 * on SIGHUP and never read the file: one parse for every process, and a
 * file only root may read serves children that dropped privileges. A
 * seqlock with one writer: protocol in shm/config_box.c.
 */
struct shm_config_box {
	alignas(SHM_CACHELINE) _Atomic uint64_t gen;   /* odd while written */
	struct config cfg;
};

_Static_assert(sizeof(struct shm_header) % SHM_CACHELINE == 0, "header padded");
_Static_assert(offsetof(struct ring_ctl, tail) == SHM_CACHELINE, "head and tail on own lines");
_Static_assert(sizeof(struct ring_slot) == 2 * SHM_CACHELINE, "slot is two cache lines");
_Static_assert(offsetof(struct ring_slot, index) == SHM_CACHELINE, "every stream's fields on the first line");
_Static_assert(offsetof(struct ring_slot, seq) == 0, "seq first in slot");
_Static_assert(sizeof(struct shm_worker_stats) % SHM_CACHELINE == 0, "worker stats padded");
_Static_assert(sizeof(struct shm_ingest_stats) % SHM_CACHELINE == 0, "ingest stats padded");
_Static_assert(sizeof(struct shm_log_status) % SHM_CACHELINE == 0, "log status padded");
_Static_assert(offsetof(struct shm_log_status, delay_bucket) % 8 == 0, "delay counters aligned");
_Static_assert(offsetof(struct shm_log_status, verified_mark) ==
    sizeof(struct shm_log_status) - 8, "the heads mark in the old padding");
_Static_assert(sizeof(struct shm_ip_slot) == 40, "ip slot size");
_Static_assert((SHM_IP_SLOTS & (SHM_IP_SLOTS - 1)) == 0, "ip table power of two");
_Static_assert(SHM_MAX_WORKERS <= 255, "a worker id fits struct limits_hold");

#endif
