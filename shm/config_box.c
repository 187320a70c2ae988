/*
 * The configuration box: a seqlock with one writer (the master). Reloads
 * are rare and a reader copies a few kilobytes, so a reader that meets a
 * write in progress simply copies again.
 */
#include "shm/config_box.h"

#include <sched.h>
#include <string.h>

#include "shm/atomics.h"

void
config_box_put(struct shm_seg *seg, const struct config *cfg)
{
	struct shm_config_box *b = seg->config;
	/* relaxed: the master is gen's only writer. */
	uint64_t g = shm_load(&b->gen, relaxed);

	/* B1: gen odd before any byte of cfg changes; pairs with B4. */
	shm_store(&b->gen, g + 1, relaxed);
	shm_fence(release);
	memcpy(&b->cfg, cfg, sizeof(*cfg));
	/* B2: cfg complete before gen is even again; pairs with B3. */
	shm_store(&b->gen, g + 2, release);
}

uint64_t
config_box_get(const struct shm_seg *seg, struct config *out)
{
	const struct shm_config_box *b = seg->config;
	uint64_t g1, g2;

	for (;;) {
		/* B3: pairs with B2. */
		g1 = shm_load(&b->gen, acquire);
		if (g1 == 0)
			return 0;
		if (g1 & 1) {
			sched_yield();
			continue;
		}
		memcpy(out, &b->cfg, sizeof(*out));
		/* B4: the copy before the second look at gen; pairs with B1. */
		shm_fence(acquire);
		g2 = shm_load(&b->gen, relaxed);
		if (g1 == g2)
			return g1 / 2;
	}
}
