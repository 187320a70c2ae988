/*
 * Total and per-address connection limits, in shared memory.
 *
 * Keys: an IPv4 peer (also seen as ::ffff:a.b.c.d) is its /32; an IPv6
 * peer is its first connection_limit.ipv6_prefix bits, the rest zeroed: a
 * subscriber is usually given a whole /64, so keyed by /128 it would be a
 * new peer on every connection.
 *
 * Table protocol (every worker runs it at once). A key lives in one of the
 * LIMITS_PROBES slots from its hash, its window. slot.used holds
 *   bits 0-1   the slot's state: FREE (no key), SET (key readable) or BUSY
 *              (being given a key by the worker in bits 11-18);
 *   bits 11-31 in SET, a tag from the key's hash: most slots are passed
 *              over without reading their key;
 *   bit 2, 3-10 the insert lock of the keys whose window starts at this
 *              slot, and the worker holding it.
 * slot.count counts live connections; LIMITS_LOCK while a key is written.
 *
 * At most one SET slot holds a given key, so its count is the address's,
 * and a connection's place is the count its own pin made (admitted while
 * that is within per_ip_limit: of two pins racing for the last place the
 * later refuses, never both):
 *  - Finding: take a count (a pin) on a SET slot with the key's tag, then
 *    compare the key; a pinned slot cannot change hands, so that read is
 *    stable. Not the key: give the count back (meanwhile that slot's own
 *    address may be refused at its limit; never let past it).
 *  - Only the holder of a key's insert lock gives a slot that key, after
 *    looking through the whole window again under the lock and waiting out
 *    BUSY slots (one may turn back into the key).
 *  - Taking a slot (FREE, or SET with count 0): used -> BUSY, count
 *    0 -> LOCK (else someone pinned it: undo), write the key, count = 1,
 *    used -> SET. A slot with live connections is never taken, so a flood
 *    of new addresses cannot push tracked ones out: a new address whose
 *    window has nothing to take is refused.
 *  - kill -9 (the idiom of shm/mark.h): a worker's id is its mark in the
 *    word it changes (a BUSY slot's taker, an insert lock's holder), and
 *    its counts are in its row of held[]; its successor's
 *    limits_reclaim() undoes the marks and gives the counts back. Others
 *    wait LIMITS_WAIT_NS (20 ms) for a mark, then refuse the connection.
 * No I/O, no logging.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "shm/atomics.h"
#include "shm/limits.h"

#define LIMITS_PROBES 64
#define LIMITS_LOCK UINT32_MAX
#define LIMITS_WAIT_NS 20000000L

#define U_STATE 3u
#define U_FREE 0u
#define U_SET 1u
#define U_BUSY 2u
#define U_LOCKED 4u
#define U_HOLDER_SHIFT 3
#define U_LOCKBITS 0x7fcu       /* U_LOCKED and its holder */
#define U_HIGH_SHIFT 11         /* tag (SET) or taker (BUSY) */

_Static_assert(SHM_MAX_WORKERS <= 256, "a worker id fits 8 bits of used");
_Static_assert(SHM_IP_SLOTS <= 65535, "a slot + 1 fits struct limits_hold");

struct limits_wait {
	struct timespec start;
	unsigned spins;
};

static void
limits_key(const struct sockaddr *sa, int prefix, uint8_t key[16])
{
	const struct in6_addr *a6;

	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		/* An IPv4 peer on a dual-stack socket: its /32, as above. */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(key, a6, 16);
			return;
		}
		if (prefix < 1 || prefix > 128)
			prefix = 128;
		memcpy(key, a6, (size_t)prefix / 8);
		if (prefix % 8 != 0)
			key[prefix / 8] = a6->s6_addr[prefix / 8] &
			    (uint8_t)(0xff << (8 - prefix % 8));
	}
}

