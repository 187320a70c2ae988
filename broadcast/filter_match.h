/*
 * Matching records against the filters of a worker's clients, once per
 * record per worker, whatever the number of clients.
 *
 * Clients with equal filters (filter_spec_equal) share one refcounted
 * group. A record is matched against every group in one pass over its
 * facts (shm/facts.h): domain terms through a hash table looked up once per
 * label suffix of each name (and, for a wildcard name, once by its parent),
 * keyword/regex/issuer/log/operator terms through Hyperscan databases (all
 * patterns of a kind in one linear-time scan), type by a compare. The
 * per-group results of a record are cached by seq; each client then tests
 * one bit.
 *
 * Churn: a new group builds a small matcher of its own at connect
 * (filter_db.h: its regexes compiled into a shard, which checks them; its
 * literals matched by a loop) and answers for itself with it, outside the
 * shared cache, so that it costs the other clients nothing, until the
 * worker's merged matcher takes it in. filter_reg_tick starts that rebuild
 * on a thread of its own, at most once a second (every 100 ms past a few
 * young groups), and swaps the result in when it is done. A rebuild
 * compiles nothing already compiled: domains go in hash tables, literals
 * in an automaton (milliseconds), regexes stay in their shards; when no
 * group waits, a rebuild may compact small shards into bigger ones (a
 * bounded number of regexes a time). A group whose last client left is
 * kept DEAD_MS (compiled, still merged), so that a client that reconnects
 * with the same filter costs no compile. Nothing here allocates per
 * record.
 */
#ifndef BROADCAST_FILTER_MATCH_H
#define BROADCAST_FILTER_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "broadcast/filter_parse.h"
#include "shm/segment.h"

struct filter_reg;
struct filter_group;

struct filter_reg *filter_reg_new(void);
void filter_reg_free(struct filter_reg *r);

/*
 * The group for spec, shared if one exists (refs + 1), else new (its
 * matcher compiled now). spec is taken over on success (and zeroed).
 * max_patterns bounds the terms all groups of r hold together. Returns
 * NULL with err filled: a regex Hyperscan refuses (400, parameter regex),
 * over max_patterns or out of memory (503).
 */
struct filter_group *filter_group_get(struct filter_reg *r,
    struct filter_spec *spec, unsigned max_patterns, struct filter_err *err);

/* One client less; the group is freed with the last. */
void filter_group_put(struct filter_reg *r, struct filter_group *g);

/* Clients and terms now held (for tests and stats). */
unsigned filter_reg_groups(const struct filter_reg *r);
unsigned long filter_reg_terms(const struct filter_reg *r);
/* Groups matched by their own matcher, not merged yet. */
unsigned filter_reg_young(const struct filter_reg *r);

/*
 * Does record seq match g? 1 yes, 0 no, -1 the record is not (or no
 * longer) in the ring. The first call for a seq matches it against every
 * group; later calls for it read the cache.
 */
int filter_wants(struct filter_reg *r, struct filter_group *g,
    const struct shm_seg *seg, uint64_t seq);

/* Move *cursor past the records before head that g does not want; stops
 * at one it wants or one that is gone (the caller's lap logic handles
 * that). */
void filter_skip(struct filter_reg *r, struct filter_group *g,
    const struct shm_seg *seg, uint64_t *cursor, uint64_t head);

/* Facts (not from the ring) against g alone, by the same rules: for
 * tests and one-off requests. 1, 0, or -1 if the facts do not decode. */
int filter_match_facts(struct filter_reg *r, struct filter_group *g,
    const void *facts, size_t len);

/* Rebuild the merged matcher if groups came or went since the last one
 * and a second has passed (now: monotonic ms), or force. 0, or -1 if the
 * rebuild failed (groups keep their own matchers). */
int filter_reg_tick(struct filter_reg *r, uint32_t now, int force);

#endif
