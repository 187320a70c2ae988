/* Unit tests: shm/segment.c (suite "segment") and shm/ring.c (suite "ring"). */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm/config_box.h"
#include "shm/ring.h"
#include "shm/segment.h"

Suite *segment_suite(void);
Suite *ring_suite(void);

/* Record bytes that depend on seq and variant, so a mix-up shows. */
static void
fill_variant(char *buf, size_t len, uint64_t seq, int v)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (seq * 7 + (uint64_t)v * 3 + i) % 26);
}

static uint64_t
publish_sized(struct ring_writer *w, uint64_t seq, size_t l0, size_t l1,
    size_t l2)
{
	static char b[RV_COUNT][200000];
	struct iovec iov[RV_COUNT];
	size_t lens[RV_COUNT] = { l0, l1, l2 };

	for (int v = 0; v < RV_COUNT; v++) {
		ck_assert_uint_le(lens[v], sizeof(b[v]));
		fill_variant(b[v], lens[v], seq, v);
		iov[v].iov_base = b[v];
		iov[v].iov_len = lens[v];
	}
	return ring_publish(w, iov, (int64_t)seq * 1000);
}

/* Variant v of seq matches what publish_sized wrote, JSON and frame. */
static void
assert_record(const struct shm_seg *seg, uint64_t seq, const size_t lens[3])
{
	char want[200000];
	struct iovec iov;
	uint8_t hdr[RING_WS_HDR_MAX];
	int64_t seen;
	int hl;

	/* published as record l of the ring that starts at first_seq */
	uint64_t l = seq - seg->ctl->first_seq;

	for (int v = 0; v < RV_COUNT; v++) {
		fill_variant(want, lens[v], l, v);
		ck_assert_int_eq(ring_peek(seg, seq, (enum ring_variant)v, 0, &iov,
		    &seen), 0);
		ck_assert_uint_eq(iov.iov_len, lens[v]);
		ck_assert(memcmp(iov.iov_base, want, lens[v]) == 0);
		ck_assert_int_eq(seen, (int64_t)l * 1000);
		ck_assert_int_eq(ring_peek(seg, seq, (enum ring_variant)v, 1, &iov,
		    NULL), 0);
		hl = ring_ws_header(hdr, lens[v]);
		ck_assert_uint_eq(iov.iov_len, (size_t)hl + lens[v]);
		ck_assert(memcmp(iov.iov_base, hdr, (size_t)hl) == 0);
		ck_assert(memcmp((uint8_t *)iov.iov_base + hl, want, lens[v]) == 0);
		ck_assert(ring_still_valid(seg, seq));
	}
}

static void
anon(struct shm_seg *seg, uint64_t nslots, uint64_t data_size)
{
	char err[256];

	ck_assert_msg(shm_seg_create_anon(seg, nslots, data_size, 4, err,
	    sizeof(err)) == 0, "%s", err);
}

START_TEST(ws_header_lengths_at_boundaries)
{
	uint8_t h[RING_WS_HDR_MAX];

	ck_assert_int_eq(ring_ws_header(h, 0), 2);
	ck_assert_uint_eq(h[0], 0x81);
	ck_assert_uint_eq(h[1], 0);
	ck_assert_int_eq(ring_ws_header(h, 125), 2);
	ck_assert_uint_eq(h[1], 125);
	ck_assert_int_eq(ring_ws_header(h, 126), 4);
	ck_assert_uint_eq(h[0], 0x81);
	ck_assert_uint_eq(h[1], 126);
	ck_assert_uint_eq(h[2], 0);
	ck_assert_uint_eq(h[3], 126);
	ck_assert_int_eq(ring_ws_header(h, 65535), 4);
	ck_assert_uint_eq(h[1], 126);
	ck_assert_uint_eq(h[2], 0xff);
	ck_assert_uint_eq(h[3], 0xff);
	ck_assert_int_eq(ring_ws_header(h, 65536), 10);
	ck_assert_uint_eq(h[1], 127);
	for (int i = 2; i < 10; i++)
		ck_assert_uint_eq(h[i], i == 7 ? 1 : 0);
	ck_assert_int_eq(ring_ws_header(h, 0x0102030405060708ULL), 10);
	for (int i = 2; i < 10; i++)
		ck_assert_uint_eq(h[i], i - 1);
}
END_TEST

/* Facts, log, index and flags come back as given, beside intact forms,
 * and a record published without them says so. */
