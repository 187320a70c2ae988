/* Filter groups of a worker and matching records against all of them at
 * once (see filter_match.h). */
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>

#include "broadcast/filter_match.h"
#include "shm/facts.h"
#include "shm/ring.h"

#define CACHE_N 1024            /* records whose results are kept, by seq */
#define REBUILD_MS 1000         /* merged matcher rebuilt at most this often */
#define REBUILD_YOUNG 256       /* ... or sooner past this many young groups */
#define REBUILD_SOON_MS 100

/* The Hyperscan databases of a matcher: which facts each one scans. */
enum { DB_NAMES, DB_ISSUER, DB_LOG, DB_OPERATOR, DB_COUNT };

struct fm_target {
	unsigned group;         /* slot */
	unsigned kind;
};

/* One distinct (kind, term) of a matcher and the groups that hold it. */
struct fm_pat {
	int kind;
	const char *s;          /* the term, owned by a group's spec */
	size_t len;
	unsigned first, n;      /* its targets */
};

/* Domain table entry: a distinct key and the patterns it stands for,
 * items[first .. first+n). In the exact table a filter domain is its own
 * key; in the parent table it is filed under its parent (what a wildcard
 * name *.<parent> covers). Open addressing, power of two. */
struct fm_dom {
	const char *key;
	size_t len;
	unsigned first, n;
};

struct fm_domtab {
	struct fm_dom *e;
	unsigned cap;
	unsigned *items;
};

struct fm_matcher {
	struct fm_pat *pat;
	unsigned npat;
	struct fm_target *tg;
	unsigned ntg;
	struct fm_domtab exact, parent;
	unsigned ndom;          /* domain patterns */
	int small;              /* one group's: literals by loop, not compiled */
	char *arena;            /* the patterns' bytes: a matcher owns them */
	uint64_t *refs;         /* slots it has targets for (bitmap) */
	unsigned nrefs;         /* words */
	hs_database_t *db[DB_COUNT];
	unsigned type_pat[2];   /* pattern of type=cert, type=precert, or ~0 */
};

struct filter_group {
	struct filter_spec spec;
	unsigned long hash;
	unsigned slot;
	unsigned refs;
	struct filter_group *hnext;
	struct fm_matcher *own;         /* until merged */
	struct filter_group *ynext;     /* young list */
	uint64_t build;                 /* the rebuild that took it in */
};

/* A rebuild of the merged matcher, compiled off the event loop (a
 * Hyperscan compile of thousands of patterns takes seconds). */
struct fm_job {
	pthread_t th;
	struct tuple *t;        /* with strings of its own in buf */
	char *buf;
	unsigned nt, nslot;
	uint64_t *refs;         /* slots of the groups taken in */
	uint64_t id;
	struct fm_matcher *out;
	struct filter_err err;
	_Atomic int done;
};

#define HBUCKETS 4096

struct filter_reg {
	struct filter_group **slot;     /* by slot; NULL: free, unless a
	                                 * matcher still names it */
	unsigned nslot, ngroups;
	struct filter_group *hash[HBUCKETS];
	struct filter_group *young;
	unsigned nyoung;
	unsigned long terms;
	struct fm_matcher *merged;
	int dirty;                      /* groups came or went since merged */
	uint32_t built_at;
	struct fm_job *job;             /* a rebuild in flight */
	uint64_t builds;
	uint64_t epoch;                 /* bumped when a group appears */
	/* Per record scratch: kinds hit per slot, slots touched. */
	uint8_t *hit;
	unsigned *touched, ntouched;
	hs_scratch_t *scratch;
	/* Result cache. */
	uint64_t ctag[CACHE_N], cepoch[CACHE_N];
	uint8_t cvalid[CACHE_N];
	uint64_t *cbits;                /* CACHE_N rows of words */
	unsigned words;
	/* During one match */
	struct fm_matcher *cur;
};

/* ---- matchers ---- */

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static void
matcher_free(struct fm_matcher *m)
{
	if (m == NULL)
		return;
	for (int d = 0; d < DB_COUNT; d++)
		hs_free_database(m->db[d]);
	free(m->pat);
	free(m->tg);
	free(m->exact.e);
	free(m->exact.items);
	free(m->parent.e);
	free(m->parent.items);
	free(m->arena);
	free(m->refs);
	free(m);
}

struct tuple {
	int kind;
	const char *s;
	size_t len;
	unsigned group;
};

