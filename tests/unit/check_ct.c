/* The CT source's crash resume: the newest record in the ring names its
 * log and index, so a successor ingest never publishes it twice. The
 * pollers' back-off (ct_pace), a log's own and its operator's. */
#include <check.h>
#include <limits.h>
#include <string.h>
#include <stdio.h>
#include <sys/uio.h>

#include "common/clock.h"
#include "ingest/ct.h"
#include "ingest/ct_pace.h"

Suite *ct_suite(void);

static void
publish(struct ring_writer *w, uint16_t log, uint64_t index)
{
	static const char lite[] = "{\"message_type\":\"certificate_update\"}";
	static const char dom[] = "{\"message_type\":\"dns_entries\"}";
	struct ring_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.json[RV_LITE].iov_base = (void *)lite;
	rec.json[RV_LITE].iov_len = sizeof(lite) - 1;
	rec.json[RV_FULL] = rec.json[RV_LITE];
	rec.json[RV_DOMAINS].iov_base = (void *)dom;
	rec.json[RV_DOMAINS].iov_len = sizeof(dom) - 1;
	rec.log = log;
	rec.index = index;
	ck_assert_uint_ne(ring_publish_rec(w, &rec), UINT64_MAX);
}

/* From the ring slot's log and index alone: the JSON says nothing here. */
START_TEST(last_record_names_log_and_index)
{
	struct shm_seg seg;
	struct ring_writer w;
	char err[256], url[256];
	uint64_t idx = 0;

	ck_assert_int_eq(shm_seg_create_anon(&seg, 64, 1 << 20, 1, err,
	    sizeof(err)), 0);
	snprintf(seg.logs[0].url, sizeof(seg.logs[0].url), "http://a.example/log/");
	snprintf(seg.logs[7].url, sizeof(seg.logs[7].url), "http://b.example/");
	ring_writer_init(&w, &seg, NULL, 0);
	ck_assert_int_eq(ct_last_record(&seg, url, sizeof(url), &idx), -1);
	publish(&w, 0, 41);
	publish(&w, 7, 9000000000ULL);
	ck_assert_int_eq(ct_last_record(&seg, url, sizeof(url), &idx), 0);
	ck_assert_str_eq(url, "http://b.example/");
	ck_assert_uint_eq(idx, 9000000000ULL);
	/* a record of no log (replay) */
	publish(&w, RING_NO_LOG, 5);
	ck_assert_int_eq(ct_last_record(&seg, url, sizeof(url), &idx), -1);
	/* a slot that names no log */
	publish(&w, 3, 5);
	ck_assert_int_eq(ct_last_record(&seg, url, sizeof(url), &idx), -1);
	shm_seg_close(&seg);
}
END_TEST

static void
pace_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* The back-off doubles from 250 ms to 60 s; a longer Retry-After wins, up
 * to 10 minutes; a pause already running is never shortened; a success
 * starts it over. */
START_TEST(pace_backoff_doubles_honours_retry_after_and_never_shortens)
{
	struct event_base *base = event_base_new();
	struct ct_pace pc;
	struct fetch_res res;
	int64_t left;
	long want = 250;
	int i;

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(ct_pace_init(&pc, base, pace_cb, pace_cb, NULL), 0);
	ck_assert(!ct_pace_paused(&pc));
	ck_assert_int_eq(ct_pace_retry_later(&pc), 0);
	for (i = 0; i < 12; i++) {
		ct_pace_backoff(&pc, NULL);
		ck_assert_int_eq(pc.backoff_ms, want);
		want = want * 2 > 60000 ? 60000 : want * 2;
	}
	ck_assert_int_eq(pc.backoff_ms, 60000);
	ck_assert(ct_pace_paused(&pc));
	ck_assert_int_eq(ct_pace_retry_later(&pc), 1);
	ck_assert(evtimer_pending(pc.retry_ev, NULL));

	/* Retry-After: 300 s is longer than the back-off; 1 day is cut to 600 s */
	memset(&res, 0, sizeof(res));
	res.ok = 1;
	res.status = 429;
	res.retry_after_secs = 300;
	ct_pace_backoff(&pc, &res);
	left = pc.pause_until - clock_mono_ms();
	ck_assert(left > 299000 && left <= 300000);
	res.retry_after_secs = 86400;
	ct_pace_backoff(&pc, &res);
	left = pc.pause_until - clock_mono_ms();
	ck_assert(left > 599000 && left <= 600000);

	/* a success starts the back-off over, but keeps the running pause */
	ct_pace_ok(&pc);
	ct_pace_backoff(&pc, NULL);
	ck_assert_int_eq(pc.backoff_ms, 250);
	left = pc.pause_until - clock_mono_ms();
	ck_assert(left > 599000);

	ct_pace_halt(&pc);
	ck_assert(!evtimer_pending(pc.retry_ev, NULL));
	ck_assert(!evtimer_pending(pc.poll_ev, NULL));
	ct_pace_fini(&pc);
	event_base_free(base);
}
END_TEST

