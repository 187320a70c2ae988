/*
 * The edge's JetStream consumer: one thread takes the stream's records in
 * order and publishes them to the ring under their stream sequence (plus
 * a shift once the stream was found recreated: ids only grow).
 */
#include "ingest/nats_edge.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ingest/nats_conn.h"
#include "ingest/nats_env.h"
#include "ingest/pipeline.h"
#include "shm/atomics.h"

#define NE_WAIT_MS 500
#define NE_RETRY_MS 500
#define NE_STALL_MS 3000      /* quiet that long: is the consumer stuck? */

struct nats_edge {
	const struct config *cfg;
	struct shm_seg *seg;
	struct ring_writer *w;
	struct shm_ingest_stats *stats;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	pthread_t th;
	_Atomic int stop;
	char last[256];         /* the last error logged */
	uint64_t shift;         /* ring id - stream sequence (ne_recreated) */
	int64_t created;        /* the stream's creation time (ns), 0: unknown */
	int behind_told;
};

static void
ne_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void
ne_error(struct nats_edge *e, const char *what, natsStatus s, int jerr)
{
	char why[256];

	snprintf(why, sizeof(why), "%s: %s (%d)", what, natsStatus_GetText(s),
	    jerr);
	if (strcmp(why, e->last) != 0)
		log_warnx("nats: %s; retrying", why);
	snprintf(e->last, sizeof(e->last), "%s", why);
}

/*
 * Does the stream end below what this edge took? Another stream (created
 * later: deleted and created again, or replaced): 1. The same one, which
 * lost its last records (a server's unsynced tail after a crash): 0; the
 * edge then waits for the stream to pass its head, as it would for
 * records it had, and says so once.
 */
static int
ne_behind(struct nats_edge *e, int64_t created, uint64_t last)
{
	uint64_t head = ring_head(e->seg);

	if (head <= 1 || last + e->shift + 1 >= head) {
		e->behind_told = 0;
		return 0;
	}
	if (created != e->created)
		return 1;
	if (!e->behind_told)
		log_warnx("nats: stream %s ends at sequence %" PRIu64 ", below "
		    "the %" PRIu64 " this edge took, and was not created again: "
		    "its records up to there are passed", e->cfg->nats.stream,
		    last, head - 1 - e->shift);
	e->behind_told = 1;
	return 0;
}

/*
 * The stream was created again: its records are new ones, so they all
 * come, and after the ring's head: ids go on growing (never one issued
 * twice), as sequence + shift, with the shift kept in shared memory for
 * an ingest restart. Edges that had the same head go on with the same ids.
 */
static void
ne_recreated(struct nats_edge *e, uint64_t first, uint64_t last)
{
	uint64_t head = ring_head(e->seg), shift = head - first;

	log_warnx("nats: STREAM %s CREATED AGAIN: it ends at sequence %"
	    PRIu64 ", below the %" PRIu64 " this edge took: its records from %"
	    PRIu64 " on get ids from %" PRIu64 " on (id = sequence + %" PRIu64
	    "); ids here no longer equal the stream's sequence",
	    e->cfg->nats.stream, last, head - 1 - e->shift, first, head,
	    shift);
	e->shift = shift;
	/* relaxed: read by /health/deep, and by a successor ingest */
	shm_store(&e->stats->nats_id_shift, shift, relaxed);
	shm_fetch_add(&e->stats->nats_recreated, 1, relaxed);
}

/* The first stream sequence to ask for. 0, or -1 (stream not there yet). */
static int
ne_start_seq(struct nats_edge *e, uint64_t *seq)
{
	uint64_t head = ring_head(e->seg), tail = ring_tail(e->seg), want;
	uint64_t first, last;
	int64_t created;
	int recreated;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	s = js_GetStreamInfo(&si, e->js, e->cfg->nats.stream, NULL, &jerr);
	if (s != NATS_OK) {
		ne_error(e, "stream info", s, (int)jerr);
		return -1;
	}
	first = si->State.FirstSeq > 0 ? si->State.FirstSeq : 1;
	last = si->State.LastSeq;
	created = si->Created;
	jsStreamInfo_Destroy(si);
	/* head - 1 is the last id taken: the stream should reach it */
	recreated = ne_behind(e, created, last);
	e->created = created;
	shm_store(&e->stats->nats_created, created, relaxed);
	if (recreated) {
		ne_recreated(e, first, last);
		*seq = first;
		return 0;
	}
	*seq = head - e->shift;
	if (head != tail)
		return 0;
	want = last + 1;
	want = want > e->cfg->nats.backfill ? want - e->cfg->nats.backfill : 1;
	if (want < first)
		want = first;
	if (want + e->shift > head)
		*seq = want;
	return 0;
}

