#include "tests/fakelog/fl_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const fault_names[FL_F_NKINDS] = {
	"429", "500", "timeout", "truncate", "badbase64", "short", "shrink",
	"badsig", "gzip", "bigcl", "endless", "gzipbomb", "garbage", "origin",
	"redirect", "fork", "swap",
};

const char *
fl_log_fault_name(int kind)
{
	return kind >= 0 && kind < FL_F_NKINDS ? fault_names[kind] : "?";
}

int
fl_log_fault_parse(const char *s)
{
	for (int i = 0; i < FL_F_NKINDS; i++)
		if (strcmp(s, fault_names[i]) == 0)
			return i;
	return -1;
}

int
fl_log_fault_default_on(int kind)
{
	switch (kind) {
	case FL_F_BADB64:
	case FL_F_SHORT:
	case FL_F_SWAP:
	case FL_F_BOMB:
		return FL_EP_ENTRIES;
	case FL_F_GZIP:
		return FL_EP_ENTRIES | FL_EP_TILES;
	case FL_F_SHRINK:
	case FL_F_BADSIG:
	case FL_F_ORIGIN:
		return FL_EP_STH;
	default:
		return FL_EP_ANY;
	}
}

uint64_t
fl_log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
fl_log_init(struct fl_log *l, const char *name, int is_static, int with_real,
    size_t max_size, struct fl_corpus *c, struct fl_gen *g, char *err,
    size_t errlen)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->cert_name, sizeof(l->cert_name), "%s", name);
	l->is_static = is_static;
	l->with_real = with_real;
	l->max_size = max_size;
	l->corpus = c;
	l->gen = g;
	l->auto_publish = 1;
	l->sth_ts = fl_log_now_ms();
	return fl_sign_key_derive(&l->key, g->seed, name, err, errlen);
}

void
fl_log_fini(struct fl_log *l)
{
	for (size_t i = 0; i < l->tree.n; i++) {
		if (l->slots[i].owned) {
			fl_entry_free(l->slots[i].e);
			free(l->slots[i].e);
		}
	}
	free(l->slots);
	free(l->hist);
	fl_acct_fini(&l->acct);
	fl_merkle_free(&l->tree);
	fl_sign_key_fini(&l->key);
	memset(l, 0, sizeof(*l));
}

/* Real entries: the static log starts with the navigli tiles so their
 * leaf_index extensions equal their index here too. */
static struct fl_entry *
real_entry(const struct fl_log *l, size_t i)
{
	const struct fl_corpus *c = l->corpus;
	size_t a = l->is_static ? c->ntiled : c->nrfc;
	struct fl_entry *first = l->is_static ? c->tiled : c->rfc;
	struct fl_entry *second = l->is_static ? c->rfc : c->tiled;
	size_t b = l->is_static ? c->nrfc : c->ntiled;

	if (!l->with_real)
		return NULL;
	if (i < a)
		return &first[i];
	if (i < a + b)
		return &second[i - a];
	if (i < a + b + c->nlint)
		return &c->lint[i - a - b];
	return NULL;
}

void
fl_log_leaf(const struct fl_log *l, size_t i, struct fl_buf *out)
{
	uint8_t ext[8];

	if (l->is_static) {
		fl_entry_leaf_index_ext(i, ext);
		fl_entry_leaf(l->slots[i].e, ext, sizeof(ext), out);
	} else {
		fl_entry_leaf(l->slots[i].e, NULL, 0, out);
	}
}

void
fl_log_tile_leaf(const struct fl_log *l, size_t i, struct fl_buf *out)
{
	uint8_t ext[8];

	fl_entry_leaf_index_ext(i, ext);
	fl_entry_tile_leaf(l->slots[i].e, ext, sizeof(ext), &l->corpus->pool,
	    out);
}

