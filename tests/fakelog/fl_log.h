/*
 * One fake log: its entries (real ones first, then generated), its Merkle
 * tree, its key, how it grows, and the faults queued against it.
 */
#ifndef FAKELOG_FL_LOG_H
#define FAKELOG_FL_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "tests/fakelog/fl_acct.h"
#include "tests/fakelog/fl_gen.h"
#include "tests/fakelog/fl_corpus.h"
#include "tests/fakelog/fl_merkle.h"
#include "tests/fakelog/fl_sign.h"

enum fl_fault_kind {
	FL_F_429, FL_F_500, FL_F_TIMEOUT, FL_F_TRUNCATE, FL_F_BADB64,
	FL_F_SHORT, FL_F_SHRINK, FL_F_BADSIG, FL_F_GZIP, FL_F_BIGCL,
	FL_F_ENDLESS, FL_F_BOMB, FL_F_GARBAGE, FL_F_ORIGIN, FL_F_REDIRECT,
	FL_F_FORK, FL_F_SWAP,
	FL_F_NKINDS
};

/* Which requests a fault applies to. */
#define FL_EP_STH 1        /* get-sth, checkpoint */
#define FL_EP_ENTRIES 2    /* get-entries, tile/data */
#define FL_EP_TILES 4      /* hash tiles */
#define FL_EP_OTHER 8      /* roots, proofs, issuers */
#define FL_EP_ANY 15

#define FL_FAULTS_MAX 32

struct fl_fault {
	int kind;
	int count;              /* requests left; 0 = until cleared */
	int on;                 /* FL_EP_* mask */
	long param;             /* Retry-After, hold seconds, shrink by */
};

enum fl_real { FL_REAL_ALL, FL_REAL_FIRST, FL_REAL_NONE };

struct fl_slot {
	struct fl_entry *e;
	int owned;
};

/* One change of the published tree: its size and when (CLOCK_REALTIME ms,
 * also the tree head's timestamp). */
struct fl_pub {
	uint64_t size;
	uint64_t ms;
};

/* History kept per log; past it the oldest half is thinned (see
 * fl_log_publish). */
#define FL_HIST_MAX 100000

struct fl_log {
	char name[64];
	char cert_name[64];         /* generates its certificates as this log's */
	int is_static;
	int with_real;              /* starts with the corpus entries */
	struct fl_key key;
	struct fl_slot *slots;
	size_t cap;
	struct fl_merkle tree;      /* every entry, published or not */
	size_t pub_n;               /* published size: what clients are served */
	int auto_publish;           /* publish at every growth (the default) */
	struct fl_pub *hist;        /* every publish, oldest first */
	size_t nhist, hist_cap;
	size_t max_size;
	uint64_t sth_ts;            /* ms: when the published tree last changed */
	double grow_acc;
	int garbage_pending;        /* next appended entries are not DER */
	struct fl_fault faults[FL_FAULTS_MAX];
	int nfaults;
	/* counters for /control/<log>/state */
	uint64_t requests;
	uint64_t entries_served;
	uint64_t faults_fired;
	struct fl_acct acct;
	struct fl_corpus *corpus;
	struct fl_gen *gen;
};

int fl_log_init(struct fl_log *l, const char *name, int is_static,
    int with_real, size_t max_size, struct fl_corpus *c, struct fl_gen *g,
    char *err, size_t errlen);
void fl_log_fini(struct fl_log *l);
/* Appends up to n entries (bounded by max_size), published at once when
 * auto_publish is set. Returns the number added or -1. */
long fl_log_grow(struct fl_log *l, size_t n, char *err, size_t errlen);
/* Publishes the tree as it is now (a static log writing its checkpoint):
 * pub_n moves to tree.n and the change is added to hist. A no-op if
 * nothing changed since the last publish. 0, or -1 if the history could
 * not grow (the publish itself still happened). */
int fl_log_publish(struct fl_log *l);
/* The tree head that was published at time ms (the oldest one kept if ms
 * predates them all). */
struct fl_pub fl_log_published_at(const struct fl_log *l, uint64_t ms);
uint64_t fl_log_now_ms(void);
/* The leaf's extensions as this log encodes them (static: leaf_index). */
void fl_log_leaf(const struct fl_log *l, size_t i, struct fl_buf *out);
void fl_log_tile_leaf(const struct fl_log *l, size_t i, struct fl_buf *out);

const char *fl_log_fault_name(int kind);
int fl_log_fault_parse(const char *s);
int fl_log_fault_default_on(int kind);
/* Queues a fault; garbage and fork act on the tree at once (fork: the
 * entry at index param is replaced and the tree rebuilt, so it no longer
 * extends any tree served before). 0 or -1. */
int fl_log_fault_add(struct fl_log *l, int kind, int count, int on,
    long param);
/* Takes the first queued fault matching ep (counting it down), or NULL. */
const struct fl_fault *fl_log_fault_take(struct fl_log *l, int ep,
    struct fl_fault *copy);

#endif