static int
tuple_cmp(const void *a, const void *b)
{
	const struct tuple *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = memcmp(x->s, y->s, n)) != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->group < y->group ? -1 : x->group > y->group;
}

static int
db_of(int kind)
{
	switch (kind) {
	case FK_KEYWORD:
	case FK_REGEX:
		return DB_NAMES;
	case FK_ISSUER:
		return DB_ISSUER;
	case FK_LOG:
		return DB_LOG;
	case FK_OPERATOR:
		return DB_OPERATOR;
	default:
		return -1;
	}
}

struct keyed {
	const char *key;
	size_t len;
	unsigned pat;
};

static int
keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* Build t from k[0..n) (sorted here): one entry per distinct key. */
static int
domtab_build(struct fm_domtab *t, struct keyed *k, unsigned n)
{
	unsigned i, j;

	for (t->cap = 16; t->cap < n * 2; t->cap *= 2)
		;
	if ((t->e = calloc(t->cap, sizeof(*t->e))) == NULL ||
	    (t->items = calloc(n + 1, sizeof(*t->items))) == NULL)
		return -1;
	if (n > 1)
		qsort(k, n, sizeof(*k), keyed_cmp);
	for (i = 0; i < n; i = j) {
		unsigned h = (unsigned)hash_bytes(k[i].key, k[i].len) &
		    (t->cap - 1);

		for (j = i; j < n && keyed_cmp(&k[i], &k[j]) == 0; j++)
			t->items[j] = k[j].pat;
		while (t->e[h].n > 0)
			h = (h + 1) & (t->cap - 1);
		t->e[h].key = k[i].key;
		t->e[h].len = k[i].len;
		t->e[h].first = i;
		t->e[h].n = j - i;
	}
	return 0;
}

/* A literal as a Hyperscan expression: every byte but [a-z0-9] as \xHH. */
static char *
escape_lit(const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *o = malloc(n * 4 + 1), *p = o;

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			*p++ = (char)c;
			continue;
		}
		*p++ = '\\';
		*p++ = 'x';
		*p++ = hex[c >> 4];
		*p++ = hex[c & 15];
	}
	*p = '\0';
	return o;
}

/* Compile database d of m from its patterns. 0; -1 with err (a regex
 * refused names regex, anything else is a 503). */
static int
matcher_compile(struct fm_matcher *m, int d, struct filter_err *err)
{
	const char **expr = NULL;
	unsigned *flags = NULL, *ids = NULL, n = 0, i;
	hs_compile_error_t *ce = NULL;
	int rc = -1;

	for (i = 0; i < m->npat; i++)
		if (db_of(m->pat[i].kind) == d &&
		    (!m->small || m->pat[i].kind == FK_REGEX))
			n++;
	if (n == 0)
		return 0;
	if ((expr = calloc(n, sizeof(*expr))) == NULL ||
	    (flags = calloc(n, sizeof(*flags))) == NULL ||
	    (ids = calloc(n, sizeof(*ids))) == NULL)
		goto oom;
	for (n = 0, i = 0; i < m->npat; i++) {
		const struct fm_pat *p = &m->pat[i];

		if (db_of(p->kind) != d || (m->small && p->kind != FK_REGEX))
			continue;
		if (p->kind == FK_REGEX) {
			expr[n] = p->s;
			flags[n] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH |
			    HS_FLAG_ALLOWEMPTY;
		} else {
			if ((expr[n] = escape_lit(p->s, p->len)) == NULL)
				goto oom;
			flags[n] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
		}
		ids[n++] = i;
	}
	if (hs_compile_multi(expr, flags, ids, n, HS_MODE_BLOCK, NULL,
	    &m->db[d], &ce) != HS_SUCCESS) {
		int at = ce != NULL && ce->expression >= 0 &&
		    (unsigned)ce->expression < n ? ce->expression : -1;

		err->status = at >= 0 && m->pat[ids[at]].kind == FK_REGEX ?
		    400 : 503;
		snprintf(err->param, sizeof(err->param), "%s", at >= 0 ?
		    filter_kind_name(m->pat[ids[at]].kind) : "filter");
		snprintf(err->reason, sizeof(err->reason), "%s%s%s",
		    at >= 0 && err->status == 400 ? "pattern refused: " :
		    "cannot compile the filters: ",
		    ce != NULL ? ce->message : "unknown error", "");
		hs_free_compile_error(ce);
		m->db[d] = NULL;
		goto out;
	}
	rc = 0;
	goto out;
oom:
	err->status = 503;
	snprintf(err->param, sizeof(err->param), "filter");
	snprintf(err->reason, sizeof(err->reason), "out of memory");
out:
	if (expr != NULL)
		for (i = 0; i < n; i++)
			if (ids[i] < m->npat && m->pat[ids[i]].kind != FK_REGEX)
				free((void *)(uintptr_t)expr[i]);
	free(expr);
	free(flags);
	free(ids);
	return rc;
}

