/*
 * Compression figures for issue 15 on the replay feed's three forms:
 * bytes on the wire per message (plain frame, the ring's shared stream,
 * each message compressed on its own), the writer's CPU per record for
 * the shared streams and for per-message copies, and what a compressor
 * per client (context kept) costs per delivery.
 *
 *   build/compress_bench [FEED] [RECORDS] [LEVEL]
 * prints "name value" lines; CPU is process CPU time, best of 3 rounds.
 */
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
	double msg_cpu = 1e9, client_cpu[RV_COUNT];
	static uint8_t out[1 << 20];
	z_stream zs;

	if (replay_feed_load(&f, path, NULL, NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "compress_bench: %s\n", err);
		return 1;
	}
	if (shm_seg_create_anon(&seg, 4096, 64u << 20, 1, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "compress_bench: %s\n", err);
		return 1;
	}
	/* The ring's writer with and without its shared compressors. */
	for (int r = 0; r < ROUNDS; r++) {
		struct ring_deflate *d = ring_deflate_new(&zc);

		if ((t = publish_run(&f, &seg, NULL, n)) < plain_cpu)
			plain_cpu = t;
		if ((t = publish_run(&f, &seg, d, n)) < z_cpu)
			z_cpu = t;
		ring_deflate_free(d);
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
			struct iovec p, zf, j;
			int key;

			if (ring_peek(&seg, s, (enum ring_variant)v, 1, &p, NULL) ||
			    ring_peek(&seg, s, (enum ring_variant)v, 0, &j, NULL) ||
			    ring_peek_z(&seg, s, (enum ring_variant)v, &zf, &key))
				continue;
			pbytes[v] += p.iov_len;
			jbytes[v] += j.iov_len;
			zbytes[v] += zf.iov_len;
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
