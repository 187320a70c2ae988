/*
 * A shard: a few dozen filter regexes compiled into one Hyperscan
 * database, immutable once built and shared by the matchers that use it.
 *
 * Why shards: Hyperscan's compile time grows faster than the number of
 * patterns (2,000 regexes in one database take tens of seconds, in
 * shards of 64 a few), and a rebuild of a worker's merged matcher must
 * not compile again the regexes it already has. So each regex is
 * compiled once, in a shard (the one of the group that brought it, then a
 * merged one of up to FILTER_SHARD_MAX), and rebuilds reuse shards whose
 * regexes are still wanted. A shard is refcounted: the event loop and a
 * rebuild thread may hold it at once (the count is atomic, the rest is
 * never written after the build).
 */
#ifndef BROADCAST_FILTER_SHARD_H
#define BROADCAST_FILTER_SHARD_H

#include <stddef.h>

#include <hs.h>

#include "broadcast/filter_parse.h"
#include "shm/atomics.h"

#define FILTER_SHARD_MAX 64     /* regexes of a merged shard */

struct filter_shard {
	hs_database_t *db;      /* match ids: indexes into re */
	const char **re;        /* the regexes (NUL-terminated, in arena) */
	size_t *len;
	unsigned n;
	char *arena;
	_Atomic unsigned refs;
};

/*
 * Compile re[0..n) (each NUL-terminated, len[i] bytes) into a shard
 * holding one reference. NULL with err: 400 naming regex for a pattern
 * Hyperscan refuses, else 503.
 */
struct filter_shard *filter_shard_new(const char *const *re,
    const size_t *len, unsigned n, struct filter_err *err);

struct filter_shard *filter_shard_ref(struct filter_shard *s);

/* One reference less; freed with the last. NULL is ignored. */
void filter_shard_unref(struct filter_shard *s);

#endif
