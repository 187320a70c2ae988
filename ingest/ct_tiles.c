/*
 * static-ct-api log poller: its life (start, poll, stop) and its tree
 * heads: checkpoints verified, then proven with the hash tiles.
 *
 * A real static log never stops growing: every checkpoint asked for is
 * bigger than the last, and its right-edge hash tiles differ. So a
 * checkpoint whose signature verifies becomes `latest` at once, and data
 * tiles are asked for from it straight away (ct_tiles_data.c). One
 * checkpoint at a time is proven (`pending`: its root from the hash tiles,
 * and that it extends the last proven tree; ct_tiles_hash.c); it stays the
 * target until proven however far the log moves meanwhile, then the newest
 * one is taken up. Tiles are published, in index order, once proven
 * against the last proven tree (`tree`).
 */
#include "ingest/ct_tiles_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "shm/atomics.h"

void
ct_tiles_path(uint64_t n, char *buf, size_t len)
{
	char tmp[64];
	size_t off = 0;
	int i, ngroups = 1;
	uint64_t x = n;
	unsigned g[8];

	while (x >= 1000 && ngroups < 8) {
		x /= 1000;
		ngroups++;
	}
	x = n;
	for (i = ngroups - 1; i >= 0; i--) {
		g[i] = (unsigned)(x % 1000);
		x /= 1000;
	}
	for (i = 0; i < ngroups; i++)
		off += (size_t)snprintf(tmp + off, sizeof(tmp) - off, "%s%03u%s",
		    i < ngroups - 1 ? "x" : "", g[i], i < ngroups - 1 ? "/" : "");
	snprintf(buf, len, "%s", tmp);
}

void
ct_tiles_halt(struct tiles *t)
{
	int i;

	fetch_cancel(t->cp_req);
	t->cp_req = NULL;
	for (i = 0; i < CT_TILES_MAX_WINDOWS; i++)
		if (t->win[i].used)
			ct_tiles_win_clear(&t->win[i]);
	ct_tiles_issuer_halt(t);
	ct_tiles_hash_halt(t);
	ct_pace_halt(&t->pace);
}

/* Prove the pending tree head; once proven it is the tree tiles are
 * checked against, and the newest head is proven next if tiles beyond
 * the tree are wanted. 0, or -1 (the log failed). */
static int
adopt(struct tiles *t)
{
	struct ct_log *l = t->l;
	int rc;

	for (;;) {
		if (!t->have_pending) {
			/* the first head is proven at once: it sets the
			 * resume point; later ones when tiles need them */
			if (!t->have_latest || (t->have_tree &&
			    (t->latest.size <= t->tree.size ||
			    t->fetch_next <= t->tree.size)))
				return 0;
			t->pending = t->latest;
			t->have_pending = 1;
		}
		if ((rc = ct_tiles_successor(t, &t->pending)) < 0)
			return -1;
		if (rc == 0)
			return 0;
		t->tree = t->pending;
		t->have_tree = 1;
		t->have_pending = 0;
		ct_log_verified(l, t->tree.size, t->tree.root);
		if (!l->have_next) {
			ct_log_first_head(l, t->tree.size);
			t->fetch_next = l->next;
		}
		/* tiles below a skip are passed as they drain */
		if (ct_log_catchup(l, t->tree.size) && t->fetch_next < l->next)
			t->fetch_next = l->next;
	}
}

void
ct_tiles_progress(struct tiles *t)
{
	if (t->l->failed)
		return;
	if (adopt(t) < 0) {
		ct_tiles_halt(t);
		return;
	}
	ct_tiles_drain(t);
	if (t->l->failed)
		return;
	ct_tiles_fill(t);
	/* tiles just asked for may want the newest head proven */
	if (adopt(t) < 0) {
		ct_tiles_halt(t);
		return;
	}
	ct_log_ok(t->l, t->latest.size);
}

/* A checkpoint older than one already seen: a stale cache in front of
 * the log, not a lie (both are signed), unless nothing newer comes for a
 * long while. */
static void
stale(struct tiles *t, const struct checkpoint *cp)
{
	int64_t now = clock_mono_ms();
	int64_t grace = 2000LL * ct_config()->ct_log.request_timeout_secs;

	if (t->stale_since == 0)
		t->stale_since = now;
	if (now - t->stale_since >= grace)
		ct_log_error(t->l, "checkpoint of tree %" PRIu64 " served for %lld s"
		    " after one of tree %" PRIu64, cp->size,
		    (long long)(now - t->stale_since) / 1000, t->latest.size);
}