/* 127.0.0.0/8, ::1, or an IPv4-mapped 127.0.0.0/8. */
static int
limits_loopback(const struct sockaddr *sa)
{
	const struct in6_addr *a6;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return 0;
	a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return a6->s6_addr[12] == 127;
	return IN6_IS_ADDR_LOOPBACK(a6);
}

/* FNV-1a from a state keyed by the segment's random seed, then mixed
 * (murmur3's finaliser): where an address lands cannot be worked out
 * from outside, so a flood cannot aim at a victim's neighbourhood. */
static uint32_t
limits_hash(const struct shm_limits *l, const uint8_t key[16])
{
	uint32_t h = 2166136261u ^ l->seed;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* 1 while a mark is worth waiting for (spin, then yield); 0 after
 * LIMITS_WAIT_NS: its worker is likely dead. */
static int
limits_wait(struct limits_wait *w)
{
	struct timespec now;

	if (w->spins++ == 0) {
		clock_gettime(CLOCK_MONOTONIC, &w->start);
		return 1;
	}
	if (w->spins % 64 != 0)
		return 1;
	sched_yield();
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - w->start.tv_sec) * 1000000000L +
	    (now.tv_nsec - w->start.tv_nsec) < LIMITS_WAIT_NS;
}

/* s->used once it is not BUSY, or BUSY after the wait ran out. */
static uint32_t
limits_settle(struct shm_ip_slot *s)
{
	struct limits_wait w = { .spins = 0 };
	uint32_t u;

	/* acquire: pairs with the release that ends a take (limits_take,
	 * limits_reclaim), so the key and count it wrote are seen. */
	while (((u = shm_load(&s->used, acquire)) &
	    U_STATE) == U_BUSY && limits_wait(&w))
		;
	return u;
}

/* Set the slot's part of s->used to v, keeping the insert lock there. */
static void
limits_used_set(struct shm_ip_slot *s, uint32_t v)
{
	/* relaxed: a first guess for the CAS, which rereads. */
	uint32_t u = shm_load(&s->used, relaxed);

	/* release: publishes the key, rate and count written before to the
	 * finders' acquire loads of used. */
	while (!shm_cas_weak(&s->used, &u,
	    (u & U_LOCKBITS) | v, release, relaxed))
		;
}

/* Take one count on s unless its key is being written; *got is the
 * count this pin made (the address's place, as the add ordered it). */
static int
limits_pin(struct shm_ip_slot *s, uint32_t *got)
{
	/* relaxed: a first guess for the CAS below. */
	uint32_t c = shm_load(&s->count, relaxed);

	/* acquire: pairs with the release store of count = 1 that ends a
	 * take (later counts continue its release sequence), so the key read
	 * next is the one written before it. */
	while (c != LIMITS_LOCK)
		if (shm_cas_weak(&s->count, &c, c + 1,
		    acquire, relaxed)) {
			*got = c + 1;
			return 1;
		}
	return 0;
}

static void
limits_unpin(struct shm_ip_slot *s)
{
	/* release: the key was read under this pin; a taker's writes of a
	 * new key must come after that read. Pairs with the acquire of the
	 * count CAS in limits_take (later gives-back continue the release
	 * sequence). */
	shm_fetch_sub(&s->count, 1, release);
}

/* With a pin on s: 1 if it holds key, 0 if not, -1 if it stayed BUSY. */
static int
limits_holds(struct shm_ip_slot *s, uint32_t tag, const uint8_t key[16])
{
	uint32_t u = limits_settle(s);

	if ((u & U_STATE) == U_BUSY)
		return -1;
	return (u & ~U_LOCKBITS) == ((tag << U_HIGH_SHIFT) | U_SET) &&
	    memcmp(s->addr, key, 16) == 0;
}

/*
 * Pin key's slot: its index, -1 if the window has none, -2 if a slot
 * stayed BUSY; *got as limits_pin. Unlocked, a BUSY slot is passed over
 * (the locked pass that follows a miss waits for it); locked, it is
 * waited for.
 */
