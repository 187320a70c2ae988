/* Publishing a replay feed through a real ring from an event loop: every
 * record once, looping, pacing, reconfiguring, a replaced ingest carrying
 * on, and a bad file refused. The feeds hold real certificates, minted by
 * tests/tools/feedgen.c. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "ingest/replay.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "tests/unit/replay_fixture.h"

struct rig {
	struct shm_seg seg;
	struct ring_writer w;
	struct event_base *base;
	struct config *cfg;
	char path[64];
};

static void
rig_init(struct rig *r, double rate, int loop)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(shm_seg_create_anon(&r->seg, 1024, 4u << 20, 1, err,
	    sizeof(err)), 0);
	ring_writer_init(&r->w, &r->seg, NULL, 0);
	r->base = event_base_new();
	ck_assert_ptr_nonnull(r->base);
	r->cfg = calloc(1, sizeof(*r->cfg));
	ck_assert_ptr_nonnull(r->cfg);
	{
		char *text = rfix_good3();

		rfix_write_feed(r->path, text);
		free(text);
	}
	snprintf(r->cfg->replay.file, sizeof(r->cfg->replay.file), "%s", r->path);
	r->cfg->replay.rate = rate;
	r->cfg->replay.loop = loop;
	r->cfg->source = SOURCE_REPLAY;
}

static void
rig_fini(struct rig *r)
{
	unlink(r->path);
	free(r->cfg);
	event_base_free(r->base);
	shm_seg_close(&r->seg);
}

static int64_t
cert_index_of(struct rig *r, uint64_t seq, enum ring_variant v)
{
	static char buf[1 << 16];
	struct json_object *o, *idx;
	long n = ring_copy(&r->seg, seq, v, buf, sizeof(buf));
	int64_t out;

	ck_assert_int_gt(n, 0);
	o = json_tokener_parse(buf);
	ck_assert_ptr_nonnull(o);
	idx = v == RV_DOMAINS ? rfix_path_get(o, "cert_index", NULL) :
	    rfix_path_get(o, "data", "cert_index");
	ck_assert_ptr_nonnull(idx);
	out = json_object_get_int64(idx);
	json_object_put(o);
	return out;
}

START_TEST(test_publishes_every_record_once_then_idles)
{
	struct rig r;
	struct replay *rp;
	struct iovec iov;
	int64_t seen_us;
	struct timespec now;

	rig_init(&r, 0, 0);
	rp = replay_start(r.base, r.cfg, &r.seg, &r.w);
	ck_assert_ptr_nonnull(rp);
	for (int i = 0; i < 10 && !replay_done(rp); i++)
		event_base_loop(r.base, EVLOOP_ONCE);
	ck_assert(replay_done(rp));
	ck_assert_uint_eq(replay_published(rp), 3);
	ck_assert_uint_eq(ring_head(&r.seg), 3);
	ck_assert_uint_eq(atomic_load(&r.seg.ingest->records), 3);
	for (uint64_t s = 0; s < 3; s++) {
		ck_assert_int_eq(cert_index_of(&r, s, RV_LITE), 100 + (int64_t)s);
		ck_assert_int_eq(cert_index_of(&r, s, RV_FULL), 100 + (int64_t)s);
		ck_assert_int_eq(cert_index_of(&r, s, RV_DOMAINS), 100 + (int64_t)s);
	}
	/* the slot's seen_us is the one written in the JSON, and is now */
	ck_assert_int_eq(ring_peek(&r.seg, 2, RV_FULL, 0, &iov, &seen_us), 0);
	clock_gettime(CLOCK_REALTIME, &now);
	ck_assert(seen_us <= (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
	ck_assert(seen_us > ((int64_t)now.tv_sec - 5) * 1000000);
	{
		char want[REPLAY_SEEN_LEN + 1], got[REPLAY_SEEN_LEN + 1];

		want[REPLAY_SEEN_LEN] = '\0';
		replay_seen_format(want, seen_us);
		rfix_seen_text(&iov, got);
		ck_assert_str_eq(got, want);
	}
	/* nothing more: the loop has no pending event left */
	ck_assert_int_eq(event_base_loop(r.base, EVLOOP_NONBLOCK), 1);
	ck_assert_uint_eq(ring_head(&r.seg), 3);

	/* turning loop on (SIGHUP) resumes from the first record */
	replay_reconfigure(rp, 0, 1);
	event_base_loop(r.base, EVLOOP_ONCE);
	ck_assert_uint_gt(ring_head(&r.seg), 3);
	ck_assert_int_eq(cert_index_of(&r, 3, RV_LITE), 100);
	replay_stop(rp);
	rig_fini(&r);
}
END_TEST

START_TEST(test_loop_repeats_in_order_in_bounded_batches)
{
	struct rig r;
	struct replay *rp;
	uint64_t head;

	rig_init(&r, 0, 1);
	rp = replay_start(r.base, r.cfg, &r.seg, &r.w);
	ck_assert_ptr_nonnull(rp);
	event_base_loop(r.base, EVLOOP_ONCE);
	head = ring_head(&r.seg);
	/* one loop turn publishes a bounded batch, then yields */
	ck_assert_uint_gt(head, 3);
	ck_assert_uint_le(head, 4096);
	for (int i = 0; i < 4; i++)
		event_base_loop(r.base, EVLOOP_ONCE);
	head = ring_head(&r.seg);
	ck_assert(!replay_done(rp));
	ck_assert_uint_eq(replay_published(rp), head);
	for (uint64_t s = head - 200; s < head; s++)
		ck_assert_int_eq(cert_index_of(&r, s, RV_DOMAINS), 100 + (int64_t)(s % 3));
	replay_stop(rp);
	rig_fini(&r);
}
END_TEST

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the loop for about secs; returns the seconds it really ran. */
static double
run_for(struct event_base *base, long usec)
{
	struct timeval tv = { 0, usec };
	double t0 = mono_now();

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	return mono_now() - t0;
}

START_TEST(test_rate_paces_publishing)
{
	struct rig r;
	struct replay *rp;
	double secs, t0;
	uint64_t n, m;

	rig_init(&r, 200, 1);
	t0 = mono_now();
	rp = replay_start(r.base, r.cfg, &r.seg, &r.w);
	ck_assert_ptr_nonnull(rp);
	run_for(r.base, 400000);
	secs = mono_now() - t0;
	n = replay_published(rp);
	/* Never ahead of the clock; behind by at most a few ticks (the
	 * bound is loose for a loaded machine or valgrind). */
	ck_assert_msg((double)n <= 200 * secs + 1 && (double)n >= 200 * (secs - 0.05) * 0.5,
	    "published %llu in %.3f s at 200/s", (unsigned long long)n, secs);
	ck_assert_uint_eq(ring_head(&r.seg), n);

	/* a new rate applies from now */
	t0 = mono_now();
	replay_reconfigure(rp, 1000, 1);
	run_for(r.base, 200000);
	secs = mono_now() - t0;
	m = replay_published(rp) - n;
	ck_assert_msg((double)m <= 1000 * secs + 1 && (double)m >= 1000 * (secs - 0.05) * 0.5,
	    "published %llu in %.3f s at 1000/s", (unsigned long long)m, secs);
	replay_stop(rp);
	rig_fini(&r);
}
END_TEST

START_TEST(test_a_replaced_ingest_continues_the_feed)
{
	struct rig r;
	struct replay *a, *b;
	uint64_t h;

	rig_init(&r, 0, 1);
	a = replay_start(r.base, r.cfg, &r.seg, &r.w);
	ck_assert_ptr_nonnull(a);
	event_base_loop(r.base, EVLOOP_ONCE);
	replay_stop(a);                 /* the old ingest dies mid-feed */
	h = ring_head(&r.seg);
	ck_assert_uint_gt(h, 3);
	ck_assert_uint_ne(h % 3, 0);
	b = replay_start(r.base, r.cfg, &r.seg, &r.w);
	ck_assert_ptr_nonnull(b);
	event_base_loop(r.base, EVLOOP_ONCE);
	/* the record after the last one published, not the feed's first */
	ck_assert_int_eq(cert_index_of(&r, h, RV_FULL), 100 + (int64_t)(h % 3));
	ck_assert_int_eq(cert_index_of(&r, h + 1, RV_LITE), 100 + (int64_t)((h + 1) % 3));
	replay_stop(b);
	rig_fini(&r);

	/* a feed played to its end stays played */
	rig_init(&r, 0, 0);
	a = replay_start(r.base, r.cfg, &r.seg, &r.w);
	event_base_loop(r.base, EVLOOP_ONCE);
	ck_assert(replay_done(a));
	replay_stop(a);
	b = replay_start(r.base, r.cfg, &r.seg, &r.w);
	ck_assert_ptr_nonnull(b);
	ck_assert(replay_done(b));
	ck_assert_int_eq(event_base_loop(r.base, EVLOOP_NONBLOCK), 1);
	ck_assert_uint_eq(ring_head(&r.seg), 3);
	replay_stop(b);
	unlink(r.path);

	/* a ring holding another feed's records: start at the beginning */
	{
		char *text = rfix_cat_lines(NULL, rfix_cert_line(100, "other.example"));

		text = rfix_cat_lines(text, rfix_cert_line(300, "z.example"));
		rfix_write_feed(r.path, text);
		free(text);
	}
	snprintf(r.cfg->replay.file, sizeof(r.cfg->replay.file), "%s", r.path);
	b = replay_start(r.base, r.cfg, &r.seg, &r.w);
	ck_assert_ptr_nonnull(b);
	event_base_loop(r.base, EVLOOP_ONCE);
	ck_assert_uint_eq(ring_head(&r.seg), 5);
	ck_assert_int_eq(cert_index_of(&r, 3, RV_DOMAINS), 100);
	ck_assert_int_eq(cert_index_of(&r, 4, RV_DOMAINS), 300);
	replay_stop(b);
	rig_fini(&r);
}
END_TEST

START_TEST(test_start_fails_cleanly_on_a_bad_file)
{
	struct rig r;

	rig_init(&r, 0, 0);
	snprintf(r.cfg->replay.file, sizeof(r.cfg->replay.file), "/nonexistent/x");
	ck_assert_ptr_null(replay_start(r.base, r.cfg, &r.seg, &r.w));
	ck_assert_uint_eq(ring_head(&r.seg), 0);
	rig_fini(&r);
}
END_TEST

Suite *replay_suite(void);

Suite *
replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tp = tcase_create("publish");

	tcase_add_checked_fixture(tp, NULL, rfix_gen_free);
	tcase_set_timeout(tp, 30);
	tcase_add_test(tp, test_publishes_every_record_once_then_idles);
	tcase_add_test(tp, test_loop_repeats_in_order_in_bounded_batches);
	tcase_add_test(tp, test_rate_paces_publishing);
	tcase_add_test(tp, test_a_replaced_ingest_continues_the_feed);
	tcase_add_test(tp, test_start_fails_cleanly_on_a_bad_file);
	suite_add_tcase(s, tp);
	return s;
}
