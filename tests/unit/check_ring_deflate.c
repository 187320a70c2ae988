/* Unit tests: shm/ring_deflate.c through the ring writer (suite
 * "ring_deflate"): the shared compressed frames inflate, from each
 * keyframe on, to the plain ones byte for byte; only the streams some
 * worker wants are compressed, and one that starts does at a keyframe. */
#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "shm/ring.h"
#include "shm/ring_deflate.h"
#include "shm/segment.h"

Suite *ring_deflate_suite(void);

#define FEED "tests/data/sample-feed.ndjson"
#define NLINES 300

static char *lines[NLINES];
static size_t nlines;

static void
load_feed(void)
{
	FILE *f = fopen(FEED, "r");
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;

	ck_assert_ptr_nonnull(f);
	nlines = 0;
	while (nlines < NLINES && (n = getline(&l, &cap, f)) > 0) {
		if (l[n - 1] == '\n')
			l[--n] = '\0';
		lines[nlines++] = strdup(l);
	}
	free(l);
	fclose(f);
	ck_assert_uint_gt(nlines, 100);
}

static void
free_feed(void)
{
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	nlines = 0;
}

/* The WebSocket streams of every form wanted, as workers with
 * permessage-deflate clients of each would mark them. */
static void
want_ws(struct shm_seg *seg)
{
	for (int v = 0; v < RV_COUNT; v++)
		ring_deflate_want(seg, v, SP_WS, INT64_MAX / 4);
}

/* Publish record i of the feed: lite is the line, full the line too,
 * domains a short array (not an object: it gets no id). */
static uint64_t
publish_line(struct ring_writer *w, size_t i)
{
	struct iovec iov[RV_COUNT];
	static char dom[64];

	snprintf(dom, sizeof(dom), "[\"host%zu.example.com\"]", i % 7);
	iov[RV_LITE].iov_base = lines[i % nlines];
	iov[RV_LITE].iov_len = strlen(lines[i % nlines]);
	iov[RV_FULL] = iov[RV_LITE];
	iov[RV_DOMAINS].iov_base = dom;
	iov[RV_DOMAINS].iov_len = strlen(dom);
	return ring_publish(w, iov, 1);
}

/* One client's inflater (RFC 7692 §7.2.2: append 00 00 ff ff). */
static void
inflate_msg(z_stream *z, const uint8_t *p, size_t len, uint8_t *out,
    size_t cap, size_t *outlen)
{
	static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
	int r;

	z->next_out = out;
	z->avail_out = (uInt)cap;
	z->next_in = (uint8_t *)(uintptr_t)p;
	z->avail_in = (uInt)len;
	r = inflate(z, Z_SYNC_FLUSH);
	ck_assert(r == Z_OK || r == Z_BUF_ERROR);
	ck_assert_uint_eq(z->avail_in, 0);
	z->next_in = (uint8_t *)(uintptr_t)tail;
	z->avail_in = 4;
	r = inflate(z, Z_SYNC_FLUSH);
	ck_assert(r == Z_OK || r == Z_BUF_ERROR);
	ck_assert_uint_eq(z->avail_in, 0);
	*outlen = cap - z->avail_out;
}

/* The payload of a frame (server frames: unmasked). */
static void
frame_payload(const struct iovec *f, const uint8_t **p, size_t *len, int *rsv1)
{
	const uint8_t *b = f->iov_base;
	size_t hl = 2;

	*rsv1 = (b[0] & 0x40) != 0;
	ck_assert_uint_eq(b[0] & 0x0f, 1);     /* text */
	ck_assert(b[0] & 0x80);                /* FIN */
	if ((b[1] & 0x7f) == 126)
		hl = 4;
	else if ((b[1] & 0x7f) == 127)
		hl = 10;
	ck_assert_uint_eq(f->iov_len >= hl, 1);
	*p = b + hl;
	*len = f->iov_len - hl;
}

/* Inflate every form from record `from` (a keyframe) to head and compare
 * with the plain text. Returns how many records it checked. */
