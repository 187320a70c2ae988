/*
 * The ingest pipeline: how one CT entry becomes one ring record. Each step
 * runs once per entry, and an entry that another log streamed already
 * stops as early as the hash that tells so:
 *
 *   1. fetch, verify, decode: the pollers (ct_rfc6962.c, ct_tiles.c) turn
 *      a response into entries (leaf.c: spans over the bytes, no copy),
 *      hash each leaf once and bind it to a verified tree head;
 *   2. hash: the certificate's SHA-256, once (here);
 *   3. dedup: that hash against every log's recent certificates
 *      (shm/dedup.c); a copy ends here, before any rendering;
 *   4. render: the three forms (ingest/render/), given the same SHA-256
 *      for the certificate's "sha256";
 *   5. publish: one ring record saying which log and index it holds
 *      (publish() below: the one place a record is built; it and the
 *      records replay and a NATS edge bring go into the ring through
 *      pipeline_publish_rec, the ingest's one call of ring_publish_rec);
 *   6. resume point: the poller's ct_publish (ct.c) then advances the
 *      log's next index, so a successor resumes after the last record.
 */
#include "ingest/pipeline.h"
#include "ingest/unique.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "shm/atomics.h"

/* One per process: the ingest runs one CT source. */
static pipeline_sink_fn *sink;
static unsigned sink_flags;

void
pipeline_set_sink(pipeline_sink_fn *fn, unsigned flags)
{
	sink = fn;
	sink_flags = fn != NULL ? flags : 0;
}

pipeline_sink_fn *
pipeline_sink(void)
{
	return sink;
}

int
pipeline_init(struct pipeline *p, struct ring_writer *w)
{
	memset(p, 0, sizeof(*p));
	p->w = w;
	render_out_init(&p->out);
	/* fetched once: EVP_sha256() would look the provider up every call */
	if ((p->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return -1;
	return 0;
}

void
pipeline_fini(struct pipeline *p)
{
	render_out_fini(&p->out);
	EVP_MD_free(p->sha256);
	p->sha256 = NULL;
}

/* Step 5: the rendered forms to one ring record. */
static enum pipe_result
publish(struct pipeline *p, uint16_t log, const struct leaf_entry *e,
    int64_t seen_us, int dup, char *err, size_t errlen)
{
	struct ring_rec rec;
	int v;

	memset(&p->rec, 0, sizeof(p->rec));
	memset(&rec, 0, sizeof(rec));
	for (v = 0; v < RV_COUNT; v++) {
		rec.json[v].iov_base = p->out.json[v];
		rec.json[v].iov_len = p->out.len[v];
	}
	rec.facts.iov_base = (void *)(uintptr_t)p->out.facts;
	rec.facts.iov_len = p->out.facts_len;
	rec.seen_us = seen_us;
	rec.index = e->index;
	rec.log = log;
	/* The second of a precertificate/certificate pair: ?unique=1 skips it. */
	if (!dup && p->unique != NULL && unique_second(p->unique, p->out.json[RV_LITE],
	    p->out.len[RV_LITE], seen_us / 1000000))
		rec.flags = RING_F_PAIRED;
	p->rec = rec;
	if (dup) {
		p->have_rec = 1;
		return PIPE_DUPLICATE;
	}
	if (pipeline_publish_rec(p->w, &rec, err, errlen) != PIPE_PUBLISHED)
		return PIPE_TOO_BIG;
	p->have_rec = 1;
	return PIPE_PUBLISHED;
}

enum pipe_result
pipeline_publish_rec(struct ring_writer *w, const struct ring_rec *r,
    char *err, size_t errlen)
{
	if (ring_publish_rec(w, r) == UINT64_MAX) {
		snprintf(err, errlen, "record of %zu bytes does not fit the ring",
		    r->json[RV_FULL].iov_len);
		return PIPE_TOO_BIG;
	}
	return PIPE_PUBLISHED;
}

enum pipe_result
pipeline_entry(struct pipeline *p, const struct render_source *src,
    uint16_t log, const struct leaf_entry *e, int64_t seen_us, char *err,
    size_t errlen)
{
	struct leaf_entry le = *e;
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned int hl;
	int64_t now = seen_us / 1000000;
	int dup = 0;

	p->have_rec = 0;
	if (sink_flags & PIPE_SINK_PASSED_FIRST)
		/* relaxed: read by a successor ingest, after this one is gone */
		shm_store(&p->w->seg->logs[log].passed, e->index + 1, relaxed);
	/* 2. hash */
	if (!EVP_Digest(e->cert.p, e->cert.len, h, &hl, p->sha256, NULL)) {
		snprintf(err, errlen, "certificate digest failed");
		return PIPE_BAD;
	}
	memcpy(p->sha, h, sizeof(p->sha));
	/* 3. dedup: asked first, remembered only once the certificate has
	 * rendered (see dedup_seen) */
	if (p->dedup != NULL && dedup_seen(p->dedup, h, now)) {
		if (!p->render_dups)
			return PIPE_DUPLICATE;
		dup = 1;
	}
	/* 4. render */
	le.cert_sha256 = h;
	if (render_entry(&le, src, (double)seen_us / 1e6, &p->out, err,
	    errlen) < 0)
		return PIPE_BAD;
	if (p->dedup != NULL && !dup)
		(void)dedup_check(p->dedup, h, now);
	/* 5. publish */
	return publish(p, log, e, seen_us, dup, err, errlen);
}
