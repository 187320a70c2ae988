/*
 * Compression figures for issue 15 on the replay feed's three forms:
 * bytes on the wire per message (plain frame, the ring's shared stream,
 * each message compressed on its own), the writer's CPU per record for
 * the shared streams and for per-message copies, and what a compressor
 * per client (context kept) costs per delivery.
 *
 *   build/compress_bench [FEED] [RECORDS] [LEVEL]
 * prints "name value" lines; CPU is process CPU time, best of 3 rounds.
 *
 *   build/compress_bench FEED RECORDS matrix
 * prints, per form and zlib setting (level, memLevel, strategy; one
 * stream, context kept, a sync flush per message, reset every 64), the
 * ratio of plain JSON bytes over compressed and the CPU per message:
 * where the shared streams' cost goes.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "ingest/replay.h"
#include "shm/ring.h"
#include "shm/ring_deflate.h"
#include "shm/segment.h"

#define ROUNDS 3

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *form_name[RV_COUNT] = { "lite", "full", "domains" };

/* Mark the streams in want (RING_Z_WS / RING_Z_SSE bits) wanted for good,
 * the others not, as workers with such clients would. */
static void
want_set(struct shm_seg *seg, unsigned want)
{
	for (int v = 0; v < RV_COUNT; v++) {
		atomic_store(&seg->ctl->zwant[v][SP_WS],
		    (want & RING_Z_WS(v)) ? INT64_MAX : 0);
		atomic_store(&seg->ctl->zwant[v][SP_SSE],
		    (want & RING_Z_SSE(v)) ? INT64_MAX : 0);
	}
}

/* Publish n records of the feed; CPU seconds. */
static double
publish_run(struct replay_feed *f, struct shm_seg *seg, struct ring_deflate *d,
    size_t n)
{
	struct ring_writer w;
	struct iovec json[RV_COUNT];
	double t0;

	ring_writer_init(&w, seg, NULL, 0);
	w.ids = 1;
	w.dfl = d;
	t0 = cpu_now();
	for (size_t i = 0; i < n; i++) {
		replay_feed_stamp(f, i % f->n, 1733000000000000 + (int64_t)i, json);
		if (ring_publish(&w, json, 1) == UINT64_MAX) {
			fprintf(stderr, "compress_bench: record %zu refused\n", i);
			exit(1);
		}
	}
	return cpu_now() - t0;
}

/* One form's stream under one setting: CPU us per message, ratio. */
static void
matrix_one(struct replay_feed *f, size_t n, int v, int level, int mem,
    int strat, int flush, double *us, double *ratio)
{
	static uint8_t out[1 << 20];
	uint64_t in = 0, zb = 0;
	double best = 1e9, t;
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, level, Z_DEFLATED, -15, mem, strat);
	for (int r = 0; r < ROUNDS; r++) {
		in = zb = 0;
		deflateReset(&zs);
		t = cpu_now();
		for (size_t i = 0; i < n; i++) {
			struct iovec json[RV_COUNT];

			replay_feed_stamp(f, i % f->n,
			    1733000000000000 + (int64_t)i, json);
			if (i % 64 == 0)
				deflateReset(&zs);
			zs.next_in = json[v].iov_base;
			zs.avail_in = (uInt)json[v].iov_len;
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			deflate(&zs, flush);
			in += json[v].iov_len;
			zb += sizeof(out) - zs.avail_out;
		}
		if ((t = cpu_now() - t) < best)
			best = t;
	}
	deflateEnd(&zs);
	*us = best / (double)n * 1e6;
	*ratio = (double)in / (double)(zb > 0 ? zb : 1);
}

