/* Aho-Corasick over literal filter terms (filter_lit.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast/filter_lit.h"

#define NONE 0xffffffffu

/* One edge (state, byte) -> state of the trie, in an open-addressed
 * table; the root's edges are a plain array (every scan starts there). */
struct edge {
	uint32_t from;          /* NONE: empty */
	uint32_t to;
	uint8_t c;
};

struct filter_lit {
	uint32_t root[256];     /* 0: no edge (back to the root) */
	struct edge *e;
	uint32_t ecap;          /* power of two */
	uint32_t *fail;         /* per state */
	uint32_t *dict;         /* nearest state down the fail chain with a
	                         * term, or 0 */
	uint32_t *term;         /* first term ending at a state, or NONE */
	uint32_t *tnext;        /* next term ending at the same state */
	unsigned *id;
	uint32_t nstate;
};

static uint32_t
edge_hash(uint32_t from, uint8_t c, uint32_t cap)
{
	uint64_t k = ((uint64_t)from << 8 | c) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(k >> 32) & (cap - 1);
}

static uint32_t
go(const struct filter_lit *l, uint32_t s, uint8_t c)
{
	uint32_t i;

	if (s == 0)
		return l->root[c];
	for (i = edge_hash(s, c, l->ecap); l->e[i].from != NONE;
	    i = (i + 1) & (l->ecap - 1))
		if (l->e[i].from == s && l->e[i].c == c)
			return l->e[i].to;
	return 0;
}

static void
edge_put(struct filter_lit *l, uint32_t s, uint8_t c, uint32_t to)
{
	uint32_t i;

	if (s == 0) {
		l->root[c] = to;
		return;
	}
	for (i = edge_hash(s, c, l->ecap); l->e[i].from != NONE;
	    i = (i + 1) & (l->ecap - 1))
		;
	l->e[i].from = s;
	l->e[i].c = c;
	l->e[i].to = to;
}

void
filter_lit_free(struct filter_lit *l)
{
	if (l == NULL)
		return;
	free(l->e);
	free(l->fail);
	free(l->dict);
	free(l->term);
	free(l->tnext);
	free(l->id);
	free(l);
}

struct filter_lit *
filter_lit_new(const char *const *s, const size_t *len, const unsigned *id,
    unsigned n)
{
	struct filter_lit *l = calloc(1, sizeof(*l));
	uint32_t *child = NULL, *sib = NULL, *queue = NULL;
	uint8_t *via = NULL;
	size_t bytes = 0;
	uint32_t i, max, qh, qt;

	if (l == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		bytes += len[i];
	if (bytes >= NONE / 4)
		goto fail;
	max = (uint32_t)bytes + 1;
	for (l->ecap = 16; l->ecap < max * 2; l->ecap *= 2)
		;
	if ((l->e = malloc(l->ecap * sizeof(*l->e))) == NULL ||
	    (l->fail = calloc(max, sizeof(*l->fail))) == NULL ||
	    (l->dict = calloc(max, sizeof(*l->dict))) == NULL ||
	    (l->term = malloc(max * sizeof(*l->term))) == NULL ||
	    (l->tnext = malloc((n + 1) * sizeof(*l->tnext))) == NULL ||
	    (l->id = malloc((n + 1) * sizeof(*l->id))) == NULL ||
	    (child = malloc(max * sizeof(*child))) == NULL ||
	    (sib = malloc(max * sizeof(*sib))) == NULL ||
	    (via = malloc(max)) == NULL ||
	    (queue = malloc(max * sizeof(*queue))) == NULL)
		goto fail;
	memset(l->e, 0xff, l->ecap * sizeof(*l->e));
	memset(l->term, 0xff, max * sizeof(*l->term));
	child[0] = NONE;
	l->nstate = 1;
	/* the trie */
	for (i = 0; i < n; i++) {
		uint32_t st = 0;

		for (size_t k = 0; k < len[i]; k++) {
			uint8_t c = (uint8_t)s[i][k];
			uint32_t nx = go(l, st, c);

			if (nx == 0) {
				nx = l->nstate++;
				child[nx] = NONE;
				via[nx] = c;
				sib[nx] = child[st];
				child[st] = nx;
				edge_put(l, st, c, nx);
			}
			st = nx;
		}
		l->id[i] = id[i];
		l->tnext[i] = l->term[st];
		l->term[st] = i;
	}
	/* fail and dict links, breadth first: a state's fail is the longest
	 * proper suffix of its string that is in the trie */
	qh = qt = 0;
	for (uint32_t c = child[0]; c != NONE; c = sib[c]) {
		l->fail[c] = 0;
		queue[qt++] = c;
	}
	while (qh < qt) {
		uint32_t p = queue[qh++];

		for (uint32_t c = child[p]; c != NONE; c = sib[c]) {
			uint32_t f = l->fail[p];

			while (f != 0 && go(l, f, via[c]) == 0)
				f = l->fail[f];
			f = go(l, f, via[c]);
			l->fail[c] = f == c ? 0 : f;
			l->dict[c] = l->term[l->fail[c]] != NONE ?
			    l->fail[c] : l->dict[l->fail[c]];
			queue[qt++] = c;
		}
	}
	free(child);
	free(sib);
	free(via);
	free(queue);
	return l;
fail:
	free(child);
	free(sib);
	free(via);
	free(queue);
	filter_lit_free(l);
	return NULL;
}

void
filter_lit_scan(const struct filter_lit *l, const char *text, size_t n,
    void (*cb)(unsigned id, size_t end, void *ctx), void *ctx)
{
	uint32_t st = 0;

	if (l->nstate <= 1)
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)text[i];
		uint32_t nx;

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + ('a' - 'A'));
		while ((nx = go(l, st, c)) == 0 && st != 0)
			st = l->fail[st];
		st = nx;
		for (uint32_t s = l->term[st] != NONE ? st : l->dict[st];
		    s != 0; s = l->dict[s])
			for (uint32_t t = l->term[s]; t != NONE; t = l->tnext[t])
				cb(l->id[t], i + 1, ctx);
	}
}
