/*
 * The ingest pipeline's last steps, shared by every CT poller: one decoded,
 * verified entry to one ring record (see pipeline.c for the whole path).
 */
#ifndef INGEST_PIPELINE_H
#define INGEST_PIPELINE_H

#include <stdint.h>

#include "ingest/leaf.h"
#include "ingest/render/render.h"
#include "ingest/unique.h"
#include "shm/dedup.h"
#include "shm/ring.h"

struct pipeline {
	struct ring_writer *w;
	struct dedup *dedup;        /* the owner's set; NULL: dedup off */
	struct render_out out;      /* the forms of the entry being published */
	struct unique *unique;      /* ?unique=1 pairs (the owner's), or NULL */
	void *sha256;               /* EVP_MD, fetched once */
	/* Set by the caller per entry: render a duplicate too and hand back
	 * its record (not to the ring): an ingest publishing to NATS sends
	 * again what a predecessor may have left unacknowledged. */
	int render_dups;
	/* After pipeline_entry: the certificate's SHA-256, and the record
	 * built (have_rec: published, or a duplicate with render_dups). */
	uint8_t sha[32];
	struct ring_rec rec;
	int have_rec;
};

/* What became of an entry (PIPE_BAD and PIPE_TOO_BIG fill err). */
enum pipe_result {
	PIPE_PUBLISHED = 0,  /* one record in the ring */
	PIPE_DUPLICATE,      /* streamed from a log already: nothing done */
	PIPE_BAD,            /* the certificate or its chain did not render */
	PIPE_TOO_BIG,        /* rendered, larger than the ring takes */
};

/*
 * A sink past the ring that takes over the logs' resume points (with
 * nats.publish, ingest.c registers nats_pub_entry). With one set, every
 * entry a log passes is handed to it (r: its record, NULL for a duplicate
 * or an entry that did not decode; logid: the log's id, else its URL;
 * key: the certificate's SHA-256) and the log's next_index in the segment
 * is the sink's to move, once it has the entry safe; the log's `passed`
 * says how far the poller went. Entries below the point an earlier ingest
 * had passed are rendered even when duplicates (render_dups) and handed
 * to the sink again, not to the ring. NULL (the default): none, a log's
 * resume point moves as soon as its entry is in the ring.
 */
typedef void pipeline_sink_fn(struct shm_log_status *st, uint64_t index,
    const struct ring_rec *r, const char *logid, const uint8_t key[32]);

/* What a sink asks of the pipeline, at pipeline_set_sink. */
enum pipe_sink_flags {
	/* Mark each entry passed (its log's `passed` in the segment) before
	 * dedup can remember it: a successor after a kill in between sends
	 * it again rather than take it for a duplicate. */
	PIPE_SINK_PASSED_FIRST = 1 << 0,
};

void pipeline_set_sink(pipeline_sink_fn *fn, unsigned flags);
pipeline_sink_fn *pipeline_sink(void);

/* 0, or -1 when out of memory. */
int pipeline_init(struct pipeline *p, struct ring_writer *w);
void pipeline_fini(struct pipeline *p);

/* Entry e of the log in shm_log_status slot `log` (src names it), seen at
 * seen_us (Unix microseconds): dedup, render, publish (and what the sink
 * asked for, see pipeline_set_sink). */
enum pipe_result pipeline_entry(struct pipeline *p,
    const struct render_source *src, uint16_t log, const struct leaf_entry *e,
    int64_t seen_us, char *err, size_t errlen);

/*
 * Step 5 alone, for a record the ingest did not render from a CT entry:
 * replay's (rendered at load by the same library), an edge's (rendered by
 * the ingest that published it to NATS), an edge's skipped ids, a log's
 * log_gap notice (ct_skip.c). The
 * ingest's one call of ring_publish_rec. PIPE_PUBLISHED, or
 * PIPE_TOO_BIG with err filled (err may be NULL with errlen 0).
 */
enum pipe_result pipeline_publish_rec(struct ring_writer *w,
    const struct ring_rec *r, char *err, size_t errlen);

#endif
