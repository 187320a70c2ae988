/* Filter groups of a worker and matching records against all of them at
 * once (see filter_match.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast/filter_db.h"
#include "broadcast/filter_match.h"
#include "shm/atomics.h"
#include "shm/facts.h"
#include "shm/ring.h"

/* Records whose results are kept, by seq: as many as CACHE_BYTES of
 * result bits hold, within these bounds. A client behind the others
 * (seconds, under load) must find its records' results still there, or
 * the worker would match each record again for each such client. */
#define CACHE_BYTES (8u << 20)
#define CACHE_MIN 1024
#define CACHE_MAX 65536
#define REBUILD_MS 1000         /* merged matcher rebuilt at most this often */
#define REBUILD_YOUNG 32        /* ... or sooner past this many young groups */
#define REBUILD_SOON_MS 100
#define DEAD_MS 10000           /* a group without clients kept this long */
#define DEAD_MAX 4096           /* ... and at most this many such groups */

struct filter_group {
	struct filter_spec spec;
	unsigned long hash;
	unsigned slot;
	unsigned refs;
	struct filter_group *hnext;
	struct filter_db *own;         /* until merged */
	struct filter_group *ynext;     /* young list */
	uint64_t build;                 /* the rebuild that took it in */
	uint64_t mepoch;                /* the merged matcher's epoch then:
	                                 * cached rows older lack it */
	/* refs == 0: dead, kept a while (a client that reconnects with the
	 * same filter finds it compiled), on the dead list, oldest first */
	struct filter_group *dprev, *dnext;
	uint32_t died_at;
	/* a young group's last answer (its clients share it) */
	uint64_t last_seq;
	int last;                       /* -2: none */
};

/* A rebuild of the merged matcher, compiled off the event loop (a
 * Hyperscan compile of thousands of patterns takes seconds). */
struct fm_job {
	pthread_t th;
	struct filter_db_term *t;        /* with strings of its own in buf */
	char *buf;
	unsigned nt, nslot;
	uint64_t *refs;         /* slots of the groups taken in */
	uint64_t id;
	struct filter_shard **reuse;    /* shards it may keep, referenced */
	unsigned nreuse;
	struct filter_db *out;
	struct filter_err err;
	_Atomic int done;
};

/* A compaction: regexes of small or mostly dead shards compiled into
 * full ones, on a thread of its own beside the rebuilds (seconds of
 * compiling must not hold up the merging of new groups). The next rebuild
 * takes the new shards and drops the old. */
struct fm_cjob {
	pthread_t th;
	const char **re;        /* copies, in buf */
	size_t *len;
	char *buf;
	unsigned n;
	struct filter_shard **out;
	unsigned nout;
	_Atomic int done;
};

#define COMPACT_MAX 4096        /* regexes one compaction compiles */

#define HBUCKETS 4096

struct filter_reg {
	struct filter_group **slot;     /* by slot; NULL: free, unless a
	                                 * matcher still names it */
	unsigned nslot, ngroups;
	struct filter_group *hash[HBUCKETS];
	struct filter_group *dead, *dead_last;
	unsigned ndead;
	unsigned long dead_terms;
	uint32_t now;                   /* as of the last tick */
	struct filter_group *young;
	unsigned nyoung;
	unsigned long terms;
	struct filter_db *merged;
	int dirty;                      /* groups came or went since merged */
	uint32_t built_at;
	struct fm_job *job;             /* a rebuild in flight */
	struct fm_cjob *cjob;           /* a compaction in flight */
	struct filter_shard **fresh;    /* compacted, for the next rebuild */
	unsigned nfresh;
	uint64_t builds;
	uint64_t epoch;                 /* bumped when the merged matcher
	                                 * changes */
	/* Per record scratch: kinds hit per slot, slots touched. */
	struct filter_db_hits h;
	/* Result cache. */
	struct crow {
		uint64_t tag;           /* seq + 1; 0: empty */
		uint64_t epoch;         /* of the matcher that computed it */
	} *crow;
	uint64_t *cbits;                /* rows of words */
	unsigned words, rows;           /* rows: a power of two */
	/* During one match */
	struct filter_db *cur;
};