/* A Retry-After too big for milliseconds in a long (9300000000000000 s
 * times 1000 passes LONG_MAX) is the 10-minute cap, not a signed overflow
 * (undefined behaviour; it wrapped to a negative pause). */
START_TEST(pace_huge_retry_after_is_cut_to_ten_minutes)
{
	struct event_base *base = event_base_new();
	struct ct_pace pc;
	struct fetch_res res;
	int64_t left;

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(ct_pace_init(&pc, base, pace_cb, pace_cb, NULL), 0);
	memset(&res, 0, sizeof(res));
	res.ok = 1;
	res.status = 429;
	res.retry_after_secs = 9300000000000000L;
	ct_pace_backoff(&pc, &res);
	left = pc.pause_until - clock_mono_ms();
	ck_assert(left > 599000 && left <= 600000);
	res.retry_after_secs = LONG_MAX;
	ct_pace_backoff(&pc, &res);
	left = pc.pause_until - clock_mono_ms();
	ck_assert(left > 599000 && left <= 600000);
	ct_pace_halt(&pc);
	ct_pace_fini(&pc);
	event_base_free(base);
}
END_TEST

/* A 429 on one log pauses every log of its operator, as long as Retry-After
 * asks, and wakes their retry timers when it ends; a log of another
 * operator, or of none, goes on; a 500 stays the log's own. */
START_TEST(pace_429_pauses_every_log_of_the_operator)
{
	struct event_base *base = event_base_new();
	struct ct_pace a, b, other, alone;
	struct fetch_res res;
	int64_t left;

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(ct_pace_init(&a, base, pace_cb, pace_cb, NULL), 0);
	ck_assert_int_eq(ct_pace_init(&b, base, pace_cb, pace_cb, NULL), 0);
	ck_assert_int_eq(ct_pace_init(&other, base, pace_cb, pace_cb, NULL), 0);
	ck_assert_int_eq(ct_pace_init(&alone, base, pace_cb, pace_cb, NULL), 0);
	ck_assert_int_eq(ct_pace_join(&a, "Op One"), 0);
	ck_assert_int_eq(ct_pace_join(&b, "op one"), 0);
	ck_assert_int_eq(ct_pace_join(&other, "Op Two"), 0);
	ck_assert_int_eq(ct_pace_join(&alone, ""), 0);
	ck_assert_ptr_eq(a.op, b.op);
	ck_assert_ptr_ne(a.op, other.op);
	ck_assert_ptr_null(alone.op);

	/* a 500 on a: a alone pauses */
	memset(&res, 0, sizeof(res));
	res.ok = 1;
	res.status = 500;
	ct_pace_backoff(&a, &res);
	ck_assert(ct_pace_paused(&a));
	ck_assert(!ct_pace_paused(&b));
	ck_assert(!evtimer_pending(b.retry_ev, NULL));
	ck_assert_int_eq(a.op->backoff_ms, 0);

	/* a 429 with Retry-After: 30 on a: b too, for 30 s */
	res.status = 429;
	res.retry_after_secs = 30;
	ct_pace_backoff(&a, &res);
	ck_assert(ct_pace_paused(&a));
	ck_assert(ct_pace_paused(&b));
	ck_assert(!ct_pace_paused(&other));
	ck_assert(!ct_pace_paused(&alone));
	ck_assert_int_eq(ct_pace_retry_later(&b), 1);
	ck_assert(evtimer_pending(b.retry_ev, NULL));
	ck_assert(!evtimer_pending(other.retry_ev, NULL));
	left = b.op->pause_until - clock_mono_ms();
	ck_assert(left > 29000 && left <= 30000);
	ck_assert_int_eq(b.backoff_ms, 0);  /* b's own back-off is untouched */

	/* a success of b during the pause does not end it */
	ct_pace_ok(&b);
	ck_assert(ct_pace_paused(&b));

	/* the operator outlives a log that leaves; the last one frees it */
	ct_pace_fini(&a);
	ck_assert(ct_pace_paused(&b));
	ct_pace_fini(&b);
	ck_assert_ptr_null(b.op);
	ct_pace_fini(&other);
	ct_pace_fini(&alone);
	event_base_free(base);
}
END_TEST