static int
limits_lookup(struct shm_limits *l, uint32_t h, const uint8_t key[16],
    int locked, uint32_t *got)
{
	uint32_t tag = h >> U_HIGH_SHIFT, i;

	for (i = 0; i < LIMITS_PROBES; i++) {
		uint32_t idx = (h + i) & (SHM_IP_SLOTS - 1);
		struct shm_ip_slot *s = &l->ip[idx];
		uint32_t u;
		int r;

		/* acquire: as in limits_settle. */
		u = shm_load(&s->used, acquire);
		if ((u & U_STATE) == U_BUSY && locked &&
		    ((u = limits_settle(s)) & U_STATE) == U_BUSY)
			return -2;
		if ((u & ~U_LOCKBITS) != ((tag << U_HIGH_SHIFT) | U_SET) ||
		    !limits_pin(s, got))
			continue;
		if ((r = limits_holds(s, tag, key)) == 1)
			return (int)idx;
		limits_unpin(s);
		if (r < 0)
			return -2;
	}
	return -1;
}

/* Give s to key with one count on it, if s is FREE or idle. */
static int
limits_take(struct shm_ip_slot *s, uint32_t tag, const uint8_t key[16],
    int worker)
{
	uint32_t u, was, zero = 0;

	/* relaxed: the state seen only picks what to try; the CASes below
	 * decide. */
	u = shm_load(&s->used, relaxed);
	do {
		if ((u & U_STATE) == U_BUSY || ((u & U_STATE) == U_SET &&
		    shm_load(&s->count, relaxed) != 0))
			return 0;
		was = u & ~U_LOCKBITS;
		/* relaxed: BUSY only turns finders away; the count CAS
		 * below decides. */
	} while (!shm_cas_weak(&s->used, &u,
	    (u & U_LOCKBITS) | ((uint32_t)worker << U_HIGH_SHIFT) | U_BUSY,
	    relaxed, relaxed));
	/* acquire on success: pairs with the release of the last count given
	 * back (limits_unpin, limits_release), so every key read under those
	 * pins is done before the key is written below. LOCK then keeps new
	 * pins off; what they read is published by the release of count = 1
	 * below. */
	if (!shm_cas(&s->count, &zero,
	    LIMITS_LOCK, acquire, relaxed)) {
		limits_used_set(s, was);        /* pinned meanwhile: not idle */
		return 0;
	}
	memcpy(s->addr, key, 16);
	/* relaxed: published by the release of count = 1 below. */
	shm_store(&s->rate_window, 0, relaxed);
	shm_store(&s->rate_count, 0, relaxed);
	/* release: pairs with the acquire of limits_pin. */
	shm_store(&s->count, 1, release);
	limits_used_set(s, (tag << U_HIGH_SHIFT) | U_SET);
	return 1;
}

/* Under key's insert lock: pin its slot or give it one (*got = 1); -1
 * if none. */
static int
limits_insert(struct shm_limits *l, uint32_t h, const uint8_t key[16],
    int worker, uint32_t *got)
{
	struct shm_ip_slot *home = &l->ip[h & (SHM_IP_SLOTS - 1)];
	struct limits_wait w = { .spins = 0 };
	uint32_t u, i;
	int idx = -1;

	/* relaxed: waiting for the lock; the acquiring CAS orders. */
	u = shm_load(&home->used, relaxed);
	for (;;) {
		if (u & U_LOCKED) {
			if (!limits_wait(&w))
				return -1;
			u = shm_load(&home->used,
			    relaxed);
			continue;
		}
		/* acquire: pairs with the release of the unlock below, so
		 * the previous holder's slots are seen whole. */
		if (shm_cas_weak(&home->used, &u,
		    u | U_LOCKED | ((uint32_t)worker << U_HOLDER_SHIFT),
		    acquire, relaxed))
			break;
	}
	idx = limits_lookup(l, h, key, 1, got);
	for (i = 0; idx == -1 && i < LIMITS_PROBES; i++) {
		uint32_t at = (h + i) & (SHM_IP_SLOTS - 1);

		if (limits_take(&l->ip[at], h >> U_HIGH_SHIFT, key, worker)) {
			idx = (int)at;
			*got = 1;
		}
	}
	/* release: pairs with the acquire of the next holder's lock. */
	shm_fetch_and(&home->used, ~U_LOCKBITS,
	    release);
	return idx < 0 ? -1 : idx;
}