static int
matrix(struct replay_feed *f, size_t n)
{
	static const struct {
		const char *name;
		int level, mem, strat, flush;
	} set[] = {
		{ "l6_m8_default_sync", 6, 8, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH },
		{ "l3_m8_default_sync", 3, 8, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH },
		{ "l2_m8_default_sync", 2, 8, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH },
		{ "l1_m8_default_sync", 1, 8, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH },
		{ "l1_m9_default_sync", 1, 9, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH },
		{ "l1_m4_default_sync", 1, 4, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH },
		{ "l1_m8_fixed_sync", 1, 8, Z_FIXED, Z_SYNC_FLUSH },
		{ "l3_m8_filtered_sync", 3, 8, Z_FILTERED, Z_SYNC_FLUSH },
		{ "l1_m8_rle_sync", 1, 8, Z_RLE, Z_SYNC_FLUSH },
		{ "l1_m8_default_noflush", 1, 8, Z_DEFAULT_STRATEGY, Z_NO_FLUSH },
		{ "l6_m8_default_noflush", 6, 8, Z_DEFAULT_STRATEGY, Z_NO_FLUSH },
	};

	for (size_t k = 0; k < sizeof(set) / sizeof(set[0]); k++) {
		for (int v = 0; v < RV_COUNT; v++) {
			double us, ratio;

			matrix_one(f, n, v, set[k].level, set[k].mem,
			    set[k].strat, set[k].flush, &us, &ratio);
			printf("%s %s us_per_msg %.2f ratio %.2f\n",
			    set[k].name, form_name[v], us, ratio);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "tests/data/sample-feed.ndjson";
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	int level = argc > 3 ? atoi(argv[3]) : 6;
	struct ring_deflate_cfg zc = { level, 64, 0 };
	struct replay_feed f;
	struct shm_seg seg;
	char err[256];
	double plain_cpu = 1e9, z_cpu = 1e9, t;
	uint64_t pbytes[RV_COUNT] = { 0 }, zbytes[RV_COUNT] = { 0 };
	uint64_t mbytes[RV_COUNT] = { 0 }, jbytes[RV_COUNT] = { 0 };
	uint64_t sbytes[RV_COUNT] = { 0 }, szbytes[RV_COUNT] = { 0 };
	double msg_cpu = 1e9, client_cpu[RV_COUNT];
	static uint8_t out[1 << 20];
	z_stream zs;

	if (replay_feed_load(&f, path, NULL, NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "compress_bench: %s\n", err);
		return 1;
	}
	if (argc > 3 && strcmp(argv[3], "matrix") == 0) {
		matrix(&f, n);
		replay_feed_free(&f);
		return 0;
	}
	if (shm_seg_create_anon(&seg, 4096, 64u << 20, 1, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "compress_bench: %s\n", err);
		return 1;
	}
	/* The ring's writer with and without its shared compressors: the
	 * streams wanted one form at a time, lite's SSE one, none, the three
	 * WebSocket streams, then all six (whose records the byte counts
	 * read). */
	static const struct {
		const char *name;
		unsigned want;
	} wset[] = {
		{ "none", 0 },
		{ "lite_ws", RING_Z_WS(RV_LITE) },
		{ "full_ws", RING_Z_WS(RV_FULL) },
		{ "domains_ws", RING_Z_WS(RV_DOMAINS) },
		{ "lite_sse", RING_Z_SSE(RV_LITE) },
		{ "all_ws", RING_Z_WS(0) | RING_Z_WS(1) | RING_Z_WS(2) },
		{ "all_ws_sse", 0x7e },
	};
	/* first, touch the ring's pages: their faults are not the writer's */
	(void)publish_run(&f, &seg, NULL, n);
	for (int r = 0; r < ROUNDS; r++)
		if ((t = publish_run(&f, &seg, NULL, n)) < plain_cpu)
			plain_cpu = t;
	for (size_t k = 0; k < sizeof(wset) / sizeof(wset[0]); k++) {
		double best = 1e9;

		want_set(&seg, wset[k].want);
		for (int r = 0; r < ROUNDS; r++) {
			struct ring_deflate *d = ring_deflate_new(&zc);

			if ((t = publish_run(&f, &seg, d, n)) < best)
				best = t;
			ring_deflate_free(d);
		}
		printf("compress_us_per_record_%s %.2f\n", wset[k].name,
		    (best - plain_cpu) / (double)n * 1e6);
		if (wset[k].want == (RING_Z_WS(0) | RING_Z_WS(1) | RING_Z_WS(2)))
			z_cpu = best;
	}
	/* Bytes of the records still in the ring that have compressed
	 * frames (the last compressed run's). */
	uint64_t nrec = 0;

	for (uint64_t s = ring_tail(&seg); s < ring_head(&seg); s++) {
		struct iovec zf0;
		int key0;

		if (ring_peek_z(&seg, s, RV_LITE, &zf0, &key0) == 0)
			nrec++;
		for (int v = 0; v < RV_COUNT; v++) {
			struct iovec p, zf, j, sz;
			int key;
			char pfx[48];

			if (ring_peek(&seg, s, (enum ring_variant)v, 1, &p, NULL) ||
			    ring_peek(&seg, s, (enum ring_variant)v, 0, &j, NULL) ||
			    ring_peek_z(&seg, s, (enum ring_variant)v, &zf, &key) ||
			    ring_peek_zsse(&seg, s, (enum ring_variant)v, &sz, &key))
				continue;
			pbytes[v] += p.iov_len;
			jbytes[v] += j.iov_len;
			zbytes[v] += zf.iov_len;
			/* an SSE event: "id: N\ndata: " JSON "\n\n" */
			sbytes[v] += (uint64_t)snprintf(pfx, sizeof(pfx),
			    "id: %llu\ndata: ", (unsigned long long)s) +
			    j.iov_len + 2;
			szbytes[v] += sz.iov_len;
		}
	}
	/* Per-message copies (each message alone), and a compressor per
	 * client (context kept, Elixir server style): CPU per message. */
	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t mb[RV_COUNT] = { 0 };

		t = cpu_now();
		for (size_t i = 0; i < n; i++) {
			struct iovec json[RV_COUNT];

			replay_feed_stamp(&f, i % f.n, 1733000000000000 + (int64_t)i,
			    json);
			for (int v = 0; v < RV_COUNT; v++) {
				deflateReset(&zs);
				zs.next_in = json[v].iov_base;
				zs.avail_in = (uInt)json[v].iov_len;
				zs.next_out = out;
				zs.avail_out = sizeof(out);
				deflate(&zs, Z_SYNC_FLUSH);
				mb[v] += sizeof(out) - zs.avail_out - 4;
			}
		}
		if ((t = cpu_now() - t) < msg_cpu) {
			msg_cpu = t;
			memcpy(mbytes, mb, sizeof(mb));
		}
	}
	for (int v = 0; v < RV_COUNT; v++) {
		client_cpu[v] = 1e9;
		for (int r = 0; r < ROUNDS; r++) {
			deflateReset(&zs);
			t = cpu_now();
			for (size_t i = 0; i < n; i++) {
				struct iovec json[RV_COUNT];

				replay_feed_stamp(&f, i % f.n,
				    1733000000000000 + (int64_t)i, json);
				zs.next_in = json[v].iov_base;
				zs.avail_in = (uInt)json[v].iov_len;
				zs.next_out = out;
				zs.avail_out = sizeof(out);
				deflate(&zs, Z_SYNC_FLUSH);
			}
			if ((t = cpu_now() - t) < client_cpu[v])
				client_cpu[v] = t;
		}
	}
	deflateEnd(&zs);

	printf("records %zu (bytes over the last %llu)\n", n,
	    (unsigned long long)nrec);
	for (int v = 0; v < RV_COUNT; v++) {
		double hdr = (double)(pbytes[v] - jbytes[v]) / (double)nrec;

		printf("%s_plain_bytes %.0f\n", form_name[v],
		    (double)pbytes[v] / (double)nrec);
		printf("%s_shared_bytes %.0f\n", form_name[v],
		    (double)zbytes[v] / (double)nrec);
		printf("%s_shared_ratio %.2f\n", form_name[v],
		    (double)pbytes[v] / (double)zbytes[v]);
		/* per-message copies would carry a frame header too */
		printf("%s_alone_ratio %.2f\n", form_name[v], (double)pbytes[v] /
		    ((double)mbytes[v] / (double)n * (double)nrec + hdr * (double)nrec));
		printf("%s_sse_plain_bytes %.0f\n", form_name[v],
		    (double)sbytes[v] / (double)nrec);
		printf("%s_sse_shared_bytes %.0f\n", form_name[v],
		    (double)szbytes[v] / (double)nrec);
		printf("%s_sse_shared_ratio %.2f\n", form_name[v],
		    (double)sbytes[v] / (double)szbytes[v]);
		printf("%s_client_compressor_us_per_delivery %.2f\n", form_name[v],
		    client_cpu[v] / (double)n * 1e6);
	}
	printf("writer_plain_us_per_record %.2f\n", plain_cpu / (double)n * 1e6);
	printf("writer_shared_us_per_record %.2f\n", z_cpu / (double)n * 1e6);
	printf("shared_compress_us_per_record %.2f\n",
	    (z_cpu - plain_cpu) / (double)n * 1e6);
	printf("alone_copies_us_per_record %.2f\n", msg_cpu / (double)n * 1e6);
	shm_seg_close(&seg);
	replay_feed_free(&f);
	return 0;
}
