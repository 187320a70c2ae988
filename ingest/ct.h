/*
 * The CT source of the ingest process: every watched log (from the log list
 * and the config) polled on the ingest's event loop, verified, decoded,
 * rendered once, deduplicated across logs and published to the ring in
 * index order per log.
 *
 * Exactly once: a log's resume point is seg->logs[i].next_index, advanced
 * only after the entry's record is published (or deliberately dropped as a
 * duplicate or an unparseable certificate, which is counted). A restarted
 * ingest resumes from it; a restarted daemon from the state file.
 */
#ifndef INGEST_CT_H
#define INGEST_CT_H

#include <stdint.h>

#include <event2/event.h>

#include "common/config.h"
#include "ingest/leaf.h"
#include "ingest/loglist.h"
#include "ingest/sth.h"
#include "shm/ring.h"
#include "shm/segment.h"

/* seg->logs[i].state */
enum ct_log_state {
	CT_LOG_OK = 0,
	CT_LOG_LAGGING = 1,
	CT_LOG_FAILING = 2,
	CT_LOG_STOPPED = 3
};

/* seg->logs[i].flags */
#define CT_SHM_HAVE_NEXT 0x1u   /* next_index is a valid resume point */
#define CT_SHM_UNVERIFIED 0x2u  /* no key: tree heads cannot be verified */

/* Start watching (the log list may arrive later, asynchronously). The
 * config is copied. 0, or -1 (logged). */
int ct_start(struct event_base *base, const struct config *cfg,
    struct shm_seg *seg, struct ring_writer *w);

/* Stop every log and save the state file. */
void ct_stop(void);

/* Apply a new config: fetch settings, dedup, custom/static logs, list URL
 * and states (logs are started and stopped to match). 0 or -1. */
int ct_reload(const struct config *cfg);

/*
 * The log URL and index of the newest record in the ring, from the ring
 * slot's log and index (ring_peek_meta). Ingest publishes a record, then
 * advances its log's next_index: an ingest killed between the two leaves
 * exactly this record published but not counted, and its successor uses
 * this to resume after it. 0, or -1 (empty ring, record gone, or not a CT
 * record: no log slot).
 */
int ct_last_record(const struct shm_seg *seg, char *url, size_t urllen,
    uint64_t *index);

/* ---- shared by ct.c and the pollers (ct_rfc6962.c, ct_tiles.c) ---- */

struct ct_log {
	struct loglist_log info;
	struct sth_key key;
	int has_key;
	struct shm_log_status *st;   /* this log's slot in the segment */
	uint64_t next;               /* next index to publish */
	int have_next;               /* next is known (shm, state, or first head) */
	int failed;                  /* stopped for good: bad signature etc. */
	uint64_t resend_below;       /* nats.publish: entries an earlier ingest
	                              * passed, perhaps unacknowledged: published
	                              * even when the dedup set has them */
	void *poller;                /* the poller's private state */
};

/* A poller verified a tree head: remembered in the segment (and from there
 * the state file), for the next ingest. */
void ct_log_verified(struct ct_log *l, uint64_t size,
    const uint8_t root[STH_HASH_LEN]);

/* The last tree head verified, by this ingest or one before it (the one a
 * poller's first head must extend): 0 and *size, root; -1 if none yet. */
int ct_log_head(const struct ct_log *l, uint64_t *size,
    uint8_t root[STH_HASH_LEN]);

/* The fetch options cfg gives (timeouts, caps, redirects, User-Agent):
 * the ingest's, and a backfill's. */
struct fetch_opts;
void ct_fetch_opts(const struct config *cfg, struct fetch_opts *o);

/* The running configuration and fetcher. */
const struct config *ct_config(void);
struct fetch *ct_fetch(void);
struct event_base *ct_base(void);
struct shm_ingest_stats *ct_ingest_stats(void);

/* Choose the resume point on a log's first verified tree head: the state
 * file's, else tree_size - ct_log.backfill. */
void ct_log_first_head(struct ct_log *l, uint64_t tree_size);

/* Move the log's resume point (counted and announced by the caller). */
void ct_log_set_next(struct ct_log *l, uint64_t next);
struct ring_writer *ct_writer(void);

/* ct_skip.c: a log more than ct_log.max_catchup_lag entries behind the
 * verified head of tree_size skips ahead to that many behind: counted
 * (skipped_entries), logged, and announced to clients by a log_gap
 * notice record. 1 when it skipped (the poller then drops what it holds
 * below the new resume point), else 0. */
int ct_log_catchup(struct ct_log *l, uint64_t tree_size);

/* Render, dedup and publish entry e (e->index must equal l->next), then
 * advance the log's resume point. An entry whose certificate cannot be
 * rendered is counted (parse_failures) and passed. 0, or -1 when the ring
 * refused the record (it is counted and passed too). */
int ct_publish(struct ct_log *l, const struct leaf_entry *e);

/* Pass the entry at l->next without publishing it (it cannot be decoded):
 * counted as a parse failure and an error, logged, never silent. */
void ct_log_skip(struct ct_log *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Wake readers after a batch of ct_publish(). */
void ct_flush(void);

/* A verified head was seen: record tree size, success time, ok/lagging. */
void ct_log_ok(struct ct_log *l, uint64_t tree_size);

/* A transient error (HTTP, timeout, bad body): counted, shown, logged when
 * the reason changes. */
void ct_log_error(struct ct_log *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A fatal error (bad signature when sig, shrinking tree, disagreeing entry
 * count): the log is marked failing with the reason, logged once, and its
 * poller stops. */
void ct_log_fail(struct ct_log *l, int sig, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
