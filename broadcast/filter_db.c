/* A compiled set of filter terms and running it over a record's facts
 * (filter_db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast/filter_db.h"
#include "broadcast/filter_parse.h"

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

void
filter_db_free(struct filter_db *m)
{
	if (m == NULL)
		return;
	for (int d = 0; d < DB_COUNT; d++)
		filter_lit_free(m->lit[d]);
	for (unsigned k = 0; k < m->nsh; k++) {
		filter_shard_unref(m->sh[k]);
		free(m->smap[k]);
	}
	free(m->sh);
	free(m->smap);
	free(m->swant);
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

static int
term_cmp(const void *a, const void *b)
{
	const struct filter_db_term *x = a, *y = b;
	int c = filter_term_order(x->kind, x->s, x->len, y->kind, y->s, y->len);

	if (c != 0)
		return c;
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

#define NONE (~0u)

/* Regex string -> its pattern, while shards are chosen. */
struct re_slot {
	const char *s;
	size_t len;
	unsigned pat;           /* NONE: empty */
	int taken;              /* a kept shard serves it */
};

static struct re_slot *
re_find(struct re_slot *h, unsigned cap, const char *s, size_t len)
{
	unsigned i = (unsigned)hash_bytes(s, len) & (cap - 1);

	for (; h[i].pat != NONE; i = (i + 1) & (cap - 1))
		if (h[i].len == len && memcmp(h[i].s, s, len) == 0)
			return &h[i];
	return &h[i];
}

static int
shard_size_cmp(const void *a, const void *b)
{
	const struct filter_shard *x = *(struct filter_shard *const *)a;
	const struct filter_shard *y = *(struct filter_shard *const *)b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x < y ? -1 : x > y;      /* the same shard twice: side by side */
}

/* Add shard s (referenced here) to m, mapping its ids through h. */
static int
shard_add(struct filter_db *m, struct filter_shard *s, struct re_slot *h,
    unsigned cap)
{
	unsigned *map = malloc((s->n + 1) * sizeof(*map));

	if (map == NULL)
		return -1;
	for (unsigned i = 0; i < s->n; i++) {
		struct re_slot *e = re_find(h, cap, s->re[i], s->len[i]);

		map[i] = NONE;
		if (e->pat != NONE && !e->taken) {
			e->taken = 1;
			map[i] = e->pat;
			m->swant[m->nsh]++;
		}
	}
	m->sh[m->nsh] = filter_shard_ref(s);
	m->smap[m->nsh++] = map;
	return 0;
}

#define SMALL_SHARD (FILTER_SHARD_MAX / 4)
#define SMALL_MAX 8             /* small shards before a compaction is due */

/* The regexes of shard s still wanted (in h) and not served yet. */
static unsigned
shard_want(const struct filter_shard *s, struct re_slot *h, unsigned cap)
{
	unsigned want = 0;

	for (unsigned i = 0; i < s->n; i++) {
		struct re_slot *e = re_find(h, cap, s->re[i], s->len[i]);

		want += e->pat != NONE && e->taken == 0;
	}
	return want;
}

/*
 * The regexes of m into shards: every reused shard that serves a wanted
 * regex no larger one serves is kept (largest first: the shards of a
 * compaction take over from the small ones they were built from), so
 * that nothing is compiled again and a rebuild takes milliseconds; new
 * shards only for the regexes none holds. 0, or -1 with err.
 */