static void
on_checkpoint(void *arg, const struct fetch_res *res)
{
	struct tiles *t = arg;
	struct ct_log *l = t->l;
	struct checkpoint cp;
	uint8_t md[SHA256_DIGEST_LENGTH];
	char why[256];

	t->cp_req = NULL;
	ct_pace_poll_later(&t->pace);
	if (!res->ok || res->status != 200) {
		ct_pace_describe(why, sizeof(why), res);
		ct_log_error(l, "checkpoint: %s", why);
		ct_pace_backoff(&t->pace, res);
		return;
	}
	SHA256((const uint8_t *)res->body, res->len, md);
	if (t->have_latest && memcmp(md, t->last_note, sizeof(md)) == 0) {
		/* the very note verified last time: nothing new */
		ct_tiles_progress(t);
		return;
	}
	if (l->has_key) {
		if (checkpoint_verify(res->body, res->len, &l->key,
		    l->info.origin, &cp, why, sizeof(why)) < 0) {
			/* A body that is not a note at all may be a damaged
			 * response; a note that does not verify is a lie. */
			if (strstr(why, "signature") != NULL ||
			    strstr(why, "origin") != NULL) {
				ct_log_fail(l, 1, "%s", why);
				ct_tiles_halt(t);
				return;
			}
			ct_log_error(l, "%s", why);
			ct_pace_backoff(&t->pace, NULL);
			return;
		}
	} else if (checkpoint_parse(res->body, res->len, &cp, why,
	    sizeof(why)) < 0) {
		ct_log_error(l, "%s", why);
		ct_pace_backoff(&t->pace, NULL);
		return;
	}
	if (t->have_latest && cp.size == t->latest.size &&
	    memcmp(cp.root_hash, t->latest.root, STH_HASH_LEN) != 0) {
		ct_log_fail(l, 0, "fork: two checkpoints of tree %" PRIu64
		    " with different roots", cp.size);
		ct_tiles_halt(t);
		return;
	}
	if (t->have_latest && cp.size < t->latest.size) {
		stale(t, &cp);
		ct_tiles_progress(t);
		return;
	}
	t->stale_since = 0;
	if (l->have_next && cp.size < l->next) {
		ct_log_fail(l, 0, "tree size %" PRIu64 " is below the %" PRIu64
		    " entries already streamed", cp.size, l->next);
		ct_tiles_halt(t);
		return;
	}
	if (!t->have_latest ||
	    cp.size / CT_TILE_WIDTH > t->latest.size / CT_TILE_WIDTH)
		t->tile_done_at = clock_mono_ms();
	t->latest.size = cp.size;
	memcpy(t->latest.root, cp.root_hash, STH_HASH_LEN);
	t->have_latest = 1;
	memcpy(t->last_note, md, sizeof(md));
	ct_tiles_progress(t);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct tiles *t = arg;
	char url[CONFIG_STR + 32];

	(void)fd;
	(void)what;
	if (t->l->failed || t->cp_req != NULL)
		return;
	if (ct_pace_paused(&t->pace)) {
		ct_pace_poll_later(&t->pace);
		return;
	}
	snprintf(url, sizeof(url), "%scheckpoint", t->l->info.url);
	t->cp_req = fetch_get(ct_fetch(), url, on_checkpoint, t);
	if (t->cp_req == NULL) {
		ct_log_error(t->l, "cannot start a request");
		ct_pace_backoff(&t->pace, NULL);
		ct_pace_poll_later(&t->pace);
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct tiles *t = arg;

	(void)fd;
	(void)what;
	if (ct_pace_retry_later(&t->pace))
		return;
	ct_tiles_progress(t);
}

int
ct_tiles_start(struct ct_log *l)
{
	struct tiles *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		log_warn("%s: calloc", __func__);
		return -1;
	}
	t->l = l;
	t->tile_done_at = clock_mono_ms();
	if (ct_pace_init(&t->pace, ct_base(), on_poll, on_retry, t) < 0) {
		free(t);
		return -1;
	}
	if (ct_pace_join(&t->pace, l->info.operator_name) < 0) {
		ct_pace_fini(&t->pace);
		free(t);
		return -1;
	}
	l->poller = t;
	return 0;
}

void
ct_tiles_stop(struct ct_log *l)
{
	struct tiles *t = l->poller;

	if (t == NULL)
		return;
	ct_tiles_halt(t);
	ct_pace_fini(&t->pace);
	/* relaxed: a statistic */
	shm_fetch_sub(&ct_ingest_stats()->issuer_cache_size, t->cache.n,
	    relaxed);
	issuer_cache_free(&t->cache);
	ct_tiles_hash_free(t);
	ct_tiles_edge_free(t);
	free(t);
	l->poller = NULL;
}
