/*
 * The verified tree heads' double buffer (protocol in heads.h).
 *
 *   H1  put: mark, release fence, fill the unnamed slot, store gen + 1
 *       (release), clear the mark                       <-> H2, H3
 *   H2  get: load gen (acquire): the slot it names is whole.
 *   H3  get: copy the slot, acquire fence, load gen again: a copy that
 *       read any byte of a later put's finds gen moved (that put's fence
 *       is ordered before its bytes), and is made again. Puts are rare
 *       (one per new tree head), so a reader retries seldom. (A clear
 *       starts gen again at 0: a copy made across a clear and the put
 *       after it could see gen 1 twice. Only a log's changed key or kind
 *       clears, and the ingest that does it is the one reader that acts
 *       on a head.)
 *
 * Slot fields go through shm_field_get/_set: a reader may copy a slot a
 * put is rewriting (and then copies again), a race made defined.
 */
#include "shm/heads.h"

#include <string.h>

#include "shm/atomics.h"
#include "shm/mark.h"

_Static_assert(sizeof(((struct shm_log_status *)0)->verified[0].root) ==
    HEADS_HASH_LEN, "a root is a SHA-256");

static void
slot_write(struct shm_log_status *s, unsigned i, uint64_t size,
    const uint8_t root[HEADS_HASH_LEN])
{
	shm_field_set(s->verified[i].size, size);
	for (int k = 0; k < HEADS_HASH_LEN; k++)
		shm_field_set(s->verified[i].root[k], root[k]);
}

static uint64_t
slot_read(const struct shm_log_status *s, unsigned i,
    uint8_t root[HEADS_HASH_LEN])
{
	for (int k = 0; k < HEADS_HASH_LEN; k++)
		root[k] = shm_field_get(s->verified[i].root[k]);
	return shm_field_get(s->verified[i].size);
}

void
heads_put(struct shm_log_status *s, uint64_t size,
    const uint8_t root[HEADS_HASH_LEN])
{
	/* relaxed: the ingest is gen's only writer. */
	uint64_t g = shm_load(&s->verified_gen, relaxed);
	uint8_t cur[HEADS_HASH_LEN];

	/* the same head as the one the segment names: nothing to write */
	if (g > 0 && slot_read(s, g & 1, cur) == size &&
	    memcmp(cur, root, HEADS_HASH_LEN) == 0)
		return;
	shm_mark_set(&s->verified_mark, SHM_OWNER_INGEST);
	/* H1: the gen stored by the previous put is ordered before this
	 * put's slot bytes; pairs with H3's acquire fence. */
	shm_fence(release);
	slot_write(s, (g + 1) & 1, size, root);
	/* H1: the slot whole before gen names it; pairs with H2's acquire. */
	shm_store(&s->verified_gen, g + 1, release);
	shm_mark_clear(&s->verified_mark);
}

int
heads_get(const struct shm_log_status *s, uint64_t *size,
    uint8_t root[HEADS_HASH_LEN])
{
	const _Atomic uint64_t *gen = &s->verified_gen;
	uint64_t g1, g2;

	for (;;) {
		/* H2: pairs with H1's release: the named slot is whole. */
		g1 = shm_load(gen, acquire);
		if (g1 == 0)
			return -1;
		*size = slot_read(s, g1 & 1, root);
		/* H3: the copy before the second look at gen; pairs with
		 * H1's release fence: a put whose bytes the copy read shows
		 * as a gen other than g1. */
		shm_fence(acquire);
		g2 = shm_load(gen, relaxed);
		if (g2 == g1)
			return 0;
	}
}

void
heads_clear(struct shm_log_status *s)
{
	/* release: as H1 (nothing is named any more). */
	shm_store(&s->verified_gen, 0, release);
}

int
heads_reclaim(struct shm_log_status *s)
{
	uint64_t g;

	if (shm_mark_owner(&s->verified_mark) != SHM_OWNER_INGEST)
		return 0;
	/* relaxed: the dead ingest's stores are ordered before this by its
	 * reaping, and nobody else writes. The slot it was filling is the
	 * unnamed one: zeroed, so nothing of it is ever read as a head. */
	g = shm_load(&s->verified_gen, relaxed);
	slot_write(s, (g + 1) & 1, 0, (const uint8_t[HEADS_HASH_LEN]){ 0 });
	shm_mark_clear(&s->verified_mark);
	return 1;
}

void
heads_carry(struct shm_log_status *to, const struct shm_log_status *from)
{
	uint64_t size;
	uint8_t root[HEADS_HASH_LEN];

	if (heads_get(from, &size, root) != 0)
		return;
	/* relaxed: to is not shared yet. */
	slot_write(to, 1, size, root);
	shm_store(&to->verified_gen, 1, relaxed);
	shm_store(&to->verified_mark, 0, relaxed);
}