/* A matcher for the terms t[0..nt) (sorted here; their strings are
 * copied), with nslot slots. NULL with err. */
static struct fm_matcher *
matcher_from(struct tuple *t, unsigned nt, unsigned nslot, int small,
    struct filter_err *err)
{
	struct fm_matcher *m = calloc(1, sizeof(*m));
	struct keyed *ex = NULL, *pa = NULL;
	unsigned i, nex = 0, npa = 0;
	size_t bytes = 0;
	char *at;

	err->status = 503;
	snprintf(err->param, sizeof(err->param), "filter");
	snprintf(err->reason, sizeof(err->reason), "out of memory");
	if (m == NULL)
		return NULL;
	m->type_pat[0] = m->type_pat[1] = ~0u;
	m->small = small;
	m->nrefs = (nslot + 63) / 64;
	if (nt > 1)
		qsort(t, nt, sizeof(*t), tuple_cmp);
	for (i = 0; i < nt; i++)
		bytes += t[i].len + 1;
	if ((m->arena = malloc(bytes + 1)) == NULL ||
	    (m->refs = calloc(m->nrefs + 1, sizeof(*m->refs))) == NULL ||
	    (m->pat = calloc(nt + 1, sizeof(*m->pat))) == NULL ||
	    (m->tg = calloc(nt + 1, sizeof(*m->tg))) == NULL ||
	    (ex = calloc(nt + 1, sizeof(*ex))) == NULL ||
	    (pa = calloc(nt + 1, sizeof(*pa))) == NULL)
		goto fail;
	at = m->arena;
	for (i = 0; i < nt; i++) {
		struct fm_pat *p;

		if (m->npat == 0 || t[i].kind != m->pat[m->npat - 1].kind ||
		    t[i].len != m->pat[m->npat - 1].len ||
		    memcmp(t[i].s, m->pat[m->npat - 1].s, t[i].len) != 0) {
			const char *dot;

			p = &m->pat[m->npat++];
			p->kind = t[i].kind;
			memcpy(at, t[i].s, t[i].len);
			at[t[i].len] = '\0';
			p->s = at;
			p->len = t[i].len;
			at += t[i].len + 1;
			p->first = m->ntg;
			if (p->kind == FK_TYPE)
				m->type_pat[strcmp(p->s, "precert") == 0] =
				    m->npat - 1;
			if (p->kind == FK_DOMAIN) {
				ex[nex].key = p->s;
				ex[nex].len = p->len;
				ex[nex++].pat = m->npat - 1;
				if ((dot = memchr(p->s, '.', p->len)) != NULL) {
					pa[npa].key = dot + 1;
					pa[npa].len = p->len -
					    (size_t)(dot + 1 - p->s);
					pa[npa++].pat = m->npat - 1;
				}
			}
		}
		p = &m->pat[m->npat - 1];
		m->tg[m->ntg].group = t[i].group;
		m->tg[m->ntg++].kind = (unsigned)t[i].kind;
		m->refs[t[i].group / 64] |= 1ULL << (t[i].group % 64);
		p->n++;
	}
	m->ndom = nex;
	if (domtab_build(&m->exact, ex, nex) == -1 ||
	    domtab_build(&m->parent, pa, npa) == -1)
		goto fail;
	for (int d = 0; d < DB_COUNT; d++)
		if (matcher_compile(m, d, err) == -1)
			goto fail;
	free(ex);
	free(pa);
	return m;
fail:
	free(ex);
	free(pa);
	matcher_free(m);
	return NULL;
}

