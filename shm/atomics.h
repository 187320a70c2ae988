/*
 * The atomic operations of the project: the shared-memory protocols
 * (shm/), the figures every process keeps in the segment, and the few
 * in-process flags and counters threads share. Every atomic access goes
 * through these, and each takes its memory order by name (relaxed,
 * acquire, release, acq_rel, seq_cst), so no access is seq_cst by
 * default. A call site says in a comment which edge its order pairs with
 * ("release: pairs with the acquire in ring_peek"); a seq_cst one says
 * why nothing weaker serves.
 *
 * Statistics (the counters and gauges of shm/layout.h's stats and log
 * status) are relaxed on both sides: each figure is read alone for
 * /metrics and /health, orders nothing and pairs with no other access,
 * and may lag another figure by a few adds.
 *
 *   shm_load(p, o)                 atomic load
 *   shm_store(p, v, o)             atomic store
 *   shm_xchg(p, v, o)              exchange, the old value
 *   shm_fetch_add(p, v, o)         add, the old value (also _sub, _and)
 *   shm_cas(p, &e, d, o, fo)       strong compare-exchange: 1 if *p was e
 *                                  and is now d, else 0 and e = *p; o on
 *                                  success, fo on failure
 *   shm_cas_weak(...)              the same, may fail spuriously (loops)
 *   shm_fence(o)                   thread fence
 *   shm_compiler_fence()           keeps the compiler from moving memory
 *                                  accesses across it (no CPU fence)
 *   shm_stat(p)                    a statistic's load (relaxed, above)
 *   shm_field_get(f) / _set(f, v)  a plain (non-_Atomic) field read or
 *                                  written relaxed: for fields a reader
 *                                  may read while they are rewritten and
 *                                  validates after (a seqlock's payload),
 *                                  so the race is defined and
 *                                  ThreadSanitizer checks it. Plain moves.
 */
#ifndef SHM_ATOMICS_H
#define SHM_ATOMICS_H

#include <stdatomic.h>

#define SHM_MO(o) memory_order_##o

#define shm_load(p, o) atomic_load_explicit((p), SHM_MO(o))
#define shm_store(p, v, o) atomic_store_explicit((p), (v), SHM_MO(o))
#define shm_xchg(p, v, o) atomic_exchange_explicit((p), (v), SHM_MO(o))
#define shm_fetch_add(p, v, o) atomic_fetch_add_explicit((p), (v), SHM_MO(o))
#define shm_fetch_sub(p, v, o) atomic_fetch_sub_explicit((p), (v), SHM_MO(o))
#define shm_fetch_and(p, v, o) atomic_fetch_and_explicit((p), (v), SHM_MO(o))
#define shm_cas(p, e, d, o, fo) atomic_compare_exchange_strong_explicit((p), \
	(e), (d), SHM_MO(o), SHM_MO(fo))
#define shm_cas_weak(p, e, d, o, fo) atomic_compare_exchange_weak_explicit( \
	(p), (e), (d), SHM_MO(o), SHM_MO(fo))
#define shm_fence(o) atomic_thread_fence(SHM_MO(o))
#define shm_compiler_fence() atomic_signal_fence(memory_order_seq_cst)
#define shm_stat(p) shm_load((p), relaxed)

#define shm_field_get(f) __atomic_load_n(&(f), __ATOMIC_RELAXED)
#define shm_field_set(f, v) __atomic_store_n(&(f), (v), __ATOMIC_RELAXED)

#endif