/* Find or make key's slot with one count taken on it, *got the count
 * that made; -1 if its window has no slot to give (or a dead worker's
 * mark is in the way). */
static int
limits_find(struct shm_limits *l, const uint8_t key[16], int worker,
    uint32_t *got)
{
	uint32_t h = limits_hash(l, key);
	int idx;

	if ((idx = limits_lookup(l, h, key, 0, got)) != -1)
		return idx < 0 ? -1 : idx;
	return limits_insert(l, h, key, worker, got);
}

/* New connections from slot s in second now, this one included. */
static uint32_t
limits_rate(struct shm_ip_slot *s, uint64_t now)
{
	/* relaxed throughout: a count per second, publishing nothing; the
	 * worker whose CAS moves the window starts its count. */
	uint64_t w = shm_load(&s->rate_window, relaxed);

	if (w != now && shm_cas(&s->rate_window, &w, now, relaxed, relaxed)) {
		shm_store(&s->rate_count, 1, relaxed);
		return 1;
	}
	return shm_fetch_add(&s->rate_count, 1, relaxed) + 1;
}

/* Limits on for sa (a loopback peer under exempt_loopback is not). */
static int
limits_on(const struct config *cfg, const struct sockaddr *sa)
{
	return cfg->connection_limit.enabled &&
	    !(cfg->connection_limit.exempt_loopback && limits_loopback(sa));
}

enum limits_verdict
limits_acquire_pin(struct shm_limits *l, const struct config *cfg,
    const struct sockaddr *sa, int worker, struct limits_hold *hold,
    uint32_t *place)
{
	uint8_t key[16];
	uint32_t total;
	int idx;

	hold->slot = 0;
	hold->total = 1;
	hold->worker = (uint8_t)worker;
	*place = 0;
	/* Shared count first, own row second (and the reverse on release):
	 * a death in between leaves a count behind rather than a wrap.
	 * relaxed: counts publish nothing; the limit is judged on the
	 * add's own result (adds to one word are totally ordered, so two
	 * workers never both get the last place). held_* are read only by
	 * a successor's limits_reclaim, after the master reaped this
	 * process (its exit orders every store before). */
	total = shm_fetch_add(&l->total, 1, relaxed) + 1;
	shm_fetch_add(&l->held_total[worker], 1, relaxed);
	if (cfg->connection_limit.enabled &&
	    cfg->connection_limit.max_connections > 0 &&
	    total > (uint32_t)cfg->connection_limit.max_connections) {
		limits_release(l, hold);
		return LIMITS_TOTAL;
	}
	/* A proxy on this host makes all its clients one loopback address:
	 * still counted in its slot (true counts if a reload ends the
	 * exemption), never refused for that address's count or rate. */
	limits_key(sa, cfg->connection_limit.ipv6_prefix, key);
	idx = limits_find(l, key, worker, place);
	if (idx < 0) {
		/* Untracked would escape the per-address limit. */
		if (!limits_on(cfg, sa))
			return LIMITS_OK;
		limits_release(l, hold);
		return LIMITS_FULL;
	}
	hold->slot = (uint16_t)(idx + 1);
	shm_fetch_add(&l->held[worker][idx], 1, relaxed);
	return LIMITS_OK;
}

enum limits_verdict
limits_acquire_judge(struct shm_limits *l, const struct config *cfg,
    const struct sockaddr *sa, uint64_t now, uint32_t place,
    struct limits_hold *hold)
{
	int on = limits_on(cfg, sa);
	struct shm_ip_slot *s;