START_TEST(meta_and_facts_round_trip)
{
	struct shm_seg seg;
	struct ring_writer w;
	struct ring_rec r;
	struct ring_meta m;
	struct iovec out;
	const char facts[] = "\x01example.com\0\x02issuer";
	uint64_t a, b;

	anon(&seg, 8, 1 << 16);
	ring_writer_init(&w, &seg, NULL, 0);
	memset(&r, 0, sizeof(r));
	r.json[RV_LITE] = (struct iovec){ "{\"l\":1}", 7 };
	r.json[RV_FULL] = (struct iovec){ "{\"f\":2}", 7 };
	r.json[RV_DOMAINS] = (struct iovec){ "{\"d\":3}", 7 };
	r.facts = (struct iovec){ (void *)facts, sizeof(facts) };
	r.seen_us = 42;
	r.index = 1234567890123ULL;
	r.log = 17;
	r.flags = RING_F_PAIRED;
	a = ring_publish_rec(&w, &r);
	b = ring_publish(&w, r.json, 43);
	ck_assert_int_eq(ring_peek_meta(&seg, a, &m), 0);
	ck_assert_uint_eq(m.facts.iov_len, sizeof(facts));
	ck_assert(memcmp(m.facts.iov_base, facts, sizeof(facts)) == 0);
	ck_assert_int_eq(m.seen_us, 42);
	ck_assert_uint_eq(m.index, 1234567890123ULL);
	ck_assert_uint_eq(m.log, 17);
	ck_assert_uint_eq(m.flags, RING_F_PAIRED);
	ck_assert_int_eq(ring_peek(&seg, a, RV_DOMAINS, 0, &out, NULL), 0);
	ck_assert_uint_eq(out.iov_len, 7);
	ck_assert(memcmp(out.iov_base, "{\"d\":3}", 7) == 0);
	ck_assert_int_eq(ring_peek_meta(&seg, b, &m), 0);
	ck_assert_uint_eq(m.facts.iov_len, 0);
	ck_assert_uint_eq(m.log, RING_NO_LOG);
	ck_assert_uint_eq(m.flags, 0);
	ck_assert_int_eq(m.seen_us, 43);
	ck_assert_int_eq(ring_peek_meta(&seg, b + 1, &m), -1);
	shm_seg_close(&seg);
}
END_TEST

/* The master's configuration reaches a reader whole, newest first; before
 * any put a reader is told there is none. */
START_TEST(config_box_hands_the_newest_configuration)
{
	struct shm_seg seg;
	struct config a, b, got;

	anon(&seg, 8, 1 << 16);
	memset(&got, 0x5a, sizeof(got));
	ck_assert_uint_eq(config_box_get(&seg, &got), 0);
	ck_assert_uint_eq(((unsigned char *)&got)[0], 0x5a);
	config_defaults(&a);
	a.port = 1111;
	snprintf(a.auth.tokens[0], sizeof(a.auth.tokens[0]), "%s", "first");
	b = a;
	b.port = 2222;
	snprintf(b.auth.tokens[0], sizeof(b.auth.tokens[0]), "%s", "second");
	config_box_put(&seg, &a);
	ck_assert_uint_eq(config_box_get(&seg, &got), 1);
	ck_assert(memcmp(&got, &a, sizeof(a)) == 0);
	config_box_put(&seg, &b);
	ck_assert_uint_eq(config_box_get(&seg, &got), 2);
	ck_assert_int_eq(got.port, 2222);
	ck_assert_str_eq(got.auth.tokens[0], "second");
	shm_seg_close(&seg);
}
END_TEST

/* tests/integration/faults.test.js reads master_pid from a segment file. */
START_TEST(shm_header_master_pid_at)
{
	ck_assert_uint_eq(offsetof(struct shm_header, magic), 0);
	ck_assert_uint_eq(offsetof(struct shm_header, master_pid), 108);
}
END_TEST

START_TEST(publish_peek_copy_round_trip)
{
	struct shm_seg seg;
	struct ring_writer w;
	struct iovec iov[RV_COUNT], out;
	const char *lite = "{\"lite\":1}", *full = "{\"full\":22}",
	    *dom = "{\"d\":3}";
	char buf[64];
	struct timespec ts;
	int64_t now_ns, seen;
	const struct ring_slot *s;

	anon(&seg, 16, 65536);
	ring_writer_init(&w, &seg, NULL, 0);
	ck_assert_uint_eq(ring_head(&seg), 0);
	ck_assert_int_eq(ring_peek(&seg, 0, RV_LITE, 0, &out, NULL), -1);

	iov[RV_LITE].iov_base = (void *)lite;
	iov[RV_LITE].iov_len = strlen(lite);
	iov[RV_FULL].iov_base = (void *)full;
	iov[RV_FULL].iov_len = strlen(full);
	iov[RV_DOMAINS].iov_base = (void *)dom;
	iov[RV_DOMAINS].iov_len = strlen(dom);
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	ck_assert_uint_eq(ring_publish(&w, iov, 1700000000123456), 0);
	ck_assert_uint_eq(ring_head(&seg), 1);
	ck_assert_uint_eq(ring_tail(&seg), 0);

	ck_assert_int_eq(ring_peek(&seg, 0, RV_FULL, 0, &out, &seen), 0);
	ck_assert_int_eq(seen, 1700000000123456);
	ck_assert_uint_eq(out.iov_len, strlen(full));
	ck_assert(memcmp(out.iov_base, full, out.iov_len) == 0);
	/* The WS frame is header + JSON, contiguous. */
	ck_assert_int_eq(ring_peek(&seg, 0, RV_DOMAINS, 1, &out, NULL), 0);
	ck_assert_uint_eq(out.iov_len, 2 + strlen(dom));
	ck_assert_uint_eq(((uint8_t *)out.iov_base)[0], 0x81);
	ck_assert_uint_eq(((uint8_t *)out.iov_base)[1], strlen(dom));
	ck_assert(memcmp((uint8_t *)out.iov_base + 2, dom, strlen(dom)) == 0);

	ck_assert_int_eq(ring_copy(&seg, 0, RV_LITE, buf, sizeof(buf)),
	    (long)strlen(lite));
	ck_assert_str_eq(buf, lite);
	/* Exactly len + 1 fits; len does not (room for the NUL). */
	ck_assert_int_eq(ring_copy(&seg, 0, RV_LITE, buf, strlen(lite) + 1),
	    (long)strlen(lite));
	ck_assert_int_eq(ring_copy(&seg, 0, RV_LITE, buf, strlen(lite)), -2);
	ck_assert_int_eq(ring_copy(&seg, 1, RV_LITE, buf, sizeof(buf)), -1);
	ck_assert_int_eq(ring_peek(&seg, 1, RV_LITE, 0, &out, NULL), -1);

	s = &seg.slots[0];
	ck_assert(s->pub_ns >= now_ns && s->pub_ns < now_ns + 5000000000LL);
	ck_assert_uint_eq(seg.ctl->published_total, 1);
	ck_assert_uint_eq(s->size % 8, 0);
	ck_assert_uint_eq(seg.ctl->bytes_total, s->size);
	shm_seg_close(&seg);
}
END_TEST