static uint64_t
check_from(struct shm_seg *seg, uint64_t from, uint64_t head)
{
	static uint8_t out[1 << 20];
	uint64_t n = 0;

	for (int v = 0; v < RV_COUNT; v++) {
		z_stream z;

		memset(&z, 0, sizeof(z));
		ck_assert_int_eq(inflateInit2(&z, -15), Z_OK);
		for (uint64_t s = from; s < head; s++) {
			struct iovec zf, pf;
			const uint8_t *p;
			size_t len, olen;
			int key, rsv1;

			ck_assert_int_eq(ring_peek_z(seg, s, (enum ring_variant)v,
			    &zf, &key), 0);
			if (s == from)
				ck_assert_int_eq(key, 1);
			frame_payload(&zf, &p, &len, &rsv1);
			ck_assert_int_eq(rsv1, 1);
			inflate_msg(&z, p, len, out, sizeof(out), &olen);
			ck_assert_int_eq(ring_peek(seg, s, (enum ring_variant)v, 0,
			    &pf, NULL), 0);
			ck_assert_uint_eq(olen, pf.iov_len);
			ck_assert(memcmp(out, pf.iov_base, olen) == 0);
			n++;
		}
		inflateEnd(&z);
	}
	return n;
}

START_TEST(shared_stream_inflates_from_every_keyframe_to_the_plain_bytes)
{
	struct ring_deflate_cfg zc = { .level = 3, .key_records = 16 };
	struct shm_seg seg;
	struct ring_writer w;
	uint64_t first, head, nkeys = 0;

	load_feed();
	ck_assert_int_eq(shm_seg_create_anon(&seg, 1024, 1 << 22, 4, NULL, 0), 0);
	ring_start_at(&seg, 5000);
	ring_writer_init(&w, &seg, NULL, 0);
	w.ids = 1;
	ck_assert_ptr_nonnull(w.dfl = ring_deflate_new(&zc));
	want_ws(&seg);
	for (size_t i = 0; i < 130; i++)
		ck_assert_uint_ne(publish_line(&w, i), UINT64_MAX);
	first = ring_tail(&seg);
	head = ring_head(&seg);
	ck_assert_uint_eq(head - first, 130);
	for (uint64_t s = first; s < head; s++) {
		struct iovec zf;
		int key;

		ck_assert_int_eq(ring_peek_z(&seg, s, RV_LITE, &zf, &key), 0);
		/* the first record, then every 16th */
		ck_assert_int_eq(key, (s - first) % 16 == 0);
		if (key) {
			nkeys++;
			ck_assert_uint_eq(check_from(&seg, s, head),
			    3 * (head - s));
		}
	}
	ck_assert_uint_eq(nkeys, 9);
	ring_deflate_free(w.dfl);
	shm_seg_close(&seg);
	free_feed();
}
END_TEST

/*
 * The zlib settings the compression bench compares (compress_bench
 * matrix) are the ones the streams use, and each still inflates byte for
 * byte: with Z_FIXED every message is one fixed-Huffman block (BTYPE 01,
 * the first byte's bits 1-2), with the default strategy the long ones
 * are dynamic (10). A memLevel zlib refuses refuses the compressors.
 */
START_TEST(zlib_settings_reach_the_streams_and_each_inflates)
{
	static const struct ring_deflate_cfg set[] = {
		{ .level = 3, .key_records = 128 },
		{ .level = 1, .key_records = 32, .strategy = Z_FIXED,
		    .mem_level = 9 },
		{ .level = 4, .key_records = 32, .strategy = Z_FILTERED,
		    .mem_level = 8 },
	};
	struct ring_deflate_cfg bad = { .level = 3, .key_records = 64,
	    .mem_level = 10 };

	load_feed();
	for (size_t k = 0; k < sizeof(set) / sizeof(set[0]); k++) {
		struct shm_seg seg;
		struct ring_writer w;
		uint64_t first, head, fixed = 0, dynamic = 0;

		ck_assert_int_eq(shm_seg_create_anon(&seg, 1024, 1 << 22, 4,
		    NULL, 0), 0);
		ring_writer_init(&w, &seg, NULL, 0);
		w.ids = 1;
		ck_assert_ptr_nonnull(w.dfl = ring_deflate_new(&set[k]));
		want_ws(&seg);
		for (size_t i = 0; i < 80; i++)
			ck_assert_uint_ne(publish_line(&w, i), UINT64_MAX);
		first = ring_tail(&seg);
		head = ring_head(&seg);
		ck_assert_uint_eq(check_from(&seg, first, head),
		    3 * (head - first));
		for (uint64_t s = first; s < head; s++) {
			struct iovec zf;
			const uint8_t *p;
			size_t len;
			int key, rsv1;

			ck_assert_int_eq(ring_peek_z(&seg, s, RV_LITE, &zf,
			    &key), 0);
			frame_payload(&zf, &p, &len, &rsv1);
			if (((p[0] >> 1) & 3) == 1)
				fixed++;
			else if (((p[0] >> 1) & 3) == 2)
				dynamic++;
		}
		if (set[k].strategy == Z_FIXED)
			ck_assert_uint_eq(fixed, head - first);
		else
			ck_assert_uint_eq(dynamic, head - first);
		ring_deflate_free(w.dfl);
		shm_seg_close(&seg);
	}
	ck_assert_ptr_null(ring_deflate_new(&bad));
	free_feed();
}
END_TEST