	if (hold->slot == 0)
		return LIMITS_OK;       /* untracked, limits off for it */
	s = &l->ip[hold->slot - 1];
	/* Judged on the pin's own place, as the total is: of two workers
	 * pinning the last place, only the second refuses. (A load of the
	 * count after the pin could see both pins, and both would refuse.) */
	if (on && cfg->connection_limit.per_ip_limit > 0 &&
	    place > (uint32_t)cfg->connection_limit.per_ip_limit) {
		limits_release(l, hold);
		return LIMITS_PER_IP;
	}
	if (limits_rate(s, now) >
	    (uint32_t)cfg->connection_limit.per_ip_rate && on &&
	    cfg->connection_limit.per_ip_rate > 0) {
		limits_release(l, hold);
		return LIMITS_RATE;
	}
	return LIMITS_OK;
}

enum limits_verdict
limits_acquire(struct shm_limits *l, const struct config *cfg,
    const struct sockaddr *sa, uint64_t now, int worker,
    struct limits_hold *hold)
{
	enum limits_verdict v;
	uint32_t place;

	if ((v = limits_acquire_pin(l, cfg, sa, worker, hold, &place)) !=
	    LIMITS_OK)
		return v;
	return limits_acquire_judge(l, cfg, sa, now, place, hold);
}

void
limits_release(struct shm_limits *l, struct limits_hold *hold)
{
	/* relaxed: the per-worker and total counts publish nothing. */
	if (hold->slot != 0) {
		shm_fetch_sub(&l->held[hold->worker][hold->slot - 1], 1,
		    relaxed);
		/* release: as in limits_unpin (the key was read under it). */
		shm_fetch_sub(&l->ip[hold->slot - 1].count, 1, release);
	}
	if (hold->total) {
		shm_fetch_sub(&l->held_total[hold->worker], 1, relaxed);
		shm_fetch_sub(&l->total, 1, relaxed);
	}
	hold->slot = 0;
	hold->total = 0;
}

/* Undo what a dead worker left midway in slot s: its insert lock, and a
 * take (a written key is kept only if connections count on it). */
static void
limits_unmark(const struct shm_limits *l, struct shm_ip_slot *s, int worker)
{
	/* acquire: as in limits_settle. */
	uint32_t u = shm_load(&s->used, acquire);
	uint32_t c, lock = U_LOCKED | ((uint32_t)worker << U_HOLDER_SHIFT);

	/* release: as the unlock of limits_insert. */
	if ((u & U_LOCKBITS) == lock)
		shm_fetch_and(&s->used, ~U_LOCKBITS,
		    release);
	if (u >> U_HIGH_SHIFT != (uint32_t)worker || (u & U_STATE) != U_BUSY)
		return;
	/* relaxed: the dead taker wrote count last, before its reaping. */
	c = shm_load(&s->count, relaxed);
	if (c == 0 || c == LIMITS_LOCK) {
		/* relaxed: FREE is published by the release below. */
		shm_cas(&s->count, &c, 0,
		    relaxed, relaxed);
		limits_used_set(s, U_FREE);
	} else {
		/* The count was never locked: the old key is intact. */
		limits_used_set(s, (limits_hash(l, s->addr) >> U_HIGH_SHIFT) <<
		    U_HIGH_SHIFT | U_SET);
	}
}

unsigned
limits_reclaim(struct shm_limits *l, int worker)
{
	unsigned n;
	int i;

	/* relaxed: the dead worker's stores are ordered before this by its
	 * reaping; the counts given back publish nothing. */
	for (i = 0; i < SHM_IP_SLOTS; i++) {
		uint32_t h = shm_xchg(&l->held[worker][i], 0, relaxed);

		if (h != 0)
			shm_fetch_sub(&l->ip[i].count, h, relaxed);
		limits_unmark(l, &l->ip[i], worker);
	}
	n = shm_xchg(&l->held_total[worker], 0, relaxed);
	if (n != 0)
		shm_fetch_sub(&l->total, n, relaxed);
	return n;
}