/* The terms of groups g[0..n) as tuples (strings still the groups'). */
static struct tuple *
tuples_of(struct filter_group *const *g, unsigned n, unsigned *nt)
{
	struct tuple *t;
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
static struct fm_matcher *
matcher_new(struct filter_group *const *g, unsigned n, unsigned nslot,
    struct filter_err *err)
{
	struct fm_matcher *m;
	struct tuple *t;
	unsigned nt;

	if ((t = tuples_of(g, n, &nt)) == NULL) {
		err->status = 503;
		snprintf(err->param, sizeof(err->param), "filter");
		snprintf(err->reason, sizeof(err->reason), "out of memory");
		return NULL;
	}
	m = matcher_from(t, nt, nslot, 1, err);
	free(t);
	return m;
}

/* ---- matching one record ---- */

static void
hit_pat(struct filter_reg *r, const struct fm_matcher *m, unsigned pat)
{
	const struct fm_pat *p = &m->pat[pat];

	for (unsigned i = 0; i < p->n; i++) {
		const struct fm_target *t = &m->tg[p->first + i];

		if (r->hit[t->group] == 0)
			r->touched[r->ntouched++] = t->group;
		r->hit[t->group] |= (uint8_t)(1u << t->kind);
	}
}

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *ctx)
{
	struct filter_reg *r = ctx;

	(void)from;
	(void)to;
	(void)flags;
	hit_pat(r, r->cur, id);
	return 0;
}

static void
dom_lookup(struct filter_reg *r, const struct fm_matcher *m,
    const struct fm_domtab *t, const char *s, size_t n)
{
	unsigned i = (unsigned)hash_bytes(s, n) & (t->cap - 1);

	for (; t->e[i].n > 0; i = (i + 1) & (t->cap - 1)) {
		if (t->e[i].len == n && memcmp(t->e[i].key, s, n) == 0) {
			for (unsigned k = 0; k < t->e[i].n; k++)
				hit_pat(r, m, t->items[t->e[i].first + k]);
			return;
		}
	}
}

/* name and every name it is under, on label boundaries */
static void
dom_suffixes(struct filter_reg *r, const struct fm_matcher *m, const char *s,
    size_t n)
{
	for (;;) {
		const char *dot;

		if (n == 0)
			return;
		dom_lookup(r, m, &m->exact, s, n);
		if ((dot = memchr(s, '.', n)) == NULL)
			return;
		n -= (size_t)(dot + 1 - s);
		s = dot + 1;
	}
}

/* Does h[0..n) hold the lowercase needle t[0..k), ASCII case-insensitive? */
static int
holds(const char *h, size_t n, const char *t, size_t k)
{
	for (size_t i = 0; i + k <= n; i++) {
		size_t j;

		for (j = 0; j < k; j++) {
			char c = h[i + j];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c + ('a' - 'A'));
			if (c != t[j])
				break;
		}
		if (j == k)
			return 1;
	}
	return 0;
}

static void
scan(struct filter_reg *r, const struct fm_matcher *m, int d,
    const struct facts_str *s)
{
	if (s->len == 0)
		return;
	/* One new group's literals: a loop over its few terms costs less
	 * than compiling them at connect. */
	if (m->small)
		for (unsigned i = 0; i < m->npat; i++)
			if (db_of(m->pat[i].kind) == d &&
			    m->pat[i].kind != FK_REGEX &&
			    holds(s->p, s->len, m->pat[i].s, m->pat[i].len))
				hit_pat(r, m, i);
	if (m->db[d] == NULL)
		return;
	(void)hs_scan(m->db[d], s->p, (unsigned)s->len, 0, r->scratch, on_match,
	    r);
}

static void
matcher_run(struct filter_reg *r, struct fm_matcher *m,
    const struct facts_view *v)
{
	struct facts_str d;
	size_t off = 0;

	r->cur = m;
	if (m->type_pat[v->type] != ~0u)
		hit_pat(r, m, m->type_pat[v->type]);
	while (facts_next_domain(v, &off, &d)) {
		if (m->ndom > 0) {
			if (d.len > 2 && d.p[0] == '*' && d.p[1] == '.') {
				/* *.x covers one label under x, and x itself */
				dom_lookup(r, m, &m->parent, d.p + 2, d.len - 2);
				dom_suffixes(r, m, d.p + 2, d.len - 2);
			} else {
				dom_suffixes(r, m, d.p, d.len);
			}
		}
		scan(r, m, DB_NAMES, &d);
	}
	scan(r, m, DB_ISSUER, &v->field[FF_ISSUER_CN]);
	scan(r, m, DB_ISSUER, &v->field[FF_ISSUER_O]);
	scan(r, m, DB_LOG, &v->field[FF_LOG_URL]);
	scan(r, m, DB_LOG, &v->field[FF_LOG_NAME]);
	scan(r, m, DB_OPERATOR, &v->field[FF_LOG_OPERATOR]);
}