START_TEST(shared_stream_gains_over_three_times_on_the_full_form)
{
	struct ring_deflate_cfg zc = { .level = 6, .key_records = 64 };
	struct shm_seg seg;
	struct ring_writer w;
	uint64_t plain = 0, comp = 0;

	load_feed();
	ck_assert_int_eq(shm_seg_create_anon(&seg, 1024, 1 << 23, 4, NULL, 0), 0);
	ring_writer_init(&w, &seg, NULL, 0);
	w.ids = 1;
	ck_assert_ptr_nonnull(w.dfl = ring_deflate_new(&zc));
	want_ws(&seg);
	for (size_t i = 0; i < nlines; i++)
		ck_assert_uint_ne(publish_line(&w, i), UINT64_MAX);
	for (uint64_t s = ring_tail(&seg); s < ring_head(&seg); s++) {
		struct iovec zf, pf;
		int key;

		ck_assert_int_eq(ring_peek_z(&seg, s, RV_LITE, &zf, &key), 0);
		ck_assert_int_eq(ring_peek(&seg, s, RV_LITE, 1, &pf, NULL), 0);
		comp += zf.iov_len;
		plain += pf.iov_len;
	}
	/* The sample lines are full-form messages (3.9x in issue 15's
	 * table without ids or frame headers), frames included. */
	ck_assert_msg(plain >= 3 * comp, "plain %llu compressed %llu",
	    (unsigned long long)plain, (unsigned long long)comp);
	ring_deflate_free(w.dfl);
	shm_seg_close(&seg);
	free_feed();
}
END_TEST

START_TEST(a_record_refused_as_too_large_makes_the_next_a_keyframe)
{
	struct ring_deflate_cfg zc = { .level = 6, .key_records = 1000 };
	struct shm_seg seg;
	struct ring_writer w;
	struct iovec iov[RV_COUNT], zf;
	static char big[20000];
	uint64_t s0, s1, s2;
	int key;

	load_feed();
	ck_assert_int_eq(shm_seg_create_anon(&seg, 64, 1 << 18, 4, NULL, 0), 0);
	ring_writer_init(&w, &seg, NULL, 0);
	w.ids = 1;
	ck_assert_ptr_nonnull(w.dfl = ring_deflate_new(&zc));
	want_ws(&seg);
	s0 = publish_line(&w, 0);
	s1 = publish_line(&w, 1);
	/* xorshift bytes: the plain forms fit a quarter of the data area
	 * (60,000 of 65,536 bytes), with their compressed frames they do
	 * not: the compressors had advanced for a record never published */
	uint32_t x = 2463534242u;

	for (size_t i = 0; i < sizeof(big); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		big[i] = (char)(x >> 24);
	}
	for (int v = 0; v < RV_COUNT; v++) {
		iov[v].iov_base = big;
		iov[v].iov_len = sizeof(big);
	}
	ck_assert_uint_eq(ring_publish(&w, iov, 1), UINT64_MAX);
	s2 = publish_line(&w, 2);
	ck_assert_int_eq(ring_peek_z(&seg, s0, RV_FULL, &zf, &key), 0);
	ck_assert_int_eq(key, 1);
	ck_assert_int_eq(ring_peek_z(&seg, s1, RV_FULL, &zf, &key), 0);
	ck_assert_int_eq(key, 0);
	ck_assert_int_eq(ring_peek_z(&seg, s2, RV_FULL, &zf, &key), 0);
	ck_assert_int_eq(key, 1);
	ck_assert_uint_eq(check_from(&seg, s2, ring_head(&seg)), 3);
	ring_deflate_free(w.dfl);
	shm_seg_close(&seg);
	free_feed();
}
END_TEST