/* A record's flags byte is what it was published with, read back while
 * it is in the ring, and -1 once it is not (or not yet). */
START_TEST(flags_travel_with_the_record)
{
	struct shm_seg seg;
	struct ring_writer w;
	struct iovec iov[RV_COUNT];
	struct ring_rec r;
	int i, v;

	anon(&seg, 4, 65536);
	ring_writer_init(&w, &seg, NULL, 0);
	memset(&r, 0, sizeof(r));
	for (v = 0; v < RV_COUNT; v++) {
		iov[v].iov_base = (void *)"{\"x\":1}";
		iov[v].iov_len = 7;
		r.json[v] = iov[v];
	}
	r.log = RING_NO_LOG;
	ck_assert_int_eq(ring_flags(&seg, 0), -1);
	for (i = 0; i < 6; i++) {
		r.flags = i % 2 ? RING_F_PAIRED : 0;
		ck_assert_uint_eq(ring_publish_rec(&w, &r), (uint64_t)i);
	}
	ck_assert_uint_eq(ring_publish(&w, iov, 0), 6);
	/* 4 slots: records 3..6 are in the ring */
	ck_assert_int_eq(ring_flags(&seg, 2), -1);
	ck_assert_int_eq(ring_flags(&seg, 3), RING_F_PAIRED);
	ck_assert_int_eq(ring_flags(&seg, 4), 0);
	ck_assert_int_eq(ring_flags(&seg, 5), RING_F_PAIRED);
	ck_assert_int_eq(ring_flags(&seg, 6), 0);
	ck_assert_int_eq(ring_flags(&seg, 7), -1);
	shm_seg_close(&seg);
}
END_TEST

/* The ingest's writer gives every JSON object record its seq as "id", the
 * first member; the WebSocket frame covers it; anything else is as given. */
START_TEST(ids_writer_puts_the_seq_in_each_json_record)
{
	struct shm_seg seg;
	struct ring_writer w;
	struct iovec iov[RV_COUNT], out;
	const char *lite = "{\"message_type\":\"certificate_update\"}";
	const char *dom = "[1]";
	char buf[128], want[128];
	uint64_t seq;
	size_t k;

	anon(&seg, 16, 65536);
	ring_start_at(&seg, 1796000000000000ULL);
	ring_writer_init(&w, &seg, NULL, 0);
	ck_assert_int_eq(w.ids, 0);
	w.ids = 1;
	iov[RV_LITE].iov_base = (void *)lite;
	iov[RV_LITE].iov_len = strlen(lite);
	iov[RV_FULL] = iov[RV_LITE];
	iov[RV_DOMAINS].iov_base = (void *)dom;
	iov[RV_DOMAINS].iov_len = strlen(dom);
	for (int i = 0; i < 3; i++) {
		seq = ring_publish(&w, iov, 1);
		ck_assert_uint_eq(seq, 1796000000000000ULL + (uint64_t)i);
		snprintf(want, sizeof(want), "{\"id\":%llu,\"message_type\":"
		    "\"certificate_update\"}", (unsigned long long)seq);
		ck_assert_int_eq(ring_copy(&seg, seq, RV_FULL, buf, sizeof(buf)),
		    (long)strlen(want));
		ck_assert_str_eq(buf, want);
		k = ring_id_len(buf, strlen(buf));
		ck_assert_uint_eq(k, strlen("{\"id\":1796000000000000"));
		ck_assert(memcmp(buf + k + 1, lite + 1, strlen(lite) - 1) == 0);
		ck_assert_int_eq(ring_peek(&seg, seq, RV_LITE, 1, &out, NULL), 0);
		ck_assert_uint_eq(((uint8_t *)out.iov_base)[1], strlen(want));
		ck_assert(memcmp((uint8_t *)out.iov_base + 2, want,
		    strlen(want)) == 0);
		ck_assert_int_eq(ring_copy(&seg, seq, RV_DOMAINS, buf,
		    sizeof(buf)), 3);
		ck_assert_str_eq(buf, "[1]");
		ck_assert_uint_eq(ring_id_len(buf, 3), 0);
	}
	ck_assert_uint_eq(ring_tail(&seg), 1796000000000000ULL);
	/* A text with an id already (a replayed recording) gets the new one. */
	iov[RV_LITE].iov_base = (void *)"{\"id\":17,\"a\":1}";
	iov[RV_LITE].iov_len = strlen(iov[RV_LITE].iov_base);
	seq = ring_publish(&w, iov, 1);
	snprintf(want, sizeof(want), "{\"id\":%llu,\"a\":1}",
	    (unsigned long long)seq);
	ck_assert_int_eq(ring_copy(&seg, seq, RV_LITE, buf, sizeof(buf)),
	    (long)strlen(want));
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(ring_id_len("{\"id\":,\"a\":1}", 13), 0);
	ck_assert_uint_eq(ring_id_len("{\"idx\":1,\"a\":1}", 15), 0);
	shm_seg_close(&seg);
}
END_TEST

