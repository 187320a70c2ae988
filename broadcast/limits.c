/*
 * Total and per-address connection limits, in shared memory.
 *
 * Table protocol (every worker may run it at once):
 *  - slot.used: 0 empty, 2 key being written, 1 key set. An empty slot is
 *    claimed by CAS 0 -> 2, its address written, then used = 1.
 *  - slot.count: live connections. UINT32_MAX locks a slot whose count is 0
 *    while it is given to another address (the table never fills up with
 *    addresses gone for good).
 *  - A finder increments count only from a value that is not the lock, then
 *    re-reads the key: if the slot changed hands meanwhile it gives the
 *    count back and looks again.
 * Atomics are sequentially consistent (the default): a few per connection.
 */
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>

#include "broadcast/limits.h"

#define LIMITS_PROBES 32
#define LIMITS_LOCK UINT32_MAX

static void
limits_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static uint32_t
limits_hash(const uint8_t key[16])
{
	uint32_t h = 2166136261u;       /* FNV-1a */
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* Take one count on s if it is not locked. */
static int
limits_inc(struct shm_ip_slot *s)
{
	uint32_t c = atomic_load(&s->count);

	while (c != LIMITS_LOCK)
		if (atomic_compare_exchange_weak(&s->count, &c, c + 1))
			return 1;
	return 0;
}

/* Give slot s, idle (count 0), to key. */
static int
limits_reuse(struct shm_ip_slot *s, const uint8_t key[16])
{
	uint32_t zero = 0, one = 1;

	if (!atomic_compare_exchange_strong(&s->count, &zero, LIMITS_LOCK))
		return 0;
	if (!atomic_compare_exchange_strong(&s->used, &one, 2)) {
		atomic_store(&s->count, 0);
		return 0;
	}
	memcpy(s->addr, key, 16);
	atomic_store(&s->rate_window, 0);
	atomic_store(&s->rate_count, 0);
	atomic_store(&s->used, 1);
	atomic_store(&s->count, 1);
	return 1;
}

/* Find or make key's slot with one count taken on it; -1 if the table has
 * no room near key's hash. */
static int
limits_find(struct shm_limits *l, const uint8_t key[16])
{
	uint32_t h = limits_hash(key);
	int i, idle = -1;

	for (i = 0; i < LIMITS_PROBES; i++) {
		uint32_t idx = (h + (uint32_t)i) & (SHM_IP_SLOTS - 1);
		struct shm_ip_slot *s = &l->ip[idx];
		uint32_t used = atomic_load(&s->used), empty = 0;

		if (used == 0) {
			if (!atomic_compare_exchange_strong(&s->used, &empty, 2))
				continue;       /* taken just now; keep probing */
			memcpy(s->addr, key, 16);
			atomic_store(&s->rate_window, 0);
			atomic_store(&s->rate_count, 0);
			atomic_store(&s->count, 1);
			atomic_store(&s->used, 1);
			return (int)idx;
		}
		if (used != 1)
			continue;
		if (memcmp(s->addr, key, 16) != 0) {
			if (idle < 0 && atomic_load(&s->count) == 0)
				idle = (int)idx;
			continue;
		}
		if (!limits_inc(s))
			continue;
		/* Still ours now that the count pins it? */
		if (atomic_load(&s->used) == 1 && memcmp(s->addr, key, 16) == 0)
			return (int)idx;
		atomic_fetch_sub(&s->count, 1);
	}
	if (idle >= 0 && limits_reuse(&l->ip[idle], key))
		return idle;
	return -1;
}

/* New connections from slot s in second now, this one included. */
static uint32_t
limits_rate(struct shm_ip_slot *s, uint64_t now)
{
	uint64_t w = atomic_load(&s->rate_window);

	if (w != now && atomic_compare_exchange_strong(&s->rate_window, &w, now)) {
		atomic_store(&s->rate_count, 1);
		return 1;
	}
	return atomic_fetch_add(&s->rate_count, 1) + 1;
}

enum limits_verdict
limits_acquire(struct shm_limits *l, const struct config *cfg,
    const struct sockaddr *sa, uint64_t now, int worker,
    struct limits_hold *hold)
{
	int on = cfg->connection_limit.enabled;
	uint8_t key[16];
	uint32_t total;
	int idx;

	hold->slot = 0;
	hold->total = 1;
	hold->worker = (uint8_t)worker;
	/* Shared count first, own row second (and the reverse on release):
	 * a death in between leaves a count behind rather than a wrap. */
	total = atomic_fetch_add(&l->total, 1) + 1;
	atomic_fetch_add(&l->held_total[worker], 1);
	if (on && cfg->connection_limit.max_connections > 0 &&
	    total > (uint32_t)cfg->connection_limit.max_connections) {
		limits_release(l, hold);
		return LIMITS_TOTAL;
	}
	limits_key(sa, key);
	idx = limits_find(l, key);
	if (idx < 0)
		return LIMITS_OK;       /* untracked: only the total applies */
	hold->slot = (uint16_t)(idx + 1);
	atomic_fetch_add(&l->held[worker][idx], 1);
	if (on && cfg->connection_limit.per_ip_limit > 0 &&
	    atomic_load(&l->ip[idx].count) >
	    (uint32_t)cfg->connection_limit.per_ip_limit) {
		limits_release(l, hold);
		return LIMITS_PER_IP;
	}
	if (limits_rate(&l->ip[idx], now) >
	    (uint32_t)cfg->connection_limit.per_ip_rate && on &&
	    cfg->connection_limit.per_ip_rate > 0) {
		limits_release(l, hold);
		return LIMITS_RATE;
	}
	return LIMITS_OK;
}

void
limits_release(struct shm_limits *l, struct limits_hold *hold)
{
	if (hold->slot != 0) {
		atomic_fetch_sub(&l->held[hold->worker][hold->slot - 1], 1);
		atomic_fetch_sub(&l->ip[hold->slot - 1].count, 1);
	}
	if (hold->total) {
		atomic_fetch_sub(&l->held_total[hold->worker], 1);
		atomic_fetch_sub(&l->total, 1);
	}
	hold->slot = 0;
	hold->total = 0;
}

unsigned
limits_reclaim(struct shm_limits *l, int worker)
{
	unsigned n;
	int i;

	for (i = 0; i < SHM_IP_SLOTS; i++) {
		uint32_t h = atomic_exchange(&l->held[worker][i], 0);

		if (h != 0)
			atomic_fetch_sub(&l->ip[i].count, h);
	}
	n = atomic_exchange(&l->held_total[worker], 0);
	if (n != 0)
		atomic_fetch_sub(&l->total, n);
	return n;
}