START_TEST(without_compressors_records_have_no_compressed_frames)
{
	struct shm_seg seg;
	struct ring_writer w;
	struct iovec zf;
	uint64_t s;
	int key;

	load_feed();
	ck_assert_int_eq(shm_seg_create_anon(&seg, 64, 1 << 18, 4, NULL, 0), 0);
	ring_writer_init(&w, &seg, NULL, 0);
	ck_assert_ptr_null(w.dfl);
	s = publish_line(&w, 0);
	ck_assert_int_eq(ring_peek_z(&seg, s, RV_LITE, &zf, &key), -1);
	shm_seg_close(&seg);
	free_feed();
}
END_TEST

START_TEST(only_wanted_streams_are_compressed_and_a_new_one_starts_at_a_keyframe)
{
	struct ring_deflate_cfg zc = { .level = 6, .key_records = 1000 };
	struct shm_seg seg;
	struct ring_writer w;
	struct iovec zf;
	uint64_t s0, s1, s2, s3, s4;
	int64_t now = ring_deflate_now_ms();
	int key;

	load_feed();
	ck_assert_int_eq(shm_seg_create_anon(&seg, 64, 1 << 20, 4, NULL, 0), 0);
	ring_writer_init(&w, &seg, NULL, 0);
	w.ids = 1;
	ck_assert_ptr_nonnull(w.dfl = ring_deflate_new(&zc));
	/* nobody wants anything: no compressed bytes at all */
	s0 = publish_line(&w, 0);
	ck_assert_int_eq(ring_peek_z(&seg, s0, RV_LITE, &zf, &key), -1);
	ck_assert_int_eq(ring_peek_zsse(&seg, s0, RV_LITE, &zf, &key), -1);
	/* lite over WebSocket: that stream only, from a keyframe */
	ring_deflate_want(&seg, RV_LITE, SP_WS, now);
	ck_assert_uint_eq(ring_deflate_wanted(&seg, now), RING_Z_WS(RV_LITE));
	s1 = publish_line(&w, 1);
	ck_assert_int_eq(ring_peek_z(&seg, s1, RV_LITE, &zf, &key), 0);
	ck_assert_int_eq(key, 1);
	ck_assert_int_eq(ring_peek_z(&seg, s1, RV_FULL, &zf, &key), -1);
	ck_assert_int_eq(ring_peek_zsse(&seg, s1, RV_LITE, &zf, &key), -1);
	s2 = publish_line(&w, 2);
	ck_assert_int_eq(ring_peek_z(&seg, s2, RV_LITE, &zf, &key), 0);
	ck_assert_int_eq(key, 0);
	/* full over SSE joins: a keyframe for every stream */
	ring_deflate_want(&seg, RV_FULL, SP_SSE, now);
	s3 = publish_line(&w, 3);
	ck_assert_int_eq(ring_peek_z(&seg, s3, RV_LITE, &zf, &key), 0);
	ck_assert_int_eq(key, 1);
	ck_assert_int_eq(ring_peek_zsse(&seg, s3, RV_FULL, &zf, &key), 0);
	ck_assert_int_eq(ring_peek_z(&seg, s3, RV_FULL, &zf, &key), -1);
	/* a lease not renewed runs out */
	ck_assert_uint_eq(ring_deflate_wanted(&seg,
	    now + RING_ZWANT_LEASE_MS + 1), 0);
	atomic_store(&seg.ctl->zwant[RV_LITE][SP_WS], 0);
	atomic_store(&seg.ctl->zwant[RV_FULL][SP_SSE], 0);
	s4 = publish_line(&w, 4);
	ck_assert_int_eq(ring_peek_z(&seg, s4, RV_LITE, &zf, &key), -1);
	ck_assert_int_eq(ring_peek_zsse(&seg, s4, RV_FULL, &zf, &key), -1);
	/* a renewal within the first half of the lease writes nothing */
	ring_deflate_want(&seg, RV_DOMAINS, SP_WS, now);
	ring_deflate_want(&seg, RV_DOMAINS, SP_WS, now + 100);
	ck_assert_int_eq(atomic_load(&seg.ctl->zwant[RV_DOMAINS][SP_WS]),
	    now + RING_ZWANT_LEASE_MS);
	ring_deflate_free(w.dfl);
	shm_seg_close(&seg);
	free_feed();
}
END_TEST

/* An SSE event longer than one stored block holds cannot reach a gzip
 * client out of step as one: it is compressed, as a keyframe, even with
 * no stream wanted, and inflates alone to the event. */
