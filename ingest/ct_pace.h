/*
 * The timing both log pollers (RFC 6962, static-ct-api) share: when to ask
 * a log for its next tree head, and the back-off after an error, during
 * which nothing new is requested from that log.
 *
 * Operators rate-limit a client across all of their logs, so a rate limit
 * (a 429, or any answer with Retry-After) pauses every log of the log's
 * operator, not only the one that got it: each ct_pace that joined an
 * operator (ct_pace_join) is paused while its own pause or its operator's
 * runs. Other errors (5xx, timeouts, bad bodies) stay the log's own: one
 * broken log of an operator says nothing of its others.
 *
 * The operator's step doubles from 250 ms to 60 s with each rate limit, as
 * a log's own does, but a success does not reset it: once the pause is
 * over, successes of any of its logs halve the step, at most once per
 * step's length (from 60 s: 30 s after 60 s of successes, 15 s after 30 s
 * more, ... about two minutes to none), so a limit hit again soon after a
 * long pause brings a long pause again rather than 250 ms.
 */
#ifndef CERTSTREAM_INGEST_CT_PACE_H
#define CERTSTREAM_INGEST_CT_PACE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "ingest/fetch.h"

struct ct_pace;

/* The logs of one operator (by name), in one table in ct_pace.c. */
struct ct_pace_op {
	char name[128];
	long backoff_ms;            /* the shared step; eased by successes */
	int64_t pause_until;        /* monotonic ms */
	int64_t eased_at;           /* the step's last halving (or the end
	                               of the pause that set it) */
	struct ct_pace *members;
	struct ct_pace_op *next;
	/* The operator's request budget (ct_pace_take): windows in flight,
	 * and a token bucket of request starts. */
	int inflight;
	double tokens;
	int64_t tokens_at;          /* monotonic ms of the last refill */
};

struct ct_pace {
	struct event *poll_ev;      /* ask for the next tree head */
	struct event *retry_ev;     /* the pause is over: go on */
	long backoff_ms;            /* the last pause; 0 after a success */
	int64_t pause_until;        /* monotonic ms */
	int halted;
	struct ct_pace_op *op;      /* NULL: a log of its own */
	struct ct_pace *op_next;    /* the operator's other logs */
	int waiting;                /* refused a slot: woken when one frees */
};

/* Both timers on base; the first poll is due at once. 0, or -1 (logged)
 * when libevent has no memory. */
int ct_pace_init(struct ct_pace *pc, struct event_base *base,
    event_callback_fn on_poll, event_callback_fn on_retry, void *arg);

/* Share the rate-limit pause of the logs of operator name (any case, as
 * excluded_operators; "" or NULL: the log is its own operator). An
 * operator renamed by a later list takes effect when the log restarts. Once, after ct_pace_init; fini leaves. 0, or
 * -1 (logged) when out of memory. */
int ct_pace_join(struct ct_pace *pc, const char *name);

/* Stop both timers (the log failed); fini frees them. */
void ct_pace_halt(struct ct_pace *pc);
void ct_pace_fini(struct ct_pace *pc);

/* After an error: pause exponentially longer (250 ms .. 60 s), or as long
 * as Retry-After asks (10 minutes at most) if that is longer; retry_ev
 * fires when the pause ends. A 429 or a Retry-After pauses the operator's
 * other logs as long (see above). res may be NULL. */
void ct_pace_backoff(struct ct_pace *pc, const struct fetch_res *res);

/* A request succeeded: the next error starts the log's own back-off over;
 * the operator's step eases (see above). */
void ct_pace_ok(struct ct_pace *pc);

/* Nonzero while the log's own pause or its operator's runs. */
int ct_pace_paused(const struct ct_pace *pc);

/* The next poll: after ct_log.poll_interval_ms, or when the pause ends. */
void ct_pace_poll_later(struct ct_pace *pc);

/* In retry_ev's callback: nonzero (and retry_ev armed again) when the
 * pause was made longer meanwhile and has not ended yet. */
int ct_pace_retry_later(struct ct_pace *pc);

/*
 * The operator's budget for the bulk requests (get-entries windows, data
 * tiles) of all its logs: at most ct_log.operator_max_concurrency in
 * flight, started at most ct_log.operator_requests_per_second (0: no
 * rate limit). Take a slot before starting one: 1 taken; 0 not now, and
 * retry_ev fires once one may be free (a slot given back by any of the
 * operator's logs, or the next token). Give it back when the request
 * ends or is cancelled. A log with no operator has no shared budget.
 */
int ct_pace_take(struct ct_pace *pc);
void ct_pace_give(struct ct_pace *pc);

/* "HTTP 503" or the transfer's error, for a log's last_error. */
void ct_pace_describe(char *buf, size_t len, const struct fetch_res *res);

#endif