/* The operator's step doubles with each rate limit (250 ms .. 60 s) and,
 * once the pause is over, successes halve it at most once per step's
 * length, never resetting it at once. */
START_TEST(pace_operator_step_creeps_back_after_a_pause)
{
	struct event_base *base = event_base_new();
	struct ct_pace a, b;
	struct fetch_res res;
	struct ct_pace_op *op;
	long want = 250;
	int i;

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(ct_pace_init(&a, base, pace_cb, pace_cb, NULL), 0);
	ck_assert_int_eq(ct_pace_init(&b, base, pace_cb, pace_cb, NULL), 0);
	ck_assert_int_eq(ct_pace_join(&a, "Op"), 0);
	ck_assert_int_eq(ct_pace_join(&b, "Op"), 0);
	op = a.op;
	memset(&res, 0, sizeof(res));
	res.ok = 1;
	res.status = 429;
	for (i = 0; i < 10; i++) {
		ct_pace_backoff(i % 2 ? &a : &b, &res);
		ck_assert_int_eq(op->backoff_ms, want);
		want = want * 2 > 60000 ? 60000 : want * 2;
	}
	ck_assert_int_eq(op->backoff_ms, 60000);

	/* pretend the pause ended just now */
	op->pause_until = clock_mono_ms() - 1;
	op->eased_at = op->pause_until;
	a.pause_until = b.pause_until = 0;
	ck_assert(!ct_pace_paused(&a));
	ct_pace_ok(&a);
	ct_pace_ok(&b);
	ck_assert_int_eq(op->backoff_ms, 60000);  /* not yet: a step's length */
	op->eased_at -= 60000;
	ct_pace_ok(&a);
	ct_pace_ok(&b);
	ct_pace_ok(&a);
	ck_assert_int_eq(op->backoff_ms, 30000);  /* once, however many */
	op->eased_at -= 30000;
	ct_pace_ok(&b);
	ck_assert_int_eq(op->backoff_ms, 15000);
	/* a limit now starts from there, not from 250 ms */
	ct_pace_backoff(&a, &res);
	ck_assert_int_eq(op->backoff_ms, 30000);
	ck_assert(ct_pace_paused(&b));
	/* down to nothing, step by step */
	for (i = 0; i < 20 && op->backoff_ms > 0; i++) {
		op->pause_until = clock_mono_ms() - 1;
		op->eased_at = clock_mono_ms() - op->backoff_ms;
		ct_pace_ok(&b);
	}
	ck_assert_int_eq(op->backoff_ms, 0);
	ck_assert_int_eq(i, 7);  /* 30 s, 15, 7.5, 3.75, 1.875, 0.94, 0.47 */
	ct_pace_fini(&a);
	ct_pace_fini(&b);
	event_base_free(base);
}
END_TEST

Suite *
ct_suite(void)
{
	Suite *s = suite_create("ct");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, last_record_names_log_and_index);
	tcase_add_test(tc, pace_backoff_doubles_honours_retry_after_and_never_shortens);
	tcase_add_test(tc, pace_huge_retry_after_is_cut_to_ten_minutes);
	tcase_add_test(tc, pace_429_pauses_every_log_of_the_operator);
	tcase_add_test(tc, pace_operator_step_creeps_back_after_a_pause);
	suite_add_tcase(s, tc);
	return s;
}