START_TEST(ws_header_in_ring_at_boundaries)
{
	static const size_t sizes[] = { 0, 125, 126, 65535, 65536, 70000 };
	struct shm_seg seg;
	struct ring_writer w;
	size_t lens[3];
	uint64_t seq;

	anon(&seg, 64, 1 << 20);
	ring_writer_init(&w, &seg, NULL, 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		lens[0] = sizes[i];
		lens[1] = sizes[(i + 1) % 6];
		lens[2] = sizes[(i + 2) % 6];
		seq = publish_sized(&w, i, lens[0], lens[1], lens[2]);
		ck_assert_uint_eq(seq, i);
		assert_record(&seg, seq, lens);
	}
	shm_seg_close(&seg);
}
END_TEST

START_TEST(records_never_wrap_the_data_area)
{
	struct shm_seg seg;
	struct ring_writer w;
	size_t lens[3];
	uint64_t seq, prev_end = 0;
	int skips = 0;
	const struct ring_slot *s;

	anon(&seg, 1024, 8192);
	ring_writer_init(&w, &seg, NULL, 0);
	for (uint64_t i = 0; i < 500; i++) {
		lens[0] = 100 + (i * 37) % 400;
		lens[1] = 50 + (i * 91) % 700;
		lens[2] = (i * 13) % 300;
		seq = publish_sized(&w, i, lens[0], lens[1], lens[2]);
		ck_assert_uint_eq(seq, i);
		s = &seg.slots[seq & seg.slot_mask];
		ck_assert_uint_le(s->pos % seg.data_size + s->size, seg.data_size);
		if (s->pos != prev_end) {
			/* A skip only ever jumps to the start of the area. */
			ck_assert_uint_eq(s->pos % seg.data_size, 0);
			ck_assert_uint_gt(s->pos, prev_end);
			skips++;
		}
		prev_end = s->pos + s->size;
		assert_record(&seg, seq, lens);
		/* Everything still in [tail, head) is intact. */
		for (uint64_t q = ring_tail(&seg); q < ring_head(&seg); q++) {
			size_t ql[3] = { 100 + (q * 37) % 400, 50 + (q * 91) % 700,
				(q * 13) % 300 };
			assert_record(&seg, q, ql);
		}
	}
	ck_assert_int_gt(skips, 10);
	ck_assert_uint_gt(ring_tail(&seg), 400);
	shm_seg_close(&seg);
}
END_TEST

START_TEST(lapped_records_are_refused)
{
	struct shm_seg seg;
	struct ring_writer w;
	struct iovec out;
	char buf[2048];
	size_t lens[3] = { 300, 500, 100 };
	uint64_t tail;

	anon(&seg, 1024, 16384);
	ring_writer_init(&w, &seg, NULL, 0);
	publish_sized(&w, 0, lens[0], lens[1], lens[2]);
	/* A reader holds seq 0's bytes, as a worker mid-writev would. */
	ck_assert_int_eq(ring_peek(&seg, 0, RV_FULL, 1, &out, NULL), 0);
	ck_assert(ring_still_valid(&seg, 0));
	for (uint64_t i = 1; i < 100; i++)
		ck_assert_uint_eq(publish_sized(&w, i, lens[0], lens[1], lens[2]),
		    i);
	tail = ring_tail(&seg);
	ck_assert_uint_gt(tail, 0);
	ck_assert_uint_lt(tail, 100);
	/* ~912 bytes per record in 16 KiB: at most 17 records live. */
	ck_assert_uint_ge(100 - tail, 15);
	ck_assert_uint_le(100 - tail, 18);
	ck_assert(!ring_still_valid(&seg, 0));
	ck_assert(!ring_still_valid(&seg, tail - 1));
	ck_assert(ring_still_valid(&seg, tail));
	ck_assert_int_eq(ring_peek(&seg, 0, RV_LITE, 0, &out, NULL), -1);
	ck_assert_int_eq(ring_peek(&seg, tail - 1, RV_LITE, 0, &out, NULL), -1);
	ck_assert_int_eq(ring_copy(&seg, tail - 1, RV_LITE, buf, sizeof(buf)),
	    -1);
	for (uint64_t q = tail; q < 100; q++)
		assert_record(&seg, q, lens);
	/* The tail record's bytes must not have been touched: its slot seq
	 * is its own and its content verified above. */
	ck_assert_uint_eq(ring_head(&seg), 100);
	shm_seg_close(&seg);
}
END_TEST

