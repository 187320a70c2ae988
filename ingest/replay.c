/*
 * Replay source: publishes a loaded feed (replay_feed.c) to the ring on a
 * timer, at replay.rate, through the pipeline's publish step.
 */
#include "ingest/replay.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "common/log.h"
#include "ingest/pipeline.h"
#include "shm/atomics.h"

/* Publishing 'as fast as possible' yields to the loop after this many
 * records, so signals and the timer of a rate change are still handled. */
#define REPLAY_BATCH 512
/* A rate-driven tick never publishes more than this: a stalled process does
 * not burst its whole debt into the ring at once. */
#define REPLAY_MAX_DUE 4096

struct replay {
	struct event_base *base;
	struct event *ev;
	struct shm_seg *seg;
	struct ring_writer *w;
	struct replay_feed feed;
	double rate;
	int loop;
	int done;
	int warned_big;
	size_t next;                /* next record of the feed */
	uint64_t published;
	struct timespec t0;         /* rate clock origin (monotonic) */
	uint64_t sent_since_t0;
};

static double
elapsed_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static int64_t
realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Publish up to max records; returns how many went out. */
static uint64_t
replay_publish_some(struct replay *r, uint64_t max)
{
	struct ring_rec rr;
	uint64_t sent = 0;
	char err[128];

	/* Bounded by attempts, not successes: a feed of records too large for
	 * the ring must not spin. */
	for (uint64_t tries = 0; tries < max && !r->done; tries++) {
		int64_t seen = realtime_us();
		struct replay_rec *rec = &r->feed.recs[r->next];

		memset(&rr, 0, sizeof(rr));
		replay_feed_stamp(&r->feed, r->next, seen, rr.json);
		rr.facts.iov_base = r->feed.buf + rec->foff;
		rr.facts.iov_len = rec->flen;
		rr.seen_us = seen;
		rr.log = RING_NO_LOG;
		if (pipeline_publish_rec(r->w, &rr, err, sizeof(err)) !=
		    PIPE_PUBLISHED) {
			if (!r->warned_big) {
				log_warnx("replay: record %zu: %s (buffer_bytes): "
				    "skipped", r->next, err);
				r->warned_big = 1;
			}
		} else {
			sent++;
		}
		if (++r->next == r->feed.n) {
			r->next = 0;
			if (!r->loop) {
				r->done = 1;
				log_info("replay: end of feed, %" PRIu64 " records "
				    "published; idle", r->published + sent);
			}
		}
	}
	if (sent > 0) {
		r->published += sent;
		shm_fetch_add(&r->seg->ingest->records, sent, relaxed);
		ring_wake(r->w);
	}
	return sent;
}

static void
replay_arm(struct replay *r)
{
	struct timeval tv = { 0, 0 };

	if (r->done)
		return;
	if (r->rate > 0) {
		/* One tick per record at low rates, 1 ms ticks at high ones,
		 * 10 ms at most so the flow stays smooth. */
		double period = 1.0 / r->rate;

		if (period < 0.001)
			period = 0.001;
		if (period > 0.010)
			period = 0.010;
		tv.tv_usec = (suseconds_t)(period * 1e6);
	}
	event_add(r->ev, &tv);
}

static void
replay_tick(evutil_socket_t fd, short what, void *arg)
{
	struct replay *r = arg;
	uint64_t due;

	(void)fd;
	(void)what;
	if (r->rate <= 0) {
		replay_publish_some(r, REPLAY_BATCH);
	} else {
		double should = elapsed_since(&r->t0) * r->rate;

		due = should > (double)r->sent_since_t0 ?
		    (uint64_t)should - r->sent_since_t0 : 0;
		if (due > REPLAY_MAX_DUE) {
			/* Behind (stopped, or the rate is beyond us): forget
			 * the debt rather than burst it. */
			r->sent_since_t0 += due - REPLAY_MAX_DUE;
			due = REPLAY_MAX_DUE;
		}
		replay_publish_some(r, due);
		r->sent_since_t0 += due;
	}
	replay_arm(r);
}

struct bad_ctx {
	const char *path;
	struct shm_seg *seg;
};

/* Each bad line is logged once, here, and counted for /metrics. */
static void
replay_bad_line(void *arg, unsigned long line, const char *why)
{
	struct bad_ctx *b = arg;

	log_warnx("replay: %s:%lu: %s: line skipped", b->path, line, why);
	shm_fetch_add(&b->seg->ingest->parse_failures, 1, relaxed);
}