static struct filter_db_term *
tuples_of(struct filter_group *const *g, unsigned n, unsigned *nt)
{
	struct filter_db_term *t;
	unsigned i, k, c = 0;

	for (i = 0; i < n; i++)
		c += g[i]->spec.n;
	if ((t = calloc(c + 1, sizeof(*t))) == NULL)
		return NULL;
	for (c = 0, i = 0; i < n; i++) {
		for (k = 0; k < g[i]->spec.n; k++) {
			t[c].kind = g[i]->spec.t[k].kind;
			t[c].s = g[i]->spec.t[k].s;
			t[c].len = g[i]->spec.t[k].len;
			t[c++].group = g[i]->slot;
		}
	}
	*nt = c;
	return t;
}

/* The small matcher of groups g[0..n) (one new group). NULL with err. */
static struct filter_db *
matcher_new(struct filter_group *const *g, unsigned n, unsigned nslot,
    struct filter_err *err)
{
	struct filter_db *m;
	struct filter_db_term *t;
	unsigned nt;

	if ((t = tuples_of(g, n, &nt)) == NULL) {
		err->status = 503;
		snprintf(err->param, sizeof(err->param), "filter");
		snprintf(err->reason, sizeof(err->reason), "out of memory");
		return NULL;
	}
	m = filter_db_build(t, nt, nslot, 1, NULL, 0, err);
	free(t);
	return m;
}

/* ---- the registry ---- */

static void
job_free(struct fm_job *j)
{
	if (j == NULL)
		return;
	filter_db_free(j->out);
	for (unsigned i = 0; i < j->nreuse; i++)
		filter_shard_unref(j->reuse[i]);
	free(j->reuse);
	free(j->refs);
	free(j->t);
	free(j->buf);
	free(j);
}

static void *
job_run(void *arg)
{
	struct fm_job *j = arg;

	j->out = filter_db_build(j->t, j->nt, j->nslot, 0, j->reuse,
	    j->nreuse, &j->err);
	/* release: pairs with the acquire load in filter_reg_tick, so the
	 * loop sees the whole matcher once it sees done */
	shm_store(&j->done, 1, release);
	return NULL;
}

static void
cjob_free(struct fm_cjob *j)
{
	if (j == NULL)
		return;
	for (unsigned i = 0; i < j->nout; i++)
		filter_shard_unref(j->out[i]);
	free(j->out);
	free(j->re);
	free(j->len);
	free(j->buf);
	free(j);
}

static void *
cjob_run(void *arg)
{
	struct fm_cjob *j = arg;
	struct filter_err err;

	for (unsigned i = 0; i < j->n; i += FILTER_SHARD_MAX) {
		unsigned n = j->n - i < FILTER_SHARD_MAX ? j->n - i :
		    FILTER_SHARD_MAX;

		/* each compiled alone before: a failure here is the
		 * compiler's resources; those regexes keep their shards */
		if ((j->out[j->nout] = filter_shard_new(j->re + i, j->len + i, n,
		    &err)) != NULL)
			j->nout++;
	}
	/* release: pairs with the acquire load in filter_reg_tick */
	shm_store(&j->done, 1, release);
	return NULL;
}

/* Start a compaction of the merged matcher's worn shards, if any. */
static void
cjob_start(struct filter_reg *r)
{
	struct fm_cjob *j;
	unsigned n, i;
	size_t bytes = 0;
	char *at;

	if (r->merged == NULL || (n = filter_db_compactable(r->merged, NULL,
	    NULL, COMPACT_MAX)) == 0)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->re = calloc(n, sizeof(*j->re))) == NULL ||
	    (j->len = calloc(n, sizeof(*j->len))) == NULL ||
	    (j->out = calloc(n / FILTER_SHARD_MAX + 1, sizeof(*j->out))) ==
	    NULL)
		goto fail;
	j->n = filter_db_compactable(r->merged, j->re, j->len, COMPACT_MAX);
	for (i = 0; i < j->n; i++)
		bytes += j->len[i] + 1;
	if ((j->buf = malloc(bytes + 1)) == NULL)
		goto fail;
	for (at = j->buf, i = 0; i < j->n; i++) {
		memcpy(at, j->re[i], j->len[i]);
		at[j->len[i]] = '\0';
		j->re[i] = at;
		at += j->len[i] + 1;
	}
	if (pthread_create(&j->th, NULL, cjob_run, j) != 0)
		goto fail;
	r->cjob = j;
	return;
fail:
	cjob_free(j);
}