static int
shards_build(struct filter_db *m, struct filter_shard *const *reuse,
    unsigned nreuse, struct filter_err *err)
{
	struct filter_shard **cand = NULL, *ns;
	struct re_slot *h = NULL;
	const char **re = NULL;
	size_t *len = NULL;
	unsigned cap, nre = 0, i, k, maxsh;
	int rc = -1;

	for (i = 0; i < m->npat; i++)
		nre += m->pat[i].kind == FK_REGEX && !m->pat[i].relit;
	if (nre == 0)
		return 0;
	for (cap = 16; cap < nre * 2; cap *= 2)
		;
	if (m->small)
		nreuse = 0;
	maxsh = nreuse + nre / FILTER_SHARD_MAX + 2;
	if ((h = malloc(cap * sizeof(*h))) == NULL ||
	    (cand = calloc(nreuse + 1, sizeof(*cand))) == NULL ||
	    (re = calloc(nre, sizeof(*re))) == NULL ||
	    (len = calloc(nre, sizeof(*len))) == NULL ||
	    (m->sh = calloc(maxsh, sizeof(*m->sh))) == NULL ||
	    (m->smap = calloc(maxsh, sizeof(*m->smap))) == NULL ||
	    (m->swant = calloc(maxsh, sizeof(*m->swant))) == NULL)
		goto oom;
	for (i = 0; i < cap; i++)
		h[i].pat = NONE;
	for (i = 0; i < m->npat; i++) {
		struct re_slot *e;

		if (m->pat[i].kind != FK_REGEX || m->pat[i].relit)
			continue;
		e = re_find(h, cap, m->pat[i].s, m->pat[i].len);
		e->s = m->pat[i].s;
		e->len = m->pat[i].len;
		e->pat = i;
		e->taken = 0;
	}
	if (nreuse > 0) {
		memcpy(cand, reuse, nreuse * sizeof(*cand));
		qsort(cand, nreuse, sizeof(*cand), shard_size_cmp);
	}
	for (k = 0; k < nreuse; k++) {
		if ((k > 0 && cand[k] == cand[k - 1]) ||
		    shard_want(cand[k], h, cap) == 0)
			continue;
		if (shard_add(m, cand[k], h, cap) == -1)
			goto oom;
	}
	/* the rest, compiled now */
	for (k = 0, i = 0; i < cap; i++) {
		if (h[i].pat == NONE || h[i].taken)
			continue;
		re[k] = h[i].s;
		len[k++] = h[i].len;
	}
	for (i = 0; i < k;) {
		unsigned n = m->small ? k : k - i < FILTER_SHARD_MAX ? k - i :
		    FILTER_SHARD_MAX;

		if ((ns = filter_shard_new(re + i, len + i, n, err)) == NULL)
			goto out;
		rc = shard_add(m, ns, h, cap);
		filter_shard_unref(ns);
		if (rc == -1)
			goto oom;
		rc = -1;
		i += n;
	}
	rc = 0;
	goto out;
oom:
	err->status = 503;
	snprintf(err->param, sizeof(err->param), "filter");
	snprintf(err->reason, sizeof(err->reason), "out of memory");
out:
	free(h);
	free(cand);
	free(re);
	free(len);
	return rc;
}

/* The literal automaton of m for texts d. 0, or -1 (out of memory). */
static int
lit_build(struct filter_db *m, int d)
{
	const char **s = NULL;
	size_t *len = NULL;
	unsigned *id = NULL, n = 0, i;
	int rc = -1;

	for (i = 0; i < m->npat; i++)
		n += db_of(m->pat[i].kind) == d && (m->pat[i].kind != FK_REGEX ||
		    m->pat[i].relit);
	if (n == 0)
		return 0;
	if ((s = calloc(n, sizeof(*s))) == NULL ||
	    (len = calloc(n, sizeof(*len))) == NULL ||
	    (id = calloc(n, sizeof(*id))) == NULL)
		goto out;
	for (n = 0, i = 0; i < m->npat; i++) {
		if (db_of(m->pat[i].kind) != d || (m->pat[i].kind == FK_REGEX &&
		    !m->pat[i].relit))
			continue;
		s[n] = m->pat[i].ls;
		len[n] = m->pat[i].llen;
		id[n++] = i;
	}
	if ((m->lit[d] = filter_lit_new(s, len, id, n)) != NULL)
		rc = 0;
out:
	free(s);
	free(len);
	free(id);
	return rc;
}

