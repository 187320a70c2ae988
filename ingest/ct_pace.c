/*
 * Poll and back-off timers of a log poller (ct_pace.h).
 */
#include "ingest/ct_pace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "ingest/ct.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 60000
#define RETRY_AFTER_MAX_MS 600000

/* Every operator some running log belongs to. The ingest is one thread:
 * its libevent loop. */
static struct ct_pace_op *ops;

static void
arm(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* The later of the log's own pause and its operator's. */
static int64_t
until(const struct ct_pace *pc)
{
	if (pc->op != NULL && pc->op->pause_until > pc->pause_until)
		return pc->op->pause_until;
	return pc->pause_until;
}

int
ct_pace_init(struct ct_pace *pc, struct event_base *base,
    event_callback_fn on_poll, event_callback_fn on_retry, void *arg)
{
	pc->backoff_ms = 0;
	pc->pause_until = 0;
	pc->halted = 0;
	pc->op = NULL;
	pc->op_next = NULL;
	pc->waiting = 0;
	pc->poll_ev = evtimer_new(base, on_poll, arg);
	pc->retry_ev = evtimer_new(base, on_retry, arg);
	if (pc->poll_ev == NULL || pc->retry_ev == NULL) {
		log_warnx("%s: evtimer_new failed", __func__);
		ct_pace_fini(pc);
		return -1;
	}
	arm(pc->poll_ev, 0);
	return 0;
}

int
ct_pace_join(struct ct_pace *pc, const char *name)
{
	struct ct_pace_op *op;

	if (name == NULL || name[0] == '\0' || pc->op != NULL)
		return 0;
	for (op = ops; op != NULL; op = op->next)
		if (strcasecmp(op->name, name) == 0)
			break;
	if (op == NULL) {
		if ((op = calloc(1, sizeof(*op))) == NULL) {
			log_warn("%s: calloc", __func__);
			return -1;
		}
		snprintf(op->name, sizeof(op->name), "%s", name);
		op->next = ops;
		ops = op;
	}
	pc->op = op;
	pc->op_next = op->members;
	op->members = pc;
	return 0;
}

static void
leave(struct ct_pace *pc)
{
	struct ct_pace_op *op = pc->op, **opp;
	struct ct_pace **pp;

	if (op == NULL)
		return;
	for (pp = &op->members; *pp != NULL; pp = &(*pp)->op_next)
		if (*pp == pc) {
			*pp = pc->op_next;
			break;
		}
	pc->op = NULL;
	pc->op_next = NULL;
	if (op->members != NULL)
		return;
	for (opp = &ops; *opp != NULL; opp = &(*opp)->next)
		if (*opp == op) {
			*opp = op->next;
			break;
		}
	free(op);
}

void
ct_pace_halt(struct ct_pace *pc)
{
	pc->halted = 1;
	if (pc->poll_ev != NULL)
		evtimer_del(pc->poll_ev);
	if (pc->retry_ev != NULL)
		evtimer_del(pc->retry_ev);
}

void
ct_pace_fini(struct ct_pace *pc)
{
	leave(pc);
	if (pc->poll_ev != NULL)
		event_free(pc->poll_ev);
	if (pc->retry_ev != NULL)
		event_free(pc->retry_ev);
	pc->poll_ev = pc->retry_ev = NULL;
}

/* Retry-After in ms, cut to RETRY_AFTER_MAX_MS; 0 when there is none. */
static long
retry_after_ms(const struct fetch_res *res)
{
	if (res == NULL || res->retry_after_secs <= 0)
		return 0;
	/* cut before multiplying: a log's huge value would overflow */
	if (res->retry_after_secs > RETRY_AFTER_MAX_MS / 1000)
		return RETRY_AFTER_MAX_MS;
	return res->retry_after_secs * 1000;
}

/* A log of op was told to slow down: its step doubles, and every log of
 * op pauses for the step or Retry-After, whichever is longer. The others
 * are woken by their retry_ev when it ends, as after their own pause. */
static void
op_backoff(struct ct_pace_op *op, const struct fetch_res *res, int64_t now)
{
	long ms = op->backoff_ms ? op->backoff_ms * 2 : BACKOFF_MIN_MS;
	long ra = retry_after_ms(res);
	struct ct_pace *m;

	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	op->backoff_ms = ms;
	if (ra > ms)
		ms = ra;
	if (now + ms > op->pause_until)
		op->pause_until = now + ms;
	op->eased_at = op->pause_until;
	for (m = op->members; m != NULL; m = m->op_next)
		if (!m->halted && m->retry_ev != NULL)
			arm(m->retry_ev, until(m) - now);
}

void
ct_pace_backoff(struct ct_pace *pc, const struct fetch_res *res)
{
	long ms = pc->backoff_ms ? pc->backoff_ms * 2 : BACKOFF_MIN_MS;
	int64_t now = clock_mono_ms();

	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	pc->backoff_ms = ms;
	if (retry_after_ms(res) > ms)
		ms = retry_after_ms(res);
	/* never shorter than a pause already running */
	if (now + ms > pc->pause_until)
		pc->pause_until = now + ms;
	if (pc->op != NULL && res != NULL && res->ok &&
	    (res->status == 429 || res->retry_after_secs > 0))
		op_backoff(pc->op, res, now);
	arm(pc->retry_ev, until(pc) - now);
}

void
ct_pace_ok(struct ct_pace *pc)
{
	struct ct_pace_op *op = pc->op;
	int64_t now;

	pc->backoff_ms = 0;
	if (op == NULL || op->backoff_ms == 0)
		return;
	now = clock_mono_ms();
	if (now < op->pause_until || now - op->eased_at < op->backoff_ms)
		return;
	op->backoff_ms /= 2;
	if (op->backoff_ms < BACKOFF_MIN_MS)
		op->backoff_ms = 0;
	op->eased_at = now;
}

int
ct_pace_paused(const struct ct_pace *pc)
{
	return clock_mono_ms() < until(pc);
}

void
ct_pace_poll_later(struct ct_pace *pc)
{
	int64_t ms = ct_config()->ct_log.poll_interval_ms;
	int64_t wait = until(pc) - clock_mono_ms();

	arm(pc->poll_ev, wait > ms ? wait : ms);
}

int
ct_pace_retry_later(struct ct_pace *pc)
{
	int64_t left = until(pc) - clock_mono_ms();

	if (left <= 0)
		return 0;
	arm(pc->retry_ev, left);
	return 1;
}

int
ct_pace_take(struct ct_pace *pc)
{
	const struct config *cfg = ct_config();
	struct ct_pace_op *op = pc->op;
	double rate = (double)cfg->ct_log.operator_requests_per_second;
	int64_t now;

	if (op == NULL)
		return 1;
	if (op->inflight >= cfg->ct_log.operator_max_concurrency) {
		pc->waiting = 1;        /* woken by ct_pace_give */
		return 0;
	}
	if (rate > 0) {
		now = clock_mono_ms();
		/* at most a second's worth of requests in a burst */
		op->tokens += (double)(now - op->tokens_at) * rate / 1000.0;
		if (op->tokens_at == 0 || op->tokens > (rate < 1 ? 1 : rate))
			op->tokens = rate < 1 ? 1 : rate;
		op->tokens_at = now;
		if (op->tokens < 1) {
			if (!pc->halted && pc->retry_ev != NULL)
				arm(pc->retry_ev, (int64_t)((1 - op->tokens) *
				    1000.0 / rate) + 1);
			return 0;
		}
		op->tokens -= 1;
	}
	op->inflight++;
	return 1;
}

void
ct_pace_give(struct ct_pace *pc)
{
	struct ct_pace_op *op = pc->op;
	struct ct_pace *m;

	if (op == NULL || op->inflight == 0)
		return;
	op->inflight--;
	/* a slot is free: the logs that were refused one ask again */
	for (m = op->members; m != NULL; m = m->op_next)
		if (m->waiting && !m->halted && m->retry_ev != NULL) {
			m->waiting = 0;
			arm(m->retry_ev, until(m) - clock_mono_ms());
		}
}

void
ct_pace_describe(char *buf, size_t len, const struct fetch_res *res)
{
	if (!res->ok)
		snprintf(buf, len, "%s", res->error);
	else
		snprintf(buf, len, "HTTP %ld", res->status);
}
