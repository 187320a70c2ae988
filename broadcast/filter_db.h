/*
 * A compiled set of filter terms (private to filter_match.c, which keeps
 * the groups): every distinct (kind, term) once, with the group slots that
 * hold it; domains in two hash tables (a name by itself, and by its parent
 * for wildcard names); keywords, issuer, log and operator terms, literals
 * all, in one Aho-Corasick automaton per text they are matched against
 * (filter_lit.h: no regex compiler); regexes in Hyperscan shards
 * (filter_shard.h), reused from matcher to matcher. Running it over a
 * record's facts reports, for each slot, which kinds were hit.
 */
#ifndef BROADCAST_FILTER_DB_H
#define BROADCAST_FILTER_DB_H

#include <stddef.h>
#include <stdint.h>

#include <hs.h>

#include "broadcast/filter_lit.h"
#include "broadcast/filter_parse.h"
#include "broadcast/filter_relit.h"
#include "broadcast/filter_shard.h"
#include "shm/facts.h"

/* The texts of a record a matcher scans for literals (and, for names,
 * regexes). */
enum { DB_NAMES, DB_ISSUER, DB_LOG, DB_OPERATOR, DB_COUNT };

struct fm_target {
	unsigned group;         /* slot */
	unsigned kind;
};

/* One distinct (kind, term) of a matcher and the groups that hold it. */
struct fm_pat {
	int kind;
	const char *s;          /* the term, in the db's arena */
	size_t len;
	/* matched as a literal: the term itself, or a regex's literal
	 * (filter_relit.h: relit set, anch its anchors) */
	const char *ls;
	size_t llen;
	unsigned anch;
	int relit;
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

struct filter_db {
	struct fm_pat *pat;
	unsigned npat;
	struct fm_target *tg;
	unsigned ntg;
	struct fm_domtab exact, parent;
	unsigned ndom;          /* domain patterns */
	int small;              /* one group's: literals by loop, no automaton */
	char *arena;            /* the patterns' bytes: a matcher owns them */
	uint64_t *refs;         /* slots it has targets for (bitmap) */
	unsigned nrefs;         /* words */
	struct filter_lit *lit[DB_COUNT];
	struct filter_shard **sh;       /* regexes; a reference on each */
	unsigned **smap;        /* per shard: its match id -> pattern, or ~0 */
	unsigned *swant;        /* per shard: its ids that map to a pattern */
	unsigned nsh;
	unsigned type_pat[2];   /* pattern of type=cert, type=precert, or ~0 */
};

/* One term of one group, what a db is built from. */
struct filter_db_term {
	int kind;
	const char *s;
	size_t len;
	unsigned group;         /* slot */
};

/* What a run reports: hit[slot] gets bit 1 << kind for each kind hit;
 * touched lists the slots whose hit went from 0 (the caller clears). */
struct filter_db_hits {
	uint8_t *hit;
	unsigned *touched;
	unsigned ntouched;
	hs_scratch_t *scratch;          /* enough for every db run with it */
	const struct filter_db *cur;
	unsigned shard;                 /* of cur, being scanned */
	size_t tlen;                    /* the text being scanned: length */
	char tlast;                     /* and last byte */
};

/*
 * A db of the terms t[0..nt) (sorted here; their bytes are copied), for
 * slots below nslot. small: one new group's, its literal terms matched by
 * a loop, its regexes compiled into one shard (which also checks them).
 * Otherwise the shards reuse[0..nreuse) (the caller keeps its references)
 * serve the regexes they hold (the largest shards first), and only the
 * regexes none holds are compiled, FILTER_SHARD_MAX to a shard. NULL with
 * err: 400 naming regex for a pattern Hyperscan refuses, else 503.
 */
struct filter_db *filter_db_build(struct filter_db_term *t, unsigned nt,
    unsigned nslot, int small, struct filter_shard *const *reuse,
    unsigned nreuse, struct filter_err *err);

/*
 * The wanted regexes of m's shards that are worth compiling together into
 * bigger ones (shards mostly dead, small shards past a few), at most max:
 * into re/len (pointers into m; NULL to count only). Returns how many.
 */
unsigned filter_db_compactable(const struct filter_db *m, const char **re,
    size_t *len, unsigned max);

void filter_db_free(struct filter_db *m);

/* Grow *scratch for m's databases. 0, or -1. */
int filter_db_scratch(const struct filter_db *m, hs_scratch_t **scratch);

/* Does m have targets for slot? */
int filter_db_names(const struct filter_db *m, unsigned slot);

/* Run m over the facts v into h. */
void filter_db_run(struct filter_db_hits *h, struct filter_db *m,
    const struct facts_view *v);

#endif