struct filter_db *
filter_db_build(struct filter_db_term *t, unsigned nt, unsigned nslot,
    int small, struct filter_shard *const *reuse, unsigned nreuse,
    struct filter_err *err)
{
	struct filter_db *m = calloc(1, sizeof(*m));
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
		qsort(t, nt, sizeof(*t), term_cmp);
	for (i = 0; i < nt; i++)
		bytes += t[i].len + 1;
	if ((m->arena = malloc(2 * bytes + 1)) == NULL ||
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
			p->s = p->ls = at;
			p->len = p->llen = t[i].len;
			at += t[i].len + 1;
			if (p->kind == FK_REGEX && filter_relit(p->s, p->len,
			    at, &p->llen, &p->anch)) {
				p->relit = 1;
				p->ls = at;
				at += p->llen + 1;
			}
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
	for (int d = 0; !small && d < DB_COUNT; d++)
		if (lit_build(m, d) == -1)
			goto fail;
	if (shards_build(m, reuse, nreuse, err) == -1)
		goto fail;
	free(ex);
	free(pa);
	return m;
fail:
	free(ex);
	free(pa);
	filter_db_free(m);
	return NULL;
}

/* ---- matching one record ---- */

static void
hit_pat(struct filter_db_hits *r, const struct filter_db *m, unsigned pat)
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
	struct filter_db_hits *r = ctx;
	unsigned pat = r->cur->smap[r->shard][id];

	(void)from;
	(void)to;
	(void)flags;
	if (pat != NONE)
		hit_pat(r, r->cur, pat);
	return 0;
}

static void
on_lit(unsigned id, size_t end, void *ctx)
{
	struct filter_db_hits *r = ctx;
	const struct fm_pat *p = &r->cur->pat[id];

	if (p->anch == 0 ||
	    filter_relit_at(end, p->llen, r->tlen, r->tlast, p->anch))
		hit_pat(r, r->cur, id);
}

static void
dom_lookup(struct filter_db_hits *r, const struct filter_db *m,
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
dom_suffixes(struct filter_db_hits *r, const struct filter_db *m, const char *s,
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

/* Literals of m in text s (for d), and for names, its regexes. */
static void
scan(struct filter_db_hits *r, const struct filter_db *m, int d,
    const struct facts_str *s)
{
	if (s->len == 0)
		return;
	/* One new group's literals: a loop over its few terms costs less
	 * than building an automaton at connect. */
	if (m->small) {
		for (unsigned i = 0; i < m->npat; i++) {
			const struct fm_pat *p = &m->pat[i];

			if (db_of(p->kind) == d && (p->kind != FK_REGEX ||
			    p->relit) && filter_relit_match(s->p, s->len, p->ls,
			    p->llen, p->anch))
				hit_pat(r, m, i);
		}
	} else if (m->lit[d] != NULL) {
		r->tlen = s->len;
		r->tlast = s->p[s->len - 1];
		filter_lit_scan(m->lit[d], s->p, s->len, on_lit, r);
	}
	if (d != DB_NAMES)
		return;
	for (r->shard = 0; r->shard < m->nsh; r->shard++)
		(void)hs_scan(m->sh[r->shard]->db, s->p, (unsigned)s->len, 0,
		    r->scratch, on_match, r);
}

void
filter_db_run(struct filter_db_hits *r, struct filter_db *m,
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

int
filter_db_scratch(const struct filter_db *m, hs_scratch_t **scratch)
{
	for (unsigned k = 0; k < m->nsh; k++)
		if (hs_alloc_scratch(m->sh[k]->db, scratch) != HS_SUCCESS)
			return -1;
	return 0;
}

int
filter_db_names(const struct filter_db *m, unsigned slot)
{
	return m != NULL && slot / 64 < m->nrefs &&
	    ((m->refs[slot / 64] >> (slot % 64)) & 1);
}

/* Shards worth compiling again: mostly dead ones, and small ones when
 * there are more than SMALL_MAX of them. */
static int
shard_worn(const struct filter_db *m, unsigned k, unsigned nsmall)
{
	return m->swant[k] * 2 < m->sh[k]->n ||
	    (nsmall > SMALL_MAX && m->sh[k]->n < SMALL_SHARD);
}

unsigned
filter_db_compactable(const struct filter_db *m, const char **re,
    size_t *len, unsigned max)
{
	unsigned k, i, n = 0, nsmall = 0;

	for (k = 0; k < m->nsh; k++)
		nsmall += m->sh[k]->n < SMALL_SHARD;
	for (k = 0; k < m->nsh; k++) {
		if (!shard_worn(m, k, nsmall) || n + m->swant[k] > max)
			continue;
		for (i = 0; i < m->sh[k]->n; i++) {
			unsigned p = m->smap[k][i];

			if (p == NONE)
				continue;
			if (re != NULL) {
				re[n] = m->pat[p].s;
				len[n] = m->pat[p].len;
			}
			n++;
		}
	}
	return n;
}