/*
 * A replaced ingest (the old one crashed or was killed) continues the feed
 * after the last record the ring holds, so clients see the feed go on
 * rather than start over. The record is found by its domains form, which
 * is byte for byte the feed's apart from the seen digits. Returns the index
 * of the record after it (n: the feed had ended), or 0 if none matches.
 */
static size_t
replay_resume_point(const struct replay *r)
{
	const struct replay_feed *f = &r->feed;
	uint64_t head = ring_head(r->seg);
	size_t max = 0, at = 0;
	char *buf;
	long n;

	if (head == 0)
		return 0;
	for (size_t i = 0; i < f->n; i++)
		if (f->recs[i].len[RV_DOMAINS] > max)
			max = f->recs[i].len[RV_DOMAINS];
	if ((buf = malloc(max + 33)) == NULL)
		return 0;
	n = ring_copy(r->seg, head - 1, RV_DOMAINS, buf, max + 33);
	if (n > 0) {
		/* Compare the text as it was published, without its id. */
		size_t k = ring_id_len(buf, (size_t)n);

		if (k > 0) {
			memmove(buf + 1, buf + k + 1, (size_t)n - k - 1);
			n -= (long)k;
			buf[n] = '\0';
		}
	}
	for (size_t i = 0; n > 0 && i < f->n; i++) {
		const struct replay_rec *rec = &f->recs[i];
		const char *p = f->buf + rec->off[RV_DOMAINS];
		size_t sa = rec->seen_at[RV_DOMAINS], tail = sa + REPLAY_SEEN_LEN;

		if (rec->len[RV_DOMAINS] == (size_t)n && memcmp(p, buf, sa) == 0 &&
		    memcmp(p + tail, buf + tail, (size_t)n - tail) == 0) {
			at = i + 1;
			break;
		}
	}
	free(buf);
	return at;
}

struct replay *
replay_start(struct event_base *base, const struct config *cfg,
    struct shm_seg *seg, struct ring_writer *w)
{
	struct replay *r;
	struct bad_ctx bc = { cfg->replay.file, seg };
	char err[512];

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	r->base = base;
	r->seg = seg;
	r->w = w;
	if (replay_feed_load(&r->feed, cfg->replay.file, replay_bad_line, &bc, err,
	    sizeof(err)) == -1) {
		log_error("replay: %s", err);
		goto fail;
	}
	if ((r->ev = event_new(base, -1, 0, replay_tick, r)) == NULL) {
		log_warnx("%s: event_new", __func__);
		goto fail;
	}
	log_info("replay: %s: %zu records (%" PRIu64 " lines, %" PRIu64
	    " bad), rate %g/s%s", cfg->replay.file, r->feed.n, r->feed.lines,
	    r->feed.bad, cfg->replay.rate, cfg->replay.loop ? ", looping" : "");
	if (r->feed.differs > 0)
		log_info("replay: %s: %" PRIu64 " records differ from what their "
		    "certificate renders to (first: line %" PRIu64 "); streamed "
		    "as rendered", cfg->replay.file, r->feed.differs,
		    r->feed.differs_line);
	if ((r->next = replay_resume_point(r)) != 0) {
		log_info("replay: resuming after record %zu of the feed", r->next);
		if (r->next == r->feed.n) {
			r->next = 0;
			/* a feed played to its end is not played again */
			r->done = !cfg->replay.loop;
		}
	}
	replay_reconfigure(r, cfg->replay.rate, cfg->replay.loop);
	return r;
fail:
	replay_stop(r);
	return NULL;
}

void
replay_reconfigure(struct replay *r, double rate, int loop)
{
	r->rate = rate > 0 ? rate : 0;
	r->loop = loop;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->sent_since_t0 = 0;
	if (r->done && loop)
		r->done = 0;    /* looping again: resume from the start */
	event_del(r->ev);
	replay_arm(r);
}

uint64_t
replay_published(const struct replay *r)
{
	return r->published;
}

int
replay_done(const struct replay *r)
{
	return r->done;
}

void
replay_stop(struct replay *r)
{
	if (r == NULL)
		return;
	if (r->ev)
		event_free(r->ev);
	replay_feed_free(&r->feed);
	free(r);
}