/* The compaction is done: its shards wait for the next rebuild. */
static void
cjob_finish(struct filter_reg *r)
{
	struct fm_cjob *j = r->cjob;
	struct filter_shard **f;

	pthread_join(j->th, NULL);
	r->cjob = NULL;
	if (j->nout > 0 && (f = realloc(r->fresh, (r->nfresh + j->nout) *
	    sizeof(*f))) != NULL) {
		r->fresh = f;
		memcpy(f + r->nfresh, j->out, j->nout * sizeof(*f));
		r->nfresh += j->nout;
		j->nout = 0;
		r->dirty = 1;
	}
	cjob_free(j);
}

struct filter_reg *
filter_reg_new(void)
{
	return calloc(1, sizeof(struct filter_reg));
}

void
filter_reg_free(struct filter_reg *r)
{
	if (r == NULL)
		return;
	if (r->job != NULL) {
		pthread_join(r->job->th, NULL);
		job_free(r->job);
	}
	if (r->cjob != NULL) {
		pthread_join(r->cjob->th, NULL);
		cjob_free(r->cjob);
	}
	for (unsigned i = 0; i < r->nfresh; i++)
		filter_shard_unref(r->fresh[i]);
	free(r->fresh);
	for (unsigned i = 0; i < r->nslot; i++) {
		struct filter_group *g = r->slot[i];

		if (g != NULL) {
			filter_spec_fini(&g->spec);
			filter_db_free(g->own);
			free(g);
		}
	}
	filter_db_free(r->merged);
	hs_free_scratch(r->h.scratch);
	free(r->slot);
	free(r->h.hit);
	free(r->h.touched);
	free(r->cbits);
	free(r->crow);
	free(r);
}

unsigned
filter_reg_groups(const struct filter_reg *r)
{
	return r->ngroups;
}

unsigned long
filter_reg_terms(const struct filter_reg *r)
{
	return r->terms;
}

unsigned
filter_reg_young(const struct filter_reg *r)
{
	return r->nyoung;
}

/* A free slot that no matcher names (the merged one, or one being
 * built, may have targets for a group since freed), the per-slot arrays
 * grown with the slots. */
static int
slot_take(struct filter_reg *r, unsigned *out)
{
	unsigned i, nn, words;

	for (i = 0; i < r->nslot; i++) {
		if (r->slot[i] == NULL && !filter_db_names(r->merged, i) &&
		    !(r->job != NULL && i < r->job->nslot &&
		    ((r->job->refs[i / 64] >> (i % 64)) & 1))) {
			*out = i;
			return 0;
		}
	}
	nn = r->nslot ? r->nslot * 2 : 64;
	{
		struct filter_group **s = realloc(r->slot, nn * sizeof(*s));
		uint8_t *h;
		unsigned *tc;

		if (s == NULL)
			return -1;
		r->slot = s;
		if ((h = realloc(r->h.hit, nn)) == NULL)
			return -1;
		r->h.hit = h;
		if ((tc = realloc(r->h.touched, nn * sizeof(*tc))) == NULL)
			return -1;
		r->h.touched = tc;
		memset(r->slot + r->nslot, 0, (nn - r->nslot) * sizeof(*s));
		memset(r->h.hit + r->nslot, 0, nn - r->nslot);
	}
	words = (nn + 63) / 64;
	{
		unsigned rows = CACHE_MAX;
		uint64_t *cb;
		struct crow *cr;

		while (rows > CACHE_MIN &&
		    (size_t)rows * words * sizeof(*cb) > CACHE_BYTES)
			rows /= 2;
		if ((cb = calloc((size_t)rows * words, sizeof(*cb))) == NULL)
			return -1;
		if ((cr = calloc(rows, sizeof(*cr))) == NULL) {
			free(cb);
			return -1;
		}
		free(r->cbits);
		free(r->crow);
		r->cbits = cb;
		r->crow = cr;
		r->words = words;
		r->rows = rows;
	}
	*out = r->nslot;
	r->nslot = nn;
	return 0;
}
/* Free g for good (no client; off the dead list already). Its slot stays
 * taken while a matcher names it (slot_take). */