/* ---- the registry ---- */

static int
names_slot(const struct fm_matcher *m, unsigned slot)
{
	return m != NULL && slot / 64 < m->nrefs &&
	    ((m->refs[slot / 64] >> (slot % 64)) & 1);
}

static void
job_free(struct fm_job *j)
{
	if (j == NULL)
		return;
	matcher_free(j->out);
	free(j->refs);
	free(j->t);
	free(j->buf);
	free(j);
}

static void *
job_run(void *arg)
{
	struct fm_job *j = arg;

	j->out = matcher_from(j->t, j->nt, j->nslot, 0, &j->err);
	/* release: pairs with the acquire load in filter_reg_tick, so the
	 * loop sees the whole matcher once it sees done */
	atomic_store_explicit(&j->done, 1, memory_order_release);
	return NULL;
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
	for (unsigned i = 0; i < r->nslot; i++) {
		struct filter_group *g = r->slot[i];

		if (g != NULL) {
			filter_spec_fini(&g->spec);
			matcher_free(g->own);
			free(g);
		}
	}
	matcher_free(r->merged);
	hs_free_scratch(r->scratch);
	free(r->slot);
	free(r->hit);
	free(r->touched);
	free(r->cbits);
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

static int
scratch_for(struct filter_reg *r, const struct fm_matcher *m)
{
	for (int d = 0; d < DB_COUNT; d++)
		if (m->db[d] != NULL &&
		    hs_alloc_scratch(m->db[d], &r->scratch) != HS_SUCCESS)
			return -1;
	return 0;
}

/* A free slot that no matcher names (the merged one, or one being
 * built, may have targets for a group since freed), the per-slot arrays
 * grown with the slots. */
static int
slot_take(struct filter_reg *r, unsigned *out)
{
	unsigned i, nn, words;

	for (i = 0; i < r->nslot; i++) {
		if (r->slot[i] == NULL && !names_slot(r->merged, i) &&
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
		if ((h = realloc(r->hit, nn)) == NULL)
			return -1;
		r->hit = h;
		if ((tc = realloc(r->touched, nn * sizeof(*tc))) == NULL)
			return -1;
		r->touched = tc;
		memset(r->slot + r->nslot, 0, (nn - r->nslot) * sizeof(*s));
		memset(r->hit + r->nslot, 0, nn - r->nslot);
	}
	words = (nn + 63) / 64;
	{
		uint64_t *cb = calloc((size_t)CACHE_N * words, sizeof(*cb));

		if (cb == NULL)
			return -1;
		free(r->cbits);
		r->cbits = cb;
		r->words = words;
		memset(r->cvalid, 0, sizeof(r->cvalid));
	}
	*out = r->nslot;
	r->nslot = nn;
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
			g->refs++;
			filter_spec_fini(spec);
			return g;
		}
	}
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
	    scratch_for(r, g->own) == -1) {
		if (g->own != NULL) {
			err->status = 503;
			snprintf(err->param, sizeof(err->param), "filter");
			snprintf(err->reason, sizeof(err->reason),
			    "out of memory");
		}
		matcher_free(g->own);
		free(g);    /* spec stays the caller's */
		return NULL;
	}
	memset(spec, 0, sizeof(*spec));
	g->hash = h;
	g->refs = 1;
	g->hnext = r->hash[h % HBUCKETS];
	r->hash[h % HBUCKETS] = g;
	g->ynext = r->young;
	r->young = g;
	r->nyoung++;
	r->slot[g->slot] = g;
	r->ngroups++;
	r->terms += g->spec.n;
	r->epoch++;
	r->dirty = 1;
	return g;
}

void
filter_group_put(struct filter_reg *r, struct filter_group *g)
{
	struct filter_group **pp;

	if (g == NULL || --g->refs > 0)
		return;
	for (pp = &r->hash[g->hash % HBUCKETS]; *pp != g; pp = &(*pp)->hnext)
		;
	*pp = g->hnext;
	if (g->own != NULL) {
		for (pp = &r->young; *pp != g; pp = &(*pp)->ynext)
			;
		*pp = g->ynext;
		r->nyoung--;
	}
	/* Free, but not reused while a matcher names it (slot_take). */
	r->slot[g->slot] = NULL;
	r->ngroups--;
	r->terms -= g->spec.n;
	r->dirty = 1;
	filter_spec_fini(&g->spec);
	matcher_free(g->own);
	free(g);
}

