/*
 * Compression figures for issue 15 on the replay feed's three forms:
 * bytes on the wire per message (plain frame, the ring's shared stream,
 * each message compressed on its own), the writer's CPU per record for
 * the shared streams and for per-message copies, and what a compressor
 * per client (context kept) costs per delivery.
 *
 *   build/compress_bench [FEED] [RECORDS] [LEVEL] [KEYFRAME]
 * prints "name value" lines (level 3 and a keyframe every 128 records by
 * default, the daemon's defaults); CPU is process CPU time, best of 3
 * rounds.
 *
 *   build/compress_bench FEED RECORDS matrix [KEYFRAME [quick]]
 * prints (a keyframe every KEYFRAME records, 128 by default; quick: the
 * default strategy and memLevel 8 only), per zlib setting (levels 1..6, strategies default, filtered,
 * fixed, memLevel 8 and 9), each form's wire ratio and the writer's CPU
 * per record for each WebSocket stream and the three; whether the lite
 * and full texts share bytes one deflate pass could serve; and zlib
 * alone per message with a sync flush against none (the block each
 * message must end costs the difference): where the cost goes.
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

/* Bytes of the records still in the ring that have compressed frames:
 * per form, plain frames (pb), shared compressed frames (zb), the JSON
 * (jb), SSE events plain (sb) and gzip (szb); their number. */
static uint64_t
ring_bytes(const struct shm_seg *seg, uint64_t pb[RV_COUNT],
    uint64_t zb[RV_COUNT], uint64_t jb[RV_COUNT], uint64_t sb[RV_COUNT],
    uint64_t szb[RV_COUNT])
{
	uint64_t nrec = 0;

	for (int v = 0; v < RV_COUNT; v++)
		pb[v] = zb[v] = jb[v] = sb[v] = szb[v] = 0;
	for (uint64_t s = ring_tail(seg); s < ring_head(seg); s++) {
		struct iovec zf0;
		int key0;

		if (ring_peek_z(seg, s, RV_LITE, &zf0, &key0) == 0)
			nrec++;
		for (int v = 0; v < RV_COUNT; v++) {
			struct iovec p, zf, j, sz;
			int key;
			char pfx[48];

			if (ring_peek(seg, s, (enum ring_variant)v, 1, &p, NULL) ||
			    ring_peek(seg, s, (enum ring_variant)v, 0, &j, NULL) ||
			    ring_peek_z(seg, s, (enum ring_variant)v, &zf, &key))
				continue;
			pb[v] += p.iov_len;
			jb[v] += j.iov_len;
			zb[v] += zf.iov_len;
			if (ring_peek_zsse(seg, s, (enum ring_variant)v, &sz,
			    &key))
				continue;
			/* an SSE event: "id: N\ndata: " JSON "\n\n" */
			sb[v] += (uint64_t)snprintf(pfx, sizeof(pfx),
			    "id: %llu\ndata: ", (unsigned long long)s) +
			    j.iov_len + 2;
			szb[v] += sz.iov_len;
		}
	}
	return nrec;
}

/* zlib alone on form v, one stream, one deflate call per message: with a
 * sync flush (reset every 64, as the ring's streams) or none (one long
 * stream: blocks end only when zlib's buffer fills). CPU us per message. */
static double
zlib_one(struct replay_feed *f, size_t n, int v, int level, int flush)
{
	static uint8_t out[1 << 20];
	double best = 1e9, t;
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	for (int r = 0; r < ROUNDS; r++) {
		deflateReset(&zs);
		t = cpu_now();
		for (size_t i = 0; i < n; i++) {
			struct iovec json[RV_COUNT];

			replay_feed_stamp(f, i % f->n,
			    1733000000000000 + (int64_t)i, json);
			if (flush == Z_SYNC_FLUSH && i % 64 == 0)
				deflateReset(&zs);
			zs.next_in = json[v].iov_base;
			zs.avail_in = (uInt)json[v].iov_len;
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			deflate(&zs, flush);
		}
		if ((t = cpu_now() - t) < best)
			best = t;
	}
	deflateEnd(&zs);
	return best / (double)n * 1e6;
}

/*
 * Could one deflate pass serve two forms? Only where their bytes agree:
 * per record, how much of the lite text is the full text's prefix, how
 * much its suffix, and how much neither (the renderer writes lite as
 * full without as_der and chain: head, "}", tail).
 */
static void
forms_overlap(struct replay_feed *f)
{
	uint64_t lite = 0, pre = 0, suf = 0;

	for (size_t i = 0; i < f->n; i++) {
		struct iovec json[RV_COUNT];
		const char *a, *b;
		size_t la, lb, p = 0, q = 0;

		replay_feed_stamp(f, i, 1733000000000000 + (int64_t)i, json);
		a = json[RV_LITE].iov_base;
		la = json[RV_LITE].iov_len;
		b = json[RV_FULL].iov_base;
		lb = json[RV_FULL].iov_len;
		while (p < la && p < lb && a[p] == b[p])
			p++;
		while (q < la - p && q < lb - p && a[la - 1 - q] == b[lb - 1 - q])
			q++;
		lite += la;
		pre += p;
		suf += q;
	}
	printf("forms lite_bytes_full_prefix %.4f lite_bytes_full_suffix %.4f "
	    "lite_bytes_neither %.4f (%llu bytes over %zu records)\n",
	    (double)pre / (double)lite, (double)suf / (double)lite,
	    (double)(lite - pre - suf) / (double)lite,
	    (unsigned long long)(lite - pre - suf), f->n);
}