START_TEST(too_large_record_is_refused)
{
	struct shm_seg seg;
	struct ring_writer w;
	size_t lens[3] = { 10, 20, 30 };

	anon(&seg, 16, 16384);
	ring_writer_init(&w, &seg, NULL, 0);
	ck_assert_uint_eq(publish_sized(&w, 0, lens[0], lens[1], lens[2]), 0);
	/* 4096 bytes of record is the limit: 3 * 2-or-4 byte headers push
	 * 4090 bytes of JSON over it. */
	ck_assert_uint_eq(publish_sized(&w, 1, 4000, 90, 0), UINT64_MAX);
	ck_assert_uint_eq(publish_sized(&w, 1, 20000, 0, 0), UINT64_MAX);
	ck_assert_uint_eq(ring_head(&seg), 1);
	ck_assert_uint_eq(ring_tail(&seg), 0);
	assert_record(&seg, 0, lens);
	/* Just under the limit is accepted: 4000+4 + 80+2 + 0+2 = 4088. */
	ck_assert_uint_eq(publish_sized(&w, 1, 4000, 80, 0), 1);
	shm_seg_close(&seg);
}
END_TEST

START_TEST(slot_reuse_when_slots_are_the_limit)
{
	struct shm_seg seg;
	struct ring_writer w;
	struct iovec out;
	size_t lens[3] = { 5, 6, 7 };

	anon(&seg, 3, 1 << 20); /* rounded to 4 slots */
	ck_assert_uint_eq(seg.hdr->nslots, 4);
	ring_writer_init(&w, &seg, NULL, 0);
	for (uint64_t i = 0; i < 10; i++) {
		ck_assert_uint_eq(publish_sized(&w, i, lens[0], lens[1], lens[2]),
		    i);
		ck_assert_uint_eq(ring_tail(&seg), i >= 3 ? i - 3 : 0);
	}
	ck_assert_uint_eq(ring_head(&seg), 10);
	ck_assert_int_eq(ring_peek(&seg, 5, RV_LITE, 0, &out, NULL), -1);
	ck_assert(!ring_still_valid(&seg, 5));
	for (uint64_t q = 6; q < 10; q++)
		assert_record(&seg, q, lens);
	shm_seg_close(&seg);
}
END_TEST

START_TEST(writer_resumes_after_reinit)
{
	struct shm_seg seg;
	struct ring_writer w, w2, w3;
	size_t lens[3] = { 40, 50, 60 };
	const struct ring_slot *s;

	anon(&seg, 64, 65536);
	ring_writer_init(&w, &seg, NULL, 0);
	for (uint64_t i = 0; i < 5; i++)
		publish_sized(&w, i, lens[0], lens[1], lens[2]);
	/* A new ingest process takes over the same segment. */
	ring_writer_init(&w2, &seg, NULL, 0);
	ck_assert_uint_eq(publish_sized(&w2, 5, lens[0], lens[1], lens[2]), 5);
	for (uint64_t q = 0; q < 6; q++)
		assert_record(&seg, q, lens);

	/* The old writer died after publishing head but before saving wpos:
	 * the next one must not overwrite record 5. */
	s = &seg.slots[5];
	seg.ctl->wpos = s->pos;
	ring_writer_init(&w3, &seg, NULL, 0);
	ck_assert_uint_eq(seg.ctl->wpos, s->pos + s->size);
	ck_assert_uint_eq(publish_sized(&w3, 6, lens[0], lens[1], lens[2]), 6);
	for (uint64_t q = 0; q < 7; q++)
		assert_record(&seg, q, lens);
	ck_assert_uint_eq(ring_tail(&seg), 0);
	shm_seg_close(&seg);
}
END_TEST