static int
ne_subscribe(struct nats_edge *e)
{
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;
	uint64_t seq;

	if (ne_start_seq(e, &seq) == -1)
		return -1;
	jsSubOptions_Init(&so);
	so.Stream = e->cfg->nats.stream;
	so.Ordered = true;
	so.Config.DeliverPolicy = js_DeliverByStartSequence;
	so.Config.OptStartSeq = seq;
	s = js_SubscribeSync(&e->sub, e->js, e->cfg->nats.subject, NULL, &so,
	    &jerr);
	if (s != NATS_OK) {
		ne_error(e, "subscribe", s, (int)jerr);
		e->sub = NULL;
		return -1;
	}
	log_info("nats: consuming stream %s from sequence %" PRIu64,
	    e->cfg->nats.stream, seq);
	e->last[0] = '\0';
	return 0;
}

/*
 * Stream sequences from..to-1 will never come (removed from the stream
 * before this edge took them). The ring's ids are dense, so each gets a
 * record flagged RING_F_GAP: workers send none of them but tell the run as
 * one gap notice, as they tell a lapped client (docs/FORMAT.md: SSE
 * `event: gap`, WebSocket only with ?gaps=1), and the ring keeps what it
 * holds. A gap of as many ids as the ring has slots would leave none of
 * them: the ring is emptied instead (ring_skip_to) and clients behind are
 * told of the jump as when lapped, with the same count.
 */
static void
ne_gap(struct nats_edge *e, uint64_t from, uint64_t to)
{
	static const char body[] = "{\"message_type\":\"gap\"}";
	struct ring_rec r;
	struct timespec ts;

	if (to - from >= e->seg->slot_mask + 1) {
		ring_skip_to(e->w, to);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&r, 0, sizeof(r));
	r.seen_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	r.log = RING_NO_LOG;
	r.flags = RING_F_NOTICE | RING_F_GAP;
	for (int v = 0; v < RV_COUNT; v++) {
		r.json[v].iov_base = (void *)(uintptr_t)body;
		r.json[v].iov_len = sizeof(body) - 1;
	}
	for (uint64_t id = from; id < to; id++) {
		if (ring_head(e->seg) != id ||
		    pipeline_publish_rec(e->w, &r, NULL, 0) != PIPE_PUBLISHED) {
			ring_skip_to(e->w, to);
			return;
		}
	}
}

/* One message: into the ring under its stream sequence. */
static void
ne_take(struct nats_edge *e, natsMsg *m)
{
	jsMsgMetaData *meta = NULL;
	struct ring_rec r;
	const char *logid;
	size_t loglen;
	uint64_t seq, id, head, tail;

	if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
		log_warnx("nats: a message without JetStream metadata; dropped");
		return;
	}
	seq = meta->Sequence.Stream;
	jsMsgMetaData_Destroy(meta);
	id = seq + e->shift;
	head = ring_head(e->seg);
	if (id < head)
		return;         /* had it: a consumer started over */
	tail = ring_tail(e->seg);
	if (id > head) {
		/* nothing lost when the ring was empty: it starts here */
		if (head != tail) {
			shm_fetch_add(&e->stats->nats_skipped, id - head,
			    relaxed);
			log_warnx("nats: stream sequence %" PRIu64 " follows %"
			    PRIu64 ": %" PRIu64 " records gone from the stream",
			    seq, head - 1 - e->shift, id - head);
			ne_gap(e, head, id);
		} else
			ring_skip_to(e->w, id);
	}
	shm_store(&e->stats->nats_seq, seq, relaxed);
	shm_fetch_add(&e->stats->nats_received, 1, relaxed);
	if (nats_env_decode((const uint8_t *)natsMsg_GetData(m),
	    (size_t)natsMsg_GetDataLength(m), &r, &logid, &loglen) == -1) {
		shm_fetch_add(&e->stats->parse_failures, 1, relaxed);
		log_warnx("nats: stream sequence %" PRIu64 " is not a record; "
		    "passed", seq);
		ne_gap(e, id, id + 1);  /* told as one skipped id: the ring stays */
		return;
	}
	if (pipeline_publish_rec(e->w, &r, NULL, 0) != PIPE_PUBLISHED) {
		shm_fetch_add(&e->stats->parse_failures, 1, relaxed);
		log_warnx("nats: stream sequence %" PRIu64 " does not fit the "
		    "ring; passed", seq);
		ne_gap(e, id, id + 1);
		return;
	}
	shm_fetch_add(&e->stats->records, 1, relaxed);
}

static int64_t
ne_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Quiet for NE_STALL_MS: does the stream hold what the ring lacks? Then
 * the consumer is stuck (libnats does not always recreate an ordered
 * consumer lost with a cluster node: its request may meet a leader
 * election), and a new one starts from the ring's head. 1: it was stuck.
 */
