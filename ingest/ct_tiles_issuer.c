/*
 * static-ct-api issuers: the chain certificates data tiles name by
 * fingerprint, fetched once each, checked against that fingerprint and
 * kept in the poller's cache.
 */
#include "ingest/ct_tiles_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "shm/atomics.h"

static void
on_issuer(void *arg, const struct fetch_res *res)
{
	struct ireq *r = arg;
	struct tiles *t = r->t;
	uint8_t fp[LEAF_FP_LEN], md[SHA256_DIGEST_LENGTH];
	uint8_t *der;
	char why[256];

	memcpy(fp, r->fp, sizeof(fp));
	memset(r, 0, sizeof(*r));
	if (!res->ok || res->status != 200) {
		if (res->too_large)
			snprintf(why, sizeof(why), "over %d bytes: not an issuer "
			    "certificate", ISSUER_MAX_BYTES);
		else
			ct_pace_describe(why, sizeof(why), res);
		ct_log_error(t->l, "issuer %02x%02x%02x%02x...: %s", fp[0], fp[1],
		    fp[2], fp[3], why);
		ct_pace_backoff(&t->pace, res);
		return;
	}
	SHA256((const uint8_t *)res->body, res->len, md);
	if (memcmp(md, fp, sizeof(md)) != 0) {
		ct_log_error(t->l, "issuer %02x%02x%02x%02x...: body does not hash "
		    "to its fingerprint", fp[0], fp[1], fp[2], fp[3]);
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	der = malloc(res->len ? res->len : 1);
	if (der == NULL) {
		ct_log_error(t->l, "out of memory");
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	memcpy(der, res->body, res->len);
	{
		size_t before = t->cache.n, after;

		after = issuer_cache_add(&t->cache, fp, der, res->len);
		/* relaxed: a statistic */
		if (after > before)
			shm_fetch_add(&ct_ingest_stats()->issuer_cache_size,
			    after - before, relaxed);
		else
			shm_fetch_sub(&ct_ingest_stats()->issuer_cache_size,
			    before - after, relaxed);
	}
	ct_pace_ok(&t->pace);
	ct_tiles_progress(t);
}

/* Ask for fp unless cached or asked. 0 when it is cached. */
int
ct_tiles_need_issuer(struct tiles *t, const uint8_t *fp)
{
	char url[CONFIG_STR + 96];
	size_t off;
	int i, slot = -1;

	if (issuer_cache_find(&t->cache, fp) != NULL)
		return 0;
	for (i = 0; i < CT_TILES_MAX_IREQ; i++) {
		if (t->ireq[i].used && memcmp(t->ireq[i].fp, fp, LEAF_FP_LEN) == 0)
			return 1;
		if (!t->ireq[i].used && slot < 0)
			slot = i;
	}
	if (slot < 0 || ct_pace_paused(&t->pace))
		return 1;  /* asked on a later pass */
	off = (size_t)snprintf(url, sizeof(url), "%sissuer/", t->l->info.url);
	for (i = 0; i < LEAF_FP_LEN && off + 3 < sizeof(url); i++)
		off += (size_t)snprintf(url + off, sizeof(url) - off, "%02x", fp[i]);
	t->ireq[slot].used = 1;
	t->ireq[slot].t = t;
	memcpy(t->ireq[slot].fp, fp, LEAF_FP_LEN);
	t->ireq[slot].req = fetch_get_small(ct_fetch(), url, ISSUER_MAX_BYTES,
	    on_issuer, &t->ireq[slot]);
	if (t->ireq[slot].req == NULL) {
		memset(&t->ireq[slot], 0, sizeof(t->ireq[slot]));
		ct_log_error(t->l, "cannot start a request");
		ct_pace_backoff(&t->pace, NULL);
	}
	return 1;
}

void
ct_tiles_issuer_halt(struct tiles *t)
{
	int i;

	for (i = 0; i < CT_TILES_MAX_IREQ; i++) {
		if (t->ireq[i].used) {
			fetch_cancel(t->ireq[i].req);
			memset(&t->ireq[i], 0, sizeof(t->ireq[i]));
		}
	}
}