static void
group_free(struct filter_reg *r, struct filter_group *g)
{
	struct filter_group **pp;

	for (pp = &r->hash[g->hash % HBUCKETS]; *pp != g; pp = &(*pp)->hnext)
		;
	*pp = g->hnext;
	if (g->own != NULL) {
		for (pp = &r->young; *pp != g; pp = &(*pp)->ynext)
			;
		*pp = g->ynext;
		r->nyoung--;
	}
	r->slot[g->slot] = NULL;
	r->dirty = 1;
	filter_spec_fini(&g->spec);
	filter_db_free(g->own);
	free(g);
}

static void
dead_unlink(struct filter_reg *r, struct filter_group *g)
{
	if (g->dprev != NULL)
		g->dprev->dnext = g->dnext;
	else
		r->dead = g->dnext;
	if (g->dnext != NULL)
		g->dnext->dprev = g->dprev;
	else
		r->dead_last = g->dprev;
	g->dprev = g->dnext = NULL;
	r->ndead--;
	r->dead_terms -= g->spec.n;
}

/* Free the oldest dead group. 0, or -1 if there is none. */
static int
dead_purge_one(struct filter_reg *r)
{
	struct filter_group *g = r->dead;

	if (g == NULL)
		return -1;
	dead_unlink(r, g);
	group_free(r, g);
	return 0;
}

struct filter_group *
filter_group_get(struct filter_reg *r, struct filter_spec *spec,
    unsigned max_patterns, struct filter_err *err)
{
	unsigned long h = filter_spec_hash(spec);
	struct filter_group *g;

	for (g = r->hash[h % HBUCKETS]; g != NULL; g = g->hnext) {
		if (g->hash == h && filter_spec_equal(&g->spec, spec)) {
			if (g->refs == 0) {     /* revived: already compiled */
				if (r->terms + g->spec.n > max_patterns)
					break;
				dead_unlink(r, g);
				r->ngroups++;
				r->terms += g->spec.n;
			}
			g->refs++;
			filter_spec_fini(spec);
			return g;
		}
	}
	/* dead groups make room for live ones */
	while (r->terms + r->dead_terms + spec->n > max_patterns &&
	    dead_purge_one(r) == 0)
		;
	if (r->terms + spec->n > max_patterns) {
		err->status = 503;
		snprintf(err->param, sizeof(err->param), "filter");
		snprintf(err->reason, sizeof(err->reason), "this server holds "
		    "as many filter terms as it may (filters.max_patterns); "
		    "try again later or share a filter");
		return NULL;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL || slot_take(r, &g->slot) == -1) {
		free(g);
		err->status = 503;
		snprintf(err->param, sizeof(err->param), "filter");
		snprintf(err->reason, sizeof(err->reason), "out of memory");
		return NULL;
	}
	g->spec = *spec;
	if ((g->own = matcher_new(&g, 1, r->nslot, err)) == NULL ||
	    filter_db_scratch(g->own, &r->h.scratch) == -1) {
		if (g->own != NULL) {
			err->status = 503;
			snprintf(err->param, sizeof(err->param), "filter");
			snprintf(err->reason, sizeof(err->reason),
			    "out of memory");
		}
		filter_db_free(g->own);
		free(g);    /* spec stays the caller's */
		return NULL;
	}
	memset(spec, 0, sizeof(*spec));
	g->hash = h;
	g->refs = 1;
	g->last = -2;
	g->hnext = r->hash[h % HBUCKETS];
	r->hash[h % HBUCKETS] = g;
	g->ynext = r->young;
	r->young = g;
	r->nyoung++;
	r->slot[g->slot] = g;
	r->ngroups++;
	r->terms += g->spec.n;
	r->dirty = 1;
	return g;
}

void
filter_group_put(struct filter_reg *r, struct filter_group *g)
{
	if (g == NULL || --g->refs > 0)
		return;
	r->ngroups--;
	r->terms -= g->spec.n;
	/* kept, still matched, until DEAD_MS pass (filter_reg_tick) */
	g->died_at = r->now;
	g->dprev = r->dead_last;
	g->dnext = NULL;
	if (r->dead_last != NULL)
		r->dead_last->dnext = g;
	else
		r->dead = g;
	r->dead_last = g;
	r->ndead++;
	r->dead_terms += g->spec.n;
	if (r->ndead > DEAD_MAX)
		(void)dead_purge_one(r);
}

/* Match v against the merged matcher: r->h.hit/touched, then the result
 * bits. Young groups are not in it: each answers for itself
 * (young_wants), so a new group costs the others nothing. */