static int
ne_stalled(struct nats_edge *e)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	uint64_t last;
	int64_t created;

	if (js_GetStreamInfo(&si, e->js, e->cfg->nats.stream, NULL, &jerr) !=
	    NATS_OK)
		return 0;       /* NATS away: the consumer waits, as it should */
	created = si->Created;
	last = si->State.LastSeq + e->shift;
	jsStreamInfo_Destroy(si);
	/* the stream ends below what this edge took: created again? A new
	 * consumer's start takes it (ne_start_seq) */
	if (last < ring_head(e->seg))
		return ne_behind(e, created, last - e->shift);
	log_warnx("nats: the stream is at %" PRIu64 ", this edge at %" PRIu64
	    " and nothing came for %d ms: consuming anew", last - e->shift,
	    ring_head(e->seg) - 1 - e->shift, NE_STALL_MS);
	return 1;
}

/*
 * When to wake the workers. The ingest node publishes a poll's entries in
 * a burst, but they reach the edge one message at a time, often slower
 * than it takes them: waking whenever libnats holds nothing more woke the
 * workers several times a burst, each wake a writev per client (a single
 * box wakes once per batch it fetched). So a burst ends when nothing comes
 * for NE_LINGER_MS, or after NE_BATCH_MAX records, or NE_BATCH_MS after
 * its first record: clients get it no later than that.
 */
#define NE_LINGER_MS 5
#define NE_BATCH_MS 25
#define NE_BATCH_MAX 256

static void *
ne_main(void *arg)
{
	struct nats_edge *e = arg;
	natsMsg *m;
	natsStatus s;
	int taken = 0;
	int64_t quiet = ne_now_ms();      /* since the last message or check */
	int64_t first = 0, wait;          /* the burst's first record */

	while (!shm_load(&e->stop, relaxed)) {
		if (e->sub == NULL) {
			(void)natsc_up(e->nc, e->stats);
			if (ne_subscribe(e) == -1) {
				ne_sleep_ms(NE_RETRY_MS);
				continue;
			}
		}
		m = NULL;
		wait = NE_WAIT_MS;
		if (taken) {
			wait = first + NE_BATCH_MS - ne_now_ms();
			wait = wait < 0 ? 0 : wait > NE_LINGER_MS ? NE_LINGER_MS :
			    wait;
		}
		s = wait == 0 ? NATS_TIMEOUT :
		    natsSubscription_NextMsg(&m, e->sub, wait);
		if (s == NATS_TIMEOUT) {
			if (taken) {
				/* the burst is over (or old enough): tell */
				ring_wake(e->w);
				taken = 0;
				continue;
			}
			(void)natsc_up(e->nc, e->stats);
			if (ne_now_ms() - quiet >= NE_STALL_MS) {
				quiet = ne_now_ms();
				if (ne_stalled(e)) {
					natsSubscription_Destroy(e->sub);
					e->sub = NULL;
				}
			}
			continue;
		}
		quiet = ne_now_ms();
		if (s != NATS_OK) {
			if (taken)
				ring_wake(e->w);
			taken = 0;
			/* the consumer is gone for good: a new one from the head */
			ne_error(e, "next message", s, 0);
			natsSubscription_Destroy(e->sub);
			e->sub = NULL;
			ne_sleep_ms(NE_RETRY_MS);
			continue;
		}
		ne_take(e, m);
		natsMsg_Destroy(m);
		if (taken++ == 0)
			first = quiet;
		if (taken >= NE_BATCH_MAX) {
			ring_wake(e->w);
			taken = 0;
		}
	}
	return NULL;
}

struct nats_edge *
nats_edge_start(const struct config *cfg, struct shm_seg *seg,
    struct ring_writer *w)
{
	struct nats_edge *e;
	char err[512];

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	e->cfg = cfg;
	e->seg = seg;
	e->w = w;
	e->stats = seg->ingest;
	/* a predecessor's, written before it died: relaxed is enough */
	e->shift = shm_load(&e->stats->nats_id_shift, relaxed);
	e->created = shm_load(&e->stats->nats_created, relaxed);
	if (natsc_open(cfg, e->stats, &e->nc, &e->js, NULL, 0, err,
	    sizeof(err)) == -1) {
		log_error("%s", err);
		free(e);
		return NULL;
	}
	if (pthread_create(&e->th, NULL, ne_main, e) != 0) {
		log_error("%s: pthread_create failed", __func__);
		natsc_close(e->nc, e->js, e->stats);
		free(e);
		return NULL;
	}
	return e;
}

void
nats_edge_stop(struct nats_edge *e)
{
	if (e == NULL)
		return;
	shm_store(&e->stop, 1, relaxed);  /* pthread_join orders the rest */
	pthread_join(e->th, NULL);
	natsSubscription_Destroy(e->sub);
	natsc_close(e->nc, e->js, e->stats);
	free(e);
}
