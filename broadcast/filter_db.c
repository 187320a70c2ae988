/* A compiled set of filter terms and running it over a record's facts
 * (filter_db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast/filter_db.h"

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

static int
term_cmp(const void *a, const void *b)
{
	const struct filter_db_term *x = a, *y = b;
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
matcher_compile(struct filter_db *m, int d, struct filter_err *err)
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

struct filter_db *
filter_db_build(struct filter_db_term *t, unsigned nt, unsigned nslot,
    int small, struct filter_err *err)
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
	filter_db_free(m);
	return NULL;
}

/* The terms of groups g[0..n) as tuples (strings still the groups'). */
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

	(void)from;
	(void)to;
	(void)flags;
	hit_pat(r, r->cur, id);
	return 0;
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
scan(struct filter_db_hits *r, const struct filter_db *m, int d,
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
	for (int d = 0; d < DB_COUNT; d++)
		if (m->db[d] != NULL &&
		    hs_alloc_scratch(m->db[d], scratch) != HS_SUCCESS)
			return -1;
	return 0;
}

int
filter_db_names(const struct filter_db *m, unsigned slot)
{
	return m != NULL && slot / 64 < m->nrefs &&
	    ((m->refs[slot / 64] >> (slot % 64)) & 1);
}
