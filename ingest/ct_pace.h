/*
 * The timing both log pollers (RFC 6962, static-ct-api) share: when to ask
 * a log for its next tree head, and the back-off after an error, during
 * which nothing new is requested from that log.
 */
#ifndef CERTSTREAM_INGEST_CT_PACE_H
#define CERTSTREAM_INGEST_CT_PACE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "ingest/fetch.h"

struct ct_pace {
	struct event *poll_ev;      /* ask for the next tree head */
	struct event *retry_ev;     /* the pause is over: go on */
	long backoff_ms;            /* the last pause; 0 after a success */
	int64_t pause_until;        /* monotonic ms */
};

/* Both timers on base; the first poll is due at once. 0, or -1 (logged)
 * when libevent has no memory. */
int ct_pace_init(struct ct_pace *pc, struct event_base *base,
    event_callback_fn on_poll, event_callback_fn on_retry, void *arg);

/* Stop both timers (the log failed); fini frees them. */
void ct_pace_halt(struct ct_pace *pc);
void ct_pace_fini(struct ct_pace *pc);

/* After an error: pause exponentially longer (250 ms .. 60 s), or as long
 * as Retry-After asks (10 minutes at most) if that is longer; retry_ev
 * fires when the pause ends. res may be NULL. */
void ct_pace_backoff(struct ct_pace *pc, const struct fetch_res *res);

/* A request succeeded: the next error starts the back-off over. */
void ct_pace_ok(struct ct_pace *pc);

/* Nonzero while paused. */
int ct_pace_paused(const struct ct_pace *pc);

/* The next poll: after ct_log.poll_interval_ms, or when the pause ends. */
void ct_pace_poll_later(struct ct_pace *pc);

/* In retry_ev's callback: nonzero (and retry_ev armed again) when the
 * pause was made longer meanwhile and has not ended yet. */
int ct_pace_retry_later(struct ct_pace *pc);

/* "HTTP 503" or the transfer's error, for a log's last_error. */
void ct_pace_describe(char *buf, size_t len, const struct fetch_res *res);

#endif
