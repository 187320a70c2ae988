/* Regex shards: a few dozen regexes in one Hyperscan database
 * (filter_shard.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast/filter_shard.h"

static void
shard_free(struct filter_shard *s)
{
	hs_free_database(s->db);
	free(s->re);
	free(s->len);
	free(s->arena);
	free(s);
}

struct filter_shard *
filter_shard_new(const char *const *re, const size_t *len, unsigned n,
    struct filter_err *err)
{
	struct filter_shard *s = calloc(1, sizeof(*s));
	unsigned *flags = NULL, *ids = NULL, i;
	hs_compile_error_t *ce = NULL;
	size_t bytes = 0;
	char *at;

	err->status = 503;
	snprintf(err->param, sizeof(err->param), "filter");
	snprintf(err->reason, sizeof(err->reason), "out of memory");
	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		bytes += len[i] + 1;
	if ((s->re = calloc(n + 1, sizeof(*s->re))) == NULL ||
	    (s->len = calloc(n + 1, sizeof(*s->len))) == NULL ||
	    (s->arena = malloc(bytes + 1)) == NULL ||
	    (flags = calloc(n + 1, sizeof(*flags))) == NULL ||
	    (ids = calloc(n + 1, sizeof(*ids))) == NULL)
		goto fail;
	for (at = s->arena, i = 0; i < n; i++) {
		memcpy(at, re[i], len[i]);
		at[len[i]] = '\0';
		s->re[i] = at;
		s->len[i] = len[i];
		at += len[i] + 1;
		flags[i] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH |
		    HS_FLAG_ALLOWEMPTY;
		ids[i] = i;
	}
	s->n = n;
	if (hs_compile_multi(s->re, flags, ids, n, HS_MODE_BLOCK, NULL,
	    &s->db, &ce) != HS_SUCCESS) {
		int bad = ce != NULL && ce->expression >= 0 &&
		    (unsigned)ce->expression < n;

		/* an error naming no pattern is the compiler's (resources) */
		err->status = bad ? 400 : 503;
		snprintf(err->param, sizeof(err->param), "%s",
		    bad ? "regex" : "filter");
		snprintf(err->reason, sizeof(err->reason), "%s%s",
		    bad ? "pattern refused: " : "cannot compile the filters: ",
		    ce != NULL ? ce->message : "unknown error");
		hs_free_compile_error(ce);
		s->db = NULL;
		goto fail;
	}
	shm_store(&s->refs, 1, relaxed);        /* not shared yet */
	free(flags);
	free(ids);
	return s;
fail:
	free(flags);
	free(ids);
	shard_free(s);
	return NULL;
}

struct filter_shard *
filter_shard_ref(struct filter_shard *s)
{
	shm_fetch_add(&s->refs, 1, relaxed);    /* the caller holds one */
	return s;
}

void
filter_shard_unref(struct filter_shard *s)
{
	/* acq_rel: the last one out sees every other holder's use before
	 * it frees */
	if (s != NULL && shm_fetch_sub(&s->refs, 1, acq_rel) == 1)
		shard_free(s);
}