static void
match_all(struct filter_reg *r, const struct facts_view *v, uint64_t *bits)
{
	struct filter_group *g;

	r->h.ntouched = 0;
	if (r->merged != NULL)
		filter_db_run(&r->h, r->merged, v);
	memset(bits, 0, r->words * sizeof(*bits));
	for (unsigned i = 0; i < r->h.ntouched; i++) {
		unsigned s = r->h.touched[i];

		g = r->slot[s];
		if (g != NULL && g->own == NULL && r->h.hit[s] == g->spec.kinds)
			bits[s / 64] |= 1ULL << (s % 64);
		r->h.hit[s] = 0;
	}
}

/* Does young group g (matched by its own matcher) want record seq? */
static int
young_wants(struct filter_reg *r, struct filter_group *g,
    const struct shm_seg *seg, uint64_t seq)
{
	struct ring_meta m;
	struct facts_view v;
	int yes = 0;

	if (g->last != -2 && g->last_seq == seq)
		return g->last;
	if (ring_peek_meta(seg, seq, &m) == -1)
		return -1;
	if (facts_decode(m.facts.iov_base, m.facts.iov_len, &v) == 0) {
		r->h.ntouched = 0;
		filter_db_run(&r->h, g->own, &v);
		yes = r->h.hit[g->slot] == g->spec.kinds;
		for (unsigned i = 0; i < r->h.ntouched; i++)
			r->h.hit[r->h.touched[i]] = 0;
	}
	if (!ring_still_valid(seg, seq))
		return -1;
	g->last_seq = seq;
	g->last = yes;
	return yes;
}

int
filter_wants(struct filter_reg *r, struct filter_group *g,
    const struct shm_seg *seg, uint64_t seq)
{
	unsigned c = (unsigned)(seq & (r->rows - 1));
	uint64_t *bits = r->cbits + (size_t)c * r->words;
	struct ring_meta m;
	struct facts_view v;

	if (g->own != NULL)
		return young_wants(r, g, seg, seq);
	if (r->crow[c].tag == seq + 1 && r->crow[c].epoch >= g->mepoch)
		return (bits[g->slot / 64] >> (g->slot % 64)) & 1;
	if (ring_peek_meta(seg, seq, &m) == -1)
		return -1;
	if (facts_decode(m.facts.iov_base, m.facts.iov_len, &v) == 0)
		match_all(r, &v, bits);
	else
		memset(bits, 0, r->words * sizeof(*bits));
	/* Read from bytes the writer may have reused meanwhile? */
	if (!ring_still_valid(seg, seq)) {
		r->crow[c].tag = 0;
		return -1;
	}
	r->crow[c].tag = seq + 1;
	r->crow[c].epoch = r->epoch;
	return (bits[g->slot / 64] >> (g->slot % 64)) & 1;
}

void
filter_skip(struct filter_reg *r, struct filter_group *g,
    const struct shm_seg *seg, uint64_t *cursor, uint64_t head)
{
	int f;

	/* an id the source skipped is not the filter's: the client is told */
	while (*cursor < head && ((f = ring_flags(seg, *cursor)) <= 0 ||
	    !(f & RING_F_GAP)) && filter_wants(r, g, seg, *cursor) == 0)
		(*cursor)++;
}

int
filter_match_facts(struct filter_reg *r, struct filter_group *g,
    const void *facts, size_t len)
{
	struct facts_view v;
	struct filter_db *m = g->own != NULL ? g->own : r->merged;
	int yes;

	if (facts_decode(facts, len, &v) == -1)
		return -1;
	r->h.ntouched = 0;
	filter_db_run(&r->h, m, &v);
	yes = r->h.hit[g->slot] == g->spec.kinds;
	for (unsigned i = 0; i < r->h.ntouched; i++)
		r->h.hit[r->h.touched[i]] = 0;
	return yes;
}

/* Snapshot the live groups into a job (strings copied) and start its
 * thread. 0, or -1 (nothing started). */
