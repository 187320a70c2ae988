/*
 * Surviving kill -9 in the middle of a shared-memory update: the one idiom
 * every protocol here that a process changes in several steps uses (the
 * limits table, shm/limits.c; the dedup set, shm/dedup.c; the verified
 * tree heads, shm/heads.c). The ring needs none: its writer's resume rule
 * (ring_writer_init) and its tail make every step of a publish safe to
 * stop after.
 *
 *   Owner.   Every process that writes has an owner id that its successor
 *            inherits: worker i is i (the master restarts worker i as i),
 *            the ingest is SHM_OWNER_INGEST.
 *   Mark.    Before the first store of an update that must not be seen
 *            half done, the writer puts its owner id into the word being
 *            changed (a slot's state word, a set's header, a log's heads
 *            word); the last store of the update takes the mark away.
 *            Marked data is never trusted: a reader passes over it, or
 *            waits a bounded time for it (a live writer is quick) and then
 *            treats it as absent.
 *   Reclaim. The successor of a dead process, before it changes anything,
 *            runs each protocol's reclaim pass for its own owner id
 *            (limits_reclaim, dedup_open, heads_reclaim): every mark with
 *            that id is undone, rolled back to what was there or cleared,
 *            and any count the dead process held is given back. A mark of
 *            another owner is never touched: its owner may be alive (the
 *            dedup set is the ingest's alone: any other mark there is a
 *            planted block, which dedup_open never keeps).
 *
 * A single-writer word holds owner + 1 (0: no mark) and goes through the
 * helpers below; the limits table packs the mark into its slots' state
 * word beside the state (layout in limits.c) and so writes it itself.
 */
#ifndef SHM_MARK_H
#define SHM_MARK_H

#include <stdint.h>

#include "shm/atomics.h"
#include "shm/layout.h"

#define SHM_OWNER_INGEST SHM_MAX_WORKERS

/*
 * Put owner's mark on m before the update's stores. A single-writer mark
 * is read by the writer's successor only, after the writer died: every
 * store the dead process made is visible by then (its reaping orders
 * them), so what matters is only that the mark's store runs before the
 * update's, which a compiler barrier ensures (a kill stops a process
 * between two instructions, never inside the store order the CPU drains).
 */
static inline void
shm_mark_set(_Atomic uint32_t *m, unsigned owner)
{
	shm_store(m, owner + 1, relaxed);
	/* the compiler keeps the update's stores after it */
	shm_compiler_fence();
}

/* Take the mark away: the update is whole. */
static inline void
shm_mark_clear(_Atomic uint32_t *m)
{
	/* release: the update's stores before the mark's removal; pairs
	 * with the acquire in shm_mark_owner (a successor that finds no
	 * mark finds the update whole). */
	shm_store(m, 0, release);
}

/* The owner whose mark is on m, or -1. */
static inline int
shm_mark_owner(const _Atomic uint32_t *m)
{
	/* acquire: pairs with the release of shm_mark_clear. */
	uint32_t v = shm_load(m, acquire);

	return v == 0 ? -1 : (int)(v - 1);
}

#endif