START_TEST(eventfd_wake_only_when_armed)
{
	struct shm_seg seg;
	struct ring_writer w;
	int fds[2];
	uint64_t v;
	size_t lens[3] = { 1, 2, 3 };

	anon(&seg, 16, 65536);
	fds[0] = eventfd(0, EFD_NONBLOCK);
	fds[1] = eventfd(0, EFD_NONBLOCK);
	ck_assert(fds[0] >= 0 && fds[1] >= 0);
	ring_writer_init(&w, &seg, fds, 2);

	publish_sized(&w, 0, lens[0], lens[1], lens[2]);
	ring_wake(&w);
	ck_assert_int_eq(read(fds[0], &v, sizeof(v)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(read(fds[1], &v, sizeof(v)), -1);

	ring_arm_wake(&seg, 1);
	ck_assert_uint_eq(seg.ctl->wake[1], 1);
	publish_sized(&w, 1, lens[0], lens[1], lens[2]);
	ring_wake(&w);
	ck_assert_int_eq(read(fds[1], &v, sizeof(v)), (ssize_t)sizeof(v));
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(read(fds[0], &v, sizeof(v)), -1);
	ck_assert_uint_eq(seg.ctl->wake[1], 0);

	/* The flag is consumed: a second wake writes nothing. */
	publish_sized(&w, 2, lens[0], lens[1], lens[2]);
	ring_wake(&w);
	ck_assert_int_eq(read(fds[1], &v, sizeof(v)), -1);

	/* Both armed: both woken once. */
	ring_arm_wake(&seg, 0);
	ring_arm_wake(&seg, 1);
	ring_wake(&w);
	ring_wake(&w);
	ck_assert_int_eq(read(fds[0], &v, sizeof(v)), (ssize_t)sizeof(v));
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(read(fds[1], &v, sizeof(v)), (ssize_t)sizeof(v));
	ck_assert_uint_eq(v, 1);
	close(fds[0]);
	close(fds[1]);
	shm_seg_close(&seg);
}
END_TEST

/* ---- segment ---- */

static void
test_name(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/certstream-test-%s-%ld", what, (long)getpid());
}

START_TEST(anon_layout_is_aligned_and_rounded)
{
	struct shm_seg seg;
	const struct shm_header *h;

	anon(&seg, 1000, 100000);
	h = seg.hdr;
	ck_assert_uint_eq(h->magic, SHM_MAGIC);
	ck_assert_uint_eq(h->version, SHM_VERSION);
	ck_assert_uint_eq(h->nslots, 1024);
	ck_assert_uint_eq(seg.slot_mask, 1023);
	ck_assert_uint_ge(h->data_size, 100000);
	ck_assert_uint_eq(h->data_size % SHM_CACHELINE, 0);
	ck_assert_uint_eq(h->off_ctl % SHM_CACHELINE, 0);
	ck_assert_uint_eq(h->off_slots % SHM_CACHELINE, 0);
	ck_assert_uint_eq(h->off_ingest % SHM_CACHELINE, 0);
	ck_assert_uint_eq(h->off_logs % SHM_CACHELINE, 0);
	ck_assert_uint_eq(h->off_workers % SHM_CACHELINE, 0);
	ck_assert_uint_eq(h->off_limits % SHM_CACHELINE, 0);
	ck_assert_uint_eq(h->off_data % SHM_CACHELINE, 0);
	ck_assert_uint_ge(h->off_slots, h->off_ctl + sizeof(struct ring_ctl));
	ck_assert_uint_ge(h->off_ingest, h->off_slots +
	    1024 * sizeof(struct ring_slot));
	ck_assert_uint_ge(h->off_data, h->off_limits + sizeof(struct shm_limits));
	ck_assert_uint_eq(h->total_size, h->off_data + h->data_size);
	ck_assert_uint_eq(h->master_pid, (uint32_t)getpid());
	ck_assert_uint_eq(h->nworkers, 4);
	ck_assert_ptr_eq(seg.data, (uint8_t *)seg.base + h->off_data);
	/* The whole mapping is writable. */
	seg.data[seg.data_size - 1] = 1;
	shm_seg_close(&seg);
	ck_assert_ptr_null(seg.base);
}
END_TEST

START_TEST(bad_sizes_are_refused)
{
	struct shm_seg seg;
	char err[256];

	ck_assert_int_eq(shm_seg_create_anon(&seg, 0, 65536, 1, err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "slots") != NULL);
	ck_assert_int_eq(shm_seg_create_anon(&seg, 16, 100, 1, err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "data size") != NULL);
	ck_assert_int_eq(shm_seg_create_anon(&seg, 16, 65536,
	    SHM_MAX_WORKERS + 1, err, sizeof(err)), -1);
	ck_assert_int_eq(shm_seg_create(&seg, "no-slash", 16, 65536, 1, err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "name") != NULL);
}
END_TEST

/* The segment is shared with the processes forked after it is created
 * (the ingest, the workers): what a child writes, the parent reads. */
START_TEST(create_share_with_children_and_unlink)
{
	struct shm_seg a;
	char name[64], err[256];
	size_t lens[3] = { 10, 20, 30 };
	struct ring_writer w;
	pid_t pid;
	int st;

	test_name(name, sizeof(name), "share");
	shm_seg_unlink(name);
	ck_assert_msg(shm_seg_create(&a, name, 100, 65536, 2, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(a.name, name);
	ck_assert_uint_eq(a.hdr->nslots, 128);
	ck_assert_uint_eq(a.slot_mask, 127);
	ck_assert_uint_eq(a.hdr->nworkers, 2);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		ring_writer_init(&w, &a, NULL, 0);
		publish_sized(&w, 0, lens[0], lens[1], lens[2]);
		a.workers[1].accepted = 7;
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_record(&a, a.ctl->first_seq, lens);
	ck_assert_uint_eq(a.workers[1].accepted, 7);
	shm_seg_close(&a);
	ck_assert_int_eq(shm_seg_unlink(name), 0);
	ck_assert_int_eq(shm_seg_unlink(name), -1);
}
END_TEST

START_TEST(live_master_segment_is_refused)
{
	struct shm_seg a, b;
	char name[64], err[256];

	test_name(name, sizeof(name), "live");
	shm_seg_unlink(name);
	ck_assert_msg(shm_seg_create(&a, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	err[0] = '\0';
	ck_assert_int_eq(shm_seg_create(&b, name, 16, 65536, 1, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "running master") != NULL, "%s", err);
	ck_assert_ptr_null(b.base);
	/* The live segment is untouched. */
	ck_assert_uint_eq(a.hdr->magic, SHM_MAGIC);
	shm_seg_close(&a);
	shm_seg_unlink(name);
}
END_TEST

START_TEST(stale_segment_of_dead_master_is_replaced)
{
	struct shm_seg a, b;
	char name[64], err[256];
	pid_t pid;
	int st;

	test_name(name, sizeof(name), "stale");
	shm_seg_unlink(name);
	ck_assert_msg(shm_seg_create(&a, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	a.ctl->head = 42;
	/* Pretend a master that has since died created it. */
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	a.hdr->master_pid = (uint32_t)pid;
	shm_seg_close(&a);

	ck_assert_msg(shm_seg_create(&b, name, 32, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(b.hdr->master_pid, (uint32_t)getpid());
	ck_assert_uint_eq(b.hdr->nslots, 32);
	ck_assert_uint_eq(ring_head(&b), b.ctl->first_seq);
	shm_seg_close(&b);
	shm_seg_unlink(name);
}
END_TEST

/* Files moved aside from name (<name>.bad-<time>): how many, removed. */
static int
aside_count_and_remove(const char *name)
{
	char path[160];
	time_t now = time(NULL);
	int n = 0;

	for (time_t t = now - 5; t <= now + 1; t++) {
		snprintf(path, sizeof(path), "/dev/shm%s.bad-%lld", name,
		    (long long)t);
		if (unlink(path) == 0)
			n++;
	}
	return n;
}

/* A stale segment of ours whose master died, holding one record and one
 * log row, closed (its lock free: unmapped too) with mode `mode`; its ring
 * first damaged as `damage` says (0: not). */
static void
leave_stale(const char *name, mode_t mode, int damage)
{
	char err[256], path[128];
	size_t lens[3] = { 10, 20, 30 };
	struct ring_writer w;
	struct shm_seg sa, *a = &sa;

	shm_seg_unlink(name);
	ck_assert_msg(shm_seg_create(a, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ring_writer_init(&w, a, NULL, 0);
	publish_sized(&w, 0, lens[0], lens[1], lens[2]);
	a->logs[0].next_index = 77;
	snprintf(a->logs[0].url, sizeof(a->logs[0].url), "https://l/");
	a->logs[0].in_use = 1;
	a->hdr->master_pid = 0;
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	ck_assert_int_eq(chmod(path, mode), 0);
	if (damage == 1)
		a->slots[a->ctl->first_seq & a->slot_mask].vlen[RV_FULL] =
		    1u << 20;
	else if (damage == 2)
		a->ctl->tail = a->ctl->first_seq + 5;
	else if (damage == 3)
		a->slots[a->ctl->first_seq & a->slot_mask].pos =
		    a->data_size * 3;
	shm_seg_close(a);
}

/* A segment of ours that is not a certstream segment (random bytes, a
 * foreign magic) is moved aside, said in the note, and a new one made: the
 * daemon starts. (It used to refuse to start.) */
START_TEST(foreign_segment_is_moved_aside)
{
	struct shm_seg a, b;
	char name[64], err[256];

	test_name(name, sizeof(name), "foreign");
	shm_seg_unlink(name);
	aside_count_and_remove(name);
	ck_assert_msg(shm_seg_create(&a, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(a.note, "");
	a.hdr->magic = 0x1234;
	a.hdr->master_pid = 0;
	ck_assert_msg(shm_seg_create(&b, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_msg(strstr(b.note, "not a certstream segment") != NULL &&
	    strstr(b.note, "moved aside") != NULL, "%s", b.note);
	ck_assert_uint_eq(b.hdr->magic, SHM_MAGIC);
	ck_assert_str_eq(b.name, name);
	ck_assert_int_eq(aside_count_and_remove(name), 1);
	shm_seg_close(&b);
	/* A zeroed one (master killed while creating) is replaced. */
	a.hdr->magic = 0;
	ck_assert_msg(shm_seg_create(&b, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(aside_count_and_remove(name), 0);
	shm_seg_close(&b);
	shm_seg_close(&a);
	shm_seg_unlink(name);
}
END_TEST

/* A stale segment that others could have written (mode 0644) hands on
 * neither its records nor its log rows; one of mode 0600 does both. */
START_TEST(stale_segment_carried_only_if_mode_0600)
{
	struct shm_seg b;
	char name[64], err[256];
	size_t lens[3] = { 10, 20, 30 };

	test_name(name, sizeof(name), "mode");
	aside_count_and_remove(name);
	leave_stale(name, 0644, 0);
	ck_assert_msg(shm_seg_create(&b, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_msg(strstr(b.note, "mode 0644") != NULL, "%s", b.note);
	ck_assert_uint_eq(ring_head(&b), b.ctl->first_seq);
	ck_assert_uint_eq(b.logs[0].in_use, 0);
	ck_assert_uint_eq(b.logs[0].next_index, 0);
	ck_assert_int_eq(aside_count_and_remove(name), 1);
	shm_seg_close(&b);

	leave_stale(name, 0600, 0);
	ck_assert_msg(shm_seg_create(&b, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(b.note, "");
	ck_assert_uint_eq(ring_head(&b), b.ctl->first_seq + 1);
	assert_record(&b, b.ctl->first_seq, lens);
	ck_assert_uint_eq(b.logs[0].next_index, 77);
	ck_assert_int_eq(aside_count_and_remove(name), 0);
	shm_seg_close(&b);
	shm_seg_unlink(name);
}
END_TEST

/* A stale segment of ours whose ring does not validate (a record reaching
 * past its slot, a tail above head) keeps its log rows, not its records. */
START_TEST(stale_ring_that_does_not_validate_is_not_carried)
{
	struct shm_seg b;
	char name[64], err[256];

	test_name(name, sizeof(name), "ring");
	for (int t = 1; t <= 3; t++) {
		leave_stale(name, 0600, t);
		ck_assert_msg(shm_seg_create(&b, name, 16, 65536, 1, err,
		    sizeof(err)) == 0, "%s", err);
		ck_assert_msg(strstr(b.note, "ring does not validate") != NULL,
		    "%d: %s", t, b.note);
		ck_assert_uint_gt(b.ctl->first_seq, 0);
		ck_assert_uint_eq(ring_head(&b), b.ctl->first_seq);
		ck_assert_uint_eq(ring_tail(&b), b.ctl->first_seq);
		ck_assert_uint_eq(b.ctl->wpos, 0);
		ck_assert_uint_eq(b.slots[0].size, 0);
		ck_assert_uint_eq(b.logs[0].next_index, 77);
		shm_seg_close(&b);
	}
	shm_seg_unlink(name);
}
END_TEST

/* Another user's file at the name, in the sticky /dev/shm, cannot be moved
 * by us: we run on an unnamed segment rather than not at all, and leave
 * the file alone. Needs root to make the file another user's. */
START_TEST(immovable_foreign_file_gives_an_unnamed_segment)
{
	char name[64], path[128];
	pid_t pid;
	int st, fd;

	if (geteuid() != 0)
		return;
	test_name(name, sizeof(name), "immovable");
	shm_seg_unlink(name);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	close(fd);
	if ((pid = fork()) == 0) {
		struct shm_seg b;
		char err[256];

		if (setgid(65534) == -1 || setuid(65534) == -1)
			_exit(10);
		if (shm_seg_create(&b, name, 16, 65536, 1, err,
		    sizeof(err)) == -1)
			_exit(11);
		if (b.name[0] != '\0' || strstr(b.note, "unnamed") == NULL ||
		    strstr(b.note, "owned by uid 0") == NULL)
			_exit(12);
		if (b.hdr->magic != SHM_MAGIC || b.ctl->first_seq == 0 ||
		    ring_head(&b) != b.ctl->first_seq)
			_exit(13);
		shm_seg_close(&b);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %#x", st);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	ck_assert_int_eq(access(path, F_OK), 0);
	shm_seg_unlink(name);
}
END_TEST

Suite *
segment_suite(void)
{
	Suite *s = suite_create("segment");
	TCase *tc = tcase_create("segment");

	tcase_add_test(tc, anon_layout_is_aligned_and_rounded);
	tcase_add_test(tc, bad_sizes_are_refused);
	tcase_add_test(tc, create_share_with_children_and_unlink);
	tcase_add_test(tc, live_master_segment_is_refused);
	tcase_add_test(tc, stale_segment_of_dead_master_is_replaced);
	tcase_add_test(tc, foreign_segment_is_moved_aside);
	tcase_add_test(tc, stale_segment_carried_only_if_mode_0600);
	tcase_add_test(tc, config_box_hands_the_newest_configuration);
	tcase_add_test(tc, shm_header_master_pid_at);
	tcase_add_test(tc, stale_ring_that_does_not_validate_is_not_carried);
	tcase_add_test(tc, immovable_foreign_file_gives_an_unnamed_segment);
	suite_add_tcase(s, tc);
	return s;
}

Suite *
ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("ring");

	tcase_add_test(tc, ws_header_lengths_at_boundaries);
	tcase_add_test(tc, ids_writer_puts_the_seq_in_each_json_record);
	tcase_add_test(tc, publish_peek_copy_round_trip);
	tcase_add_test(tc, meta_and_facts_round_trip);
	tcase_add_test(tc, flags_travel_with_the_record);
	tcase_add_test(tc, ws_header_in_ring_at_boundaries);
	tcase_add_test(tc, records_never_wrap_the_data_area);
	tcase_add_test(tc, lapped_records_are_refused);
	tcase_add_test(tc, too_large_record_is_refused);
	tcase_add_test(tc, slot_reuse_when_slots_are_the_limit);
	tcase_add_test(tc, writer_resumes_after_reinit);
	tcase_add_test(tc, eventfd_wake_only_when_armed);
	suite_add_tcase(s, tc);
	return s;
}
