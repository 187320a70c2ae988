/*
 * Rendering cost against a bare parse: every entry of the navigli2025h2
 * data tiles and the RFC 6962 sample bins rendered to all three forms,
 * then d2i_X509 (what a renderer built on X509 objects pays first) on
 * the same certificates, in the same run, on one core.
 *
 *   build/render_bench [SECONDS] [tests/data/real]
 * SECONDS (default 2) per phase, split in 3 alternating rounds; the best
 * round of each phase counts (other processes share the cores).
 * prints certs, render_per_sec N, d2i_per_sec N, render_cost_ratio R.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "ingest/leaf.h"
#include "ingest/render/render.h"

#define MAXE 4096
#define ROUNDS 3

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0) {
		rewind(f);
		if ((buf = malloc((size_t)n + 1)) != NULL &&
		    fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* CPU time of this process: the compression rows divide the ingest's CPU
 * by this, and wall time on a busy machine would count others' turns. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct leaf_entry ents[MAXE];
static size_t nents;

static int
load_tile(const char *path, uint8_t **keep)
{
	size_t len, off = 0;
	uint8_t *buf = slurp(path, &len);

	if (buf == NULL)
		return -1;
	*keep = buf;
	while (off < len && nents < MAXE) {
		if (leaf_decode_tile(buf, len, &off, NULL, NULL, &ents[nents]) != 0)
			return -1;
		nents++;
	}
	return 0;
}

static int
load_rfc(const char *leafp, const char *extrap, uint8_t **k1, uint8_t **k2)
{
	size_t ll, el;

	*k1 = slurp(leafp, &ll);
	*k2 = slurp(extrap, &el);
	if (*k1 == NULL || *k2 == NULL)
		return -1;
	if (leaf_decode_rfc6962(*k1, ll, *k2, el, &ents[nents]) != 0)
		return -1;
	ents[nents].index = nents;
	nents++;
	return 0;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	const char *dir = argc > 2 ? argv[2] : "tests/data/real";
	static const char *tiles[] = { "000", "001", "002", "003" };
	struct render_source src = { "https://navigli2025h2.skylight.geomys.org/",
	    "Geomys Navigli 2025h2", "Geomys", "static" };
	struct render_out ro;
	uint8_t *keep[8] = { 0 };
	char path[512], err[256];
	size_t i, ncert = 0, bytes = 0;
	unsigned long renders = 0, parses = 0;
	double t0, t_render, t_d2i, r_rate, d_rate;
	int rc = 1, round;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/static-ct/navigli2025h2/tile/data/%s",
		    dir, tiles[i]);
		if (load_tile(path, &keep[i]) != 0) {
			fprintf(stderr, "render_bench: cannot load %s\n", path);
			goto done;
		}
	}
	snprintf(path, sizeof(path), "%s/rfc6962/scrapectlog_x509_leaf_input.bin", dir);
	{
		char p2[512];

		snprintf(p2, sizeof(p2), "%s/rfc6962/scrapectlog_x509_extra_data.bin", dir);
		if (load_rfc(path, p2, &keep[4], &keep[5]) != 0) {
			fprintf(stderr, "render_bench: cannot load %s\n", path);
			goto done;
		}
	}
	for (i = 0; i < nents; i++)
		ncert += 1 + ents[i].nchain;

	render_out_init(&ro);
	/* warm up: caches, OpenSSL's lazy tables */
	for (i = 0; i < nents; i++)
		if (render_entry(&ents[i], &src, 1.0, &ro, err, sizeof(err)) != 0) {
			fprintf(stderr, "render_bench: entry %zu: %s\n", i, err);
			goto done;
		}
	/* alternate the two phases, best of ROUNDS each: the box is shared */
	r_rate = d_rate = 0;
	for (round = 0; round < ROUNDS; round++) {
		unsigned long nr = 0, np = 0;

		t0 = now();
		do {
			for (i = 0; i < nents; i++) {
				render_entry(&ents[i], &src, 1.0, &ro, err, sizeof(err));
				bytes += ro.len[RV_FULL] + ro.len[RV_LITE] + ro.len[RV_DOMAINS];
			}
			nr += nents;
		} while ((t_render = now() - t0) < secs / ROUNDS);
		renders += nr;
		if (nr / t_render > r_rate)
			r_rate = nr / t_render;

		t0 = now();
		do {
			for (i = 0; i < nents; i++) {
				size_t k;

				for (k = 0; k <= ents[i].nchain; k++) {
					const struct leaf_span *s = k == 0 ? &ents[i].cert :
					    &ents[i].chain[k - 1];
					const unsigned char *p = s->p;
					X509 *x = d2i_X509(NULL, &p, (long)s->len);

					if (x == NULL) {
						fprintf(stderr, "render_bench: d2i_X509 failed\n");
						goto done;
					}
					X509_free(x);
				}
			}
			np += nents;
		} while ((t_d2i = now() - t0) < secs / ROUNDS);
		parses += np;
		if (np / t_d2i > d_rate)
			d_rate = np / t_d2i;
	}
	printf("entries %zu\ncertificates %zu\n", nents, ncert);
	printf("render_per_sec %.0f\n", r_rate);
	printf("d2i_per_sec %.0f\n", d_rate);
	printf("render_cost_ratio %.2f\n", d_rate / r_rate);
	printf("render_us %.1f\nd2i_us %.1f\n", 1e6 / r_rate, 1e6 / d_rate);
	printf("json_bytes_per_entry %.0f\n", (double)bytes / renders);
	rc = 0;
	render_out_fini(&ro);
done:
	for (i = 0; i < 8; i++)
		free(keep[i]);
	return rc;
}
