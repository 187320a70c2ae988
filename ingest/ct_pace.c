/*
 * Poll and back-off timers of a log poller (ct_pace.h).
 */
#include "ingest/ct_pace.h"

#include <stdio.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "ingest/ct.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 60000
#define RETRY_AFTER_MAX_MS 600000

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

int
ct_pace_init(struct ct_pace *pc, struct event_base *base,
    event_callback_fn on_poll, event_callback_fn on_retry, void *arg)
{
	pc->backoff_ms = 0;
	pc->pause_until = 0;
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

void
ct_pace_halt(struct ct_pace *pc)
{
	if (pc->poll_ev != NULL)
		evtimer_del(pc->poll_ev);
	if (pc->retry_ev != NULL)
		evtimer_del(pc->retry_ev);
}

void
ct_pace_fini(struct ct_pace *pc)
{
	if (pc->poll_ev != NULL)
		event_free(pc->poll_ev);
	if (pc->retry_ev != NULL)
		event_free(pc->retry_ev);
	pc->poll_ev = pc->retry_ev = NULL;
}

void
ct_pace_backoff(struct ct_pace *pc, const struct fetch_res *res)
{
	long ms = pc->backoff_ms ? pc->backoff_ms * 2 : BACKOFF_MIN_MS;
	int64_t now = clock_mono_ms();

	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	pc->backoff_ms = ms;
	if (res != NULL && res->retry_after_secs > 0) {
		long ra;

		/* cut before multiplying: a log's huge value would overflow */
		if (res->retry_after_secs > RETRY_AFTER_MAX_MS / 1000)
			ra = RETRY_AFTER_MAX_MS;
		else
			ra = res->retry_after_secs * 1000;
		if (ra > ms)
			ms = ra;
	}
	/* never shorter than a pause already running */
	if (now + ms > pc->pause_until)
		pc->pause_until = now + ms;
	arm(pc->retry_ev, pc->pause_until - now);
}

void
ct_pace_ok(struct ct_pace *pc)
{
	pc->backoff_ms = 0;
}

int
ct_pace_paused(const struct ct_pace *pc)
{
	return clock_mono_ms() < pc->pause_until;
}

void
ct_pace_poll_later(struct ct_pace *pc)
{
	int64_t ms = ct_config()->ct_log.poll_interval_ms;
	int64_t wait = pc->pause_until - clock_mono_ms();

	arm(pc->poll_ev, wait > ms ? wait : ms);
}

int
ct_pace_retry_later(struct ct_pace *pc)
{
	int64_t left = pc->pause_until - clock_mono_ms();

	if (left <= 0)
		return 0;
	arm(pc->retry_ev, left);
	return 1;
}

void
ct_pace_describe(char *buf, size_t len, const struct fetch_res *res)
{
	if (!res->ok)
		snprintf(buf, len, "%s", res->error);
	else
		snprintf(buf, len, "HTTP %ld", res->status);
}