START_TEST(an_sse_event_too_long_for_a_stored_block_is_a_keyframe_of_its_own)
{
	struct ring_deflate_cfg zc = { .level = 6, .key_records = 1000 };
	struct shm_seg seg;
	struct ring_writer w;
	struct iovec iov[RV_COUNT], zf, pf;
	static char big[70000];
	static uint8_t out[1 << 18];
	char pfx[48];
	uint64_t s0, s1;
	size_t plen;
	z_stream z;
	int key;

	load_feed();
	ck_assert_int_eq(shm_seg_create_anon(&seg, 64, 1 << 22, 4, NULL, 0), 0);
	ring_writer_init(&w, &seg, NULL, 0);
	w.ids = 1;
	ck_assert_ptr_nonnull(w.dfl = ring_deflate_new(&zc));
	s0 = publish_line(&w, 0);
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"message_type\":\"x\",\"d\":\"", 26);
	memcpy(big + sizeof(big) - 2, "\"}", 2);
	for (int v = 0; v < RV_COUNT; v++) {
		iov[v].iov_base = big;
		iov[v].iov_len = v == RV_FULL ? sizeof(big) : 40;
	}
	s1 = ring_publish(&w, iov, 1);
	ck_assert_uint_ne(s1, UINT64_MAX);
	ck_assert_int_eq(ring_peek_zsse(&seg, s0, RV_FULL, &zf, &key), -1);
	ck_assert_int_eq(ring_peek_zsse(&seg, s1, RV_LITE, &zf, &key), -1);
	ck_assert_int_eq(ring_peek_z(&seg, s1, RV_FULL, &zf, &key), -1);
	ck_assert_int_eq(ring_peek_zsse(&seg, s1, RV_FULL, &zf, &key), 0);
	ck_assert_int_eq(key, 1);
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(inflateInit2(&z, -15), Z_OK);
	z.next_in = zf.iov_base;
	z.avail_in = (uInt)zf.iov_len;
	z.next_out = out;
	z.avail_out = sizeof(out);
	ck_assert_int_eq(inflate(&z, Z_SYNC_FLUSH), Z_OK);
	ck_assert_uint_eq(z.avail_in, 0);
	ck_assert_int_eq(ring_peek(&seg, s1, RV_FULL, 0, &pf, NULL), 0);
	plen = (size_t)snprintf(pfx, sizeof(pfx), "id: %llu\ndata: ",
	    (unsigned long long)s1);
	ck_assert_uint_eq(sizeof(out) - z.avail_out, plen + pf.iov_len + 2);
	ck_assert(memcmp(out, pfx, plen) == 0);
	ck_assert(memcmp(out + plen, pf.iov_base, pf.iov_len) == 0);
	ck_assert(memcmp(out + plen + pf.iov_len, "\n\n", 2) == 0);
	inflateEnd(&z);
	ring_deflate_free(w.dfl);
	shm_seg_close(&seg);
	free_feed();
}
END_TEST

START_TEST(deflate_header_sets_rsv1_and_keeps_the_length_forms)
{
	uint8_t h[10];

	ck_assert_int_eq(ring_deflate_header(h, 5), 2);
	ck_assert_uint_eq(h[0], 0xc1);
	ck_assert_uint_eq(h[1], 5);
	ck_assert_int_eq(ring_deflate_header(h, 300), 4);
	ck_assert_uint_eq(h[0], 0xc1);
	ck_assert_int_eq(ring_deflate_header(h, 70000), 10);
	ck_assert_uint_eq(h[0], 0xc1);
}
END_TEST

Suite *
ring_deflate_suite(void)
{
	Suite *s = suite_create("ring_deflate");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, deflate_header_sets_rsv1_and_keeps_the_length_forms);
	tcase_add_test(tc,
	    shared_stream_inflates_from_every_keyframe_to_the_plain_bytes);
	tcase_add_test(tc,
	    shared_stream_gains_over_three_times_on_the_full_form);
	tcase_add_test(tc, zlib_settings_reach_the_streams_and_each_inflates);
	tcase_add_test(tc, a_record_refused_as_too_large_makes_the_next_a_keyframe);
	tcase_add_test(tc, without_compressors_records_have_no_compressed_frames);
	tcase_add_test(tc,
	    only_wanted_streams_are_compressed_and_a_new_one_starts_at_a_keyframe);
	tcase_add_test(tc,
	    an_sse_event_too_long_for_a_stored_block_is_a_keyframe_of_its_own);
	suite_add_tcase(s, tc);
	return s;
}