/* Match v against every group: r->hit/touched, then the result bits. */
static void
match_all(struct filter_reg *r, const struct facts_view *v, uint64_t *bits)
{
	struct filter_group *g;

	r->ntouched = 0;
	if (r->merged != NULL)
		matcher_run(r, r->merged, v);
	for (g = r->young; g != NULL; g = g->ynext)
		matcher_run(r, g->own, v);
	memset(bits, 0, r->words * sizeof(*bits));
	for (unsigned i = 0; i < r->ntouched; i++) {
		unsigned s = r->touched[i];

		g = r->slot[s];
		if (g != NULL && r->hit[s] == g->spec.kinds)
			bits[s / 64] |= 1ULL << (s % 64);
		r->hit[s] = 0;
	}
}

int
filter_wants(struct filter_reg *r, struct filter_group *g,
    const struct shm_seg *seg, uint64_t seq)
{
	unsigned c = (unsigned)(seq % CACHE_N);
	uint64_t *bits = r->cbits + (size_t)c * r->words;
	struct ring_meta m;
	struct facts_view v;

	if (r->cvalid[c] && r->ctag[c] == seq && r->cepoch[c] == r->epoch)
		return (bits[g->slot / 64] >> (g->slot % 64)) & 1;
	if (ring_peek_meta(seg, seq, &m) == -1)
		return -1;
	if (facts_decode(m.facts.iov_base, m.facts.iov_len, &v) == 0)
		match_all(r, &v, bits);
	else
		memset(bits, 0, r->words * sizeof(*bits));
	/* Read from bytes the writer may have reused meanwhile? */
	if (!ring_still_valid(seg, seq)) {
		r->cvalid[c] = 0;
		return -1;
	}
	r->ctag[c] = seq;
	r->cepoch[c] = r->epoch;
	r->cvalid[c] = 1;
	return (bits[g->slot / 64] >> (g->slot % 64)) & 1;
}

void
filter_skip(struct filter_reg *r, struct filter_group *g,
    const struct shm_seg *seg, uint64_t *cursor, uint64_t head)
{
	while (*cursor < head && filter_wants(r, g, seg, *cursor) == 0)
		(*cursor)++;
}

int
filter_match_facts(struct filter_reg *r, struct filter_group *g,
    const void *facts, size_t len)
{
	struct facts_view v;
	struct fm_matcher *m = g->own != NULL ? g->own : r->merged;
	int yes;

	if (facts_decode(facts, len, &v) == -1)
		return -1;
	r->ntouched = 0;
	matcher_run(r, m, &v);
	yes = r->hit[g->slot] == g->spec.kinds;
	for (unsigned i = 0; i < r->ntouched; i++)
		r->hit[r->touched[i]] = 0;
	return yes;
}

/* Snapshot the live groups into a job (strings copied) and start its
 * thread. 0, or -1 (nothing started). */
static int
job_start(struct filter_reg *r)
{
	struct filter_group **list;
	struct fm_job *j;
	unsigned n = 0, i;
	size_t bytes = 0;
	char *at;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	if ((list = calloc(r->ngroups + 1, sizeof(*list))) == NULL)
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
	if (j->out == NULL || scratch_for(r, j->out) == -1) {
		r->dirty = 1;           /* try again later */
		goto out;
	}
	matcher_free(r->merged);
	r->merged = j->out;
	j->out = NULL;
	for (pp = &r->young; (g = *pp) != NULL;) {
		if (g->build == j->id) {
			matcher_free(g->own);
			g->own = NULL;
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
	if (r->job != NULL) {
		/* acquire: pairs with the release store in job_run */
		if (!force && !atomic_load_explicit(&r->job->done,
		    memory_order_acquire))
			return 0;
		if (job_finish(r) == -1)
			return -1;
	}
	if (!r->dirty)
		return 0;
	if (!force && now - r->built_at < (r->nyoung >= REBUILD_YOUNG ?
	    REBUILD_SOON_MS : REBUILD_MS))
		return 0;
	r->built_at = now;
	if (job_start(r) == -1)
		return -1;
	return force ? job_finish(r) : 0;
}