long
fl_log_grow(struct fl_log *l, size_t n, char *err, size_t errlen)
{
	size_t added = 0;

	while (added < n && l->tree.n < l->max_size) {
		size_t i = l->tree.n;
		/* A pending garbage entry takes the place of a real one too. */
		struct fl_slot s = { l->garbage_pending > 0 ? NULL :
		    real_entry(l, i), 0 };
		struct fl_buf leaf = { 0 };
		uint8_t h[32];

		if (i == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 1024;
			void *np = realloc(l->slots, cap * sizeof(*l->slots));

			if (np == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			l->slots = np;
			l->cap = cap;
		}
		if (s.e == NULL) {
			if ((s.e = calloc(1, sizeof(*s.e))) == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			s.owned = 1;
			if (l->garbage_pending > 0) {
				l->garbage_pending--;
				if (fl_gen_garbage(l->gen, i, s.e) < 0) {
					free(s.e);
					snprintf(err, errlen, "out of memory");
					return -1;
				}
			} else if (fl_gen_entry(l->gen, l->cert_name, i, s.e, err,
			    errlen) < 0) {
				free(s.e);
				return -1;
			}
		}
		l->slots[i] = s;
		fl_log_leaf(l, i, &leaf);
		if (leaf.err) {
			fl_buf_free(&leaf);
			snprintf(err, errlen, "out of memory");
			goto undo;
		}
		fl_merkle_leaf_hash(leaf.p, leaf.len, h);
		fl_buf_free(&leaf);
		if (fl_merkle_append(&l->tree, h) < 0) {
			snprintf(err, errlen, "out of memory");
			goto undo;
		}
		added++;
		continue;
undo:
		if (s.owned) {
			fl_entry_free(s.e);
			free(s.e);
		}
		return -1;
	}
	if (added > 0 && l->auto_publish && fl_log_publish(l) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return (long)added;
}

int
fl_log_publish(struct fl_log *l)
{
	uint64_t now = fl_log_now_ms();

	if (l->nhist > 0 && l->pub_n == l->tree.n)
		return 0;
	l->pub_n = l->tree.n;
	l->sth_ts = now;
	if (l->nhist == FL_HIST_MAX) {
		/* Thin the older half, keeping the first publish and the later
		 * of each pair: every pair kept is a tree head really served,
		 * and an entry's appearance time is late by one step at most. */
		size_t half = FL_HIST_MAX / 2, k = 1;

		for (size_t i = 2; i < half; i += 2)
			l->hist[k++] = l->hist[i];
		memmove(&l->hist[k], &l->hist[half],
		    (FL_HIST_MAX - half) * sizeof(*l->hist));
		l->nhist = k + FL_HIST_MAX - half;
	}
	if (l->nhist == l->hist_cap) {
		size_t cap = l->hist_cap ? l->hist_cap * 2 : 256;
		void *np;

		if (cap > FL_HIST_MAX)
			cap = FL_HIST_MAX;
		if ((np = realloc(l->hist, cap * sizeof(*l->hist))) == NULL)
			return -1;
		l->hist = np;
		l->hist_cap = cap;
	}
	l->hist[l->nhist++] = (struct fl_pub){ l->pub_n, now };
	return 0;
}

struct fl_pub
fl_log_published_at(const struct fl_log *l, uint64_t ms)
{
	size_t lo = 0, hi = l->nhist;

	if (l->nhist == 0)
		return (struct fl_pub){ l->pub_n, l->sth_ts };
	/* The last publish at or before ms. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->hist[mid].ms <= ms)
			lo = mid;
		else
			hi = mid;
	}
	return l->hist[lo];
}

/* History rewritten: entry i becomes another one (not DER) and the whole
 * tree is rebuilt from its leaves. */
static int
fork_at(struct fl_log *l, size_t i)
{
	struct fl_merkle tree = { 0 };
	struct fl_slot old;
	struct fl_entry *e;

	if (i >= l->tree.n || (e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	if (fl_gen_garbage(l->gen, i + 0x5a5a5a5aULL, e) < 0) {
		free(e);
		return -1;
	}
	old = l->slots[i];
	l->slots[i] = (struct fl_slot){ e, 1 };
	for (size_t k = 0; k < l->tree.n; k++) {
		struct fl_buf leaf = { 0 };
		uint8_t h[32];

		fl_log_leaf(l, k, &leaf);
		if (leaf.err) {
			fl_buf_free(&leaf);
			goto undo;
		}
		fl_merkle_leaf_hash(leaf.p, leaf.len, h);
		fl_buf_free(&leaf);
		if (fl_merkle_append(&tree, h) < 0)
			goto undo;
	}
	fl_merkle_free(&l->tree);
	l->tree = tree;
	if (old.owned) {
		fl_entry_free(old.e);
		free(old.e);
	}
	l->sth_ts = fl_log_now_ms();
	return 0;
undo:
	l->slots[i] = old;
	fl_merkle_free(&tree);
	fl_entry_free(e);
	free(e);
	return -1;
}

int
fl_log_fault_add(struct fl_log *l, int kind, int count, int on, long param)
{
	if (kind == FL_F_GARBAGE) {
		l->garbage_pending += count > 0 ? count : 1;
		return 0;
	}
	if (kind == FL_F_FORK)
		return fork_at(l, param > 0 ? (size_t)param : 0);
	if (l->nfaults == FL_FAULTS_MAX)
		return -1;
	l->faults[l->nfaults++] = (struct fl_fault){ kind, count,
	    on ? on : fl_log_fault_default_on(kind), param };
	return 0;
}

const struct fl_fault *
fl_log_fault_take(struct fl_log *l, int ep, struct fl_fault *copy)
{
	for (int i = 0; i < l->nfaults; i++) {
		struct fl_fault *f = &l->faults[i];

		if (!(f->on & ep))
			continue;
		*copy = *f;
		l->faults_fired++;
		if (f->count > 0 && --f->count == 0) {
			memmove(f, f + 1, (size_t)(l->nfaults - i - 1) * sizeof(*f));
			l->nfaults--;
		}
		return copy;
	}
	return NULL;
}