/*
 * The ring's writer under each zlib setting (levels 1..6, strategies,
 * memLevel 8 and 9; 15-bit window, a keyframe every key records): CPU us
 * per record over plain publishing, for each WebSocket stream wanted
 * alone and the three together, and each form's wire ratio (plain frame
 * bytes over compressed). Then where a record's cost goes: zlib alone
 * with a sync flush per message against none.
 */
static int
matrix(struct replay_feed *f, struct shm_seg *seg, size_t n, uint32_t key,
    int all)
{
	static const struct {
		const char *name;
		int strat;
	} st[] = {
		{ "default", Z_DEFAULT_STRATEGY },
		{ "filtered", Z_FILTERED },
		{ "fixed", Z_FIXED },
	};
	static const unsigned wset[] = {
		RING_Z_WS(RV_LITE), RING_Z_WS(RV_FULL), RING_Z_WS(RV_DOMAINS),
		RING_Z_WS(RV_LITE) | RING_Z_WS(RV_FULL) | RING_Z_WS(RV_DOMAINS),
	};
	double plain = 1e9, t;

	forms_overlap(f);
	(void)publish_run(f, seg, NULL, n);
	for (int r = 0; r < ROUNDS; r++)
		if ((t = publish_run(f, seg, NULL, n)) < plain)
			plain = t;
	printf("writer_plain_us_per_record %.2f\n", plain / (double)n * 1e6);
	for (int level = 1; level <= 6; level++)
	for (size_t k = 0; k < (all ? sizeof(st) / sizeof(st[0]) : 1); k++)
	for (int mem = 8; mem <= (all ? 9 : 8); mem++) {
		struct ring_deflate_cfg zc = { level, key, 0, st[k].strat, mem };
		uint64_t pb[RV_COUNT], zb[RV_COUNT], jb[RV_COUNT];
		uint64_t sb[RV_COUNT], szb[RV_COUNT];
		double us[4];

		for (size_t w = 0; w < 4; w++) {
			us[w] = 1e9;
			want_set(seg, wset[w]);
			for (int r = 0; r < ROUNDS; r++) {
				struct ring_deflate *d = ring_deflate_new(&zc);

				if ((t = publish_run(f, seg, d, n)) < us[w])
					us[w] = t;
				ring_deflate_free(d);
			}
			us[w] = (us[w] - plain) / (double)n * 1e6;
		}
		/* the ring holds the last run's: all three streams */
		(void)ring_bytes(seg, pb, zb, jb, sb, szb);
		printf("l%d_m%d_%s_k%u lite_ratio %.3f full_ratio %.3f "
		    "domains_ratio %.3f lite_us %.2f full_us %.2f "
		    "domains_us %.2f all_ws_us %.2f\n", level, mem, st[k].name,
		    (unsigned)key,
		    (double)pb[RV_LITE] / (double)zb[RV_LITE],
		    (double)pb[RV_FULL] / (double)zb[RV_FULL],
		    (double)pb[RV_DOMAINS] / (double)zb[RV_DOMAINS],
		    us[0], us[1], us[2], us[3]);
		fflush(stdout);
	}
	for (int v = 0; v < RV_COUNT && all; v++)
		for (int level = 1; level <= 6; level += 5)
			printf("zlib_l%d %s us_per_msg sync_flush %.2f "
			    "no_flush %.2f\n", level, form_name[v],
			    zlib_one(f, n, v, level, Z_SYNC_FLUSH),
			    zlib_one(f, n, v, level, Z_NO_FLUSH));
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "tests/data/sample-feed.ndjson";
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	int level = argc > 3 ? atoi(argv[3]) : 3;
	uint32_t key = argc > 4 ? (uint32_t)atoi(argv[4]) : 128;
	struct ring_deflate_cfg zc = { level, key, 0, Z_DEFAULT_STRATEGY, 8 };
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
	if (shm_seg_create_anon(&seg, 4096, 64u << 20, 1, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "compress_bench: %s\n", err);
		return 1;
	}
	if (argc > 3 && strcmp(argv[3], "matrix") == 0) {
		matrix(&f, &seg, n, argc > 4 ? (uint32_t)atoi(argv[4]) : 128,
		    argc <= 5 || strcmp(argv[5], "quick") != 0);
		shm_seg_close(&seg);
		replay_feed_free(&f);
		return 0;
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
	uint64_t nrec = ring_bytes(&seg, pbytes, zbytes, jbytes, sbytes,
	    szbytes);

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