static int
job_start(struct filter_reg *r)
{
	struct filter_group **list, *g;
	struct fm_job *j;
	unsigned n = 0, i;
	size_t bytes = 0;
	char *at;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	if ((list = calloc(r->ngroups + r->ndead + 1, sizeof(*list))) == NULL)
		goto fail;
	for (i = 0; i < r->nslot; i++)
		if (r->slot[i] != NULL)
			list[n++] = r->slot[i];
	j->t = tuples_of(list, n, &j->nt);
	free(list);
	if (j->t == NULL)
		goto fail;
	for (i = 0; i < j->nt; i++)
		bytes += j->t[i].len + 1;
	j->nslot = r->nslot;
	if ((j->buf = malloc(bytes + 1)) == NULL ||
	    (j->refs = calloc(j->nslot / 64 + 1, sizeof(*j->refs))) == NULL)
		goto fail;
	for (at = j->buf, i = 0; i < j->nt; i++) {
		memcpy(at, j->t[i].s, j->t[i].len);
		j->t[i].s = at;
		at += j->t[i].len + 1;
		j->refs[j->t[i].group / 64] |= 1ULL << (j->t[i].group % 64);
	}
	/* the regex shards compiled already: compacted ones, the merged
	 * matcher's, and the young groups' own */
	n = (r->merged != NULL ? r->merged->nsh : 0) + r->nfresh;
	for (g = r->young; g != NULL; g = g->ynext)
		n += g->own->nsh;
	if ((j->reuse = calloc(n + 1, sizeof(*j->reuse))) == NULL)
		goto fail;
	/* compacted shards: the job holds them now */
	for (i = 0; i < r->nfresh; i++)
		j->reuse[j->nreuse++] = r->fresh[i];
	r->nfresh = 0;
	for (i = 0; r->merged != NULL && i < r->merged->nsh; i++)
		j->reuse[j->nreuse++] = filter_shard_ref(r->merged->sh[i]);
	for (g = r->young; g != NULL; g = g->ynext)
		for (i = 0; i < g->own->nsh; i++)
			j->reuse[j->nreuse++] = filter_shard_ref(g->own->sh[i]);
	j->id = ++r->builds;
	for (i = 0; i < r->nslot; i++)
		if (r->slot[i] != NULL)
			r->slot[i]->build = j->id;
	if (pthread_create(&j->th, NULL, job_run, j) != 0)
		goto fail;
	r->job = j;
	r->dirty = 0;
	return 0;
fail:
	job_free(j);
	return -1;
}

/* The job is done: its matcher becomes the merged one, and the groups it
 * took in drop their own. */
static int
job_finish(struct filter_reg *r)
{
	struct fm_job *j = r->job;
	struct filter_group **pp, *g;
	int rc = -1;

	pthread_join(j->th, NULL);
	r->job = NULL;
	if (j->out == NULL || filter_db_scratch(j->out, &r->h.scratch) == -1) {
		r->dirty = 1;           /* try again later */
		goto out;
	}
	filter_db_free(r->merged);
	r->merged = j->out;
	j->out = NULL;
	r->epoch++;     /* cached results lack the groups it took in */
	for (pp = &r->young; (g = *pp) != NULL;) {
		if (g->build == j->id) {
			filter_db_free(g->own);
			g->own = NULL;
			g->mepoch = r->epoch;
			*pp = g->ynext;
			r->nyoung--;
		} else {
			pp = &g->ynext;
		}
	}
	rc = 0;
out:
	job_free(j);
	return rc;
}

int
filter_reg_tick(struct filter_reg *r, uint32_t now, int force)
{
	r->now = now;
	while (r->dead != NULL && now - r->dead->died_at >= DEAD_MS)
		(void)dead_purge_one(r);
	/* acquire: pairs with the release store in job_run */
	if (r->job != NULL && (force ||
	    shm_load(&r->job->done, acquire)) &&
	    job_finish(r) == -1)
		return -1;
	/* acquire: pairs with the release store in cjob_run */
	if (r->cjob != NULL && (force ||
	    shm_load(&r->cjob->done, acquire)))
		cjob_finish(r);
	if (r->cjob == NULL && r->job == NULL && r->nfresh == 0) {
		cjob_start(r);
		if (force && r->cjob != NULL)
			cjob_finish(r);
	}
	if (!r->dirty || r->job != NULL)
		return 0;
	/* compacted shards go in at once: until then every record is
	 * scanned by the many small shards they replace */
	if (!force && r->nfresh == 0 && now - r->built_at <
	    (r->nyoung >= REBUILD_YOUNG ? REBUILD_SOON_MS : REBUILD_MS))
		return 0;
	r->built_at = now;
	if (job_start(r) == -1)
		return -1;
	return force ? job_finish(r) : 0;
}
