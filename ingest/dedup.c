/*
 * Bounded TTL set of certificate hashes.
 *
 * fifo[] holds keys in insertion order (a ring of cap entries, head = oldest);
 * idx[] is a linear-probing table of fifo positions + 1 (0 = empty), twice
 * as large as cap or more, so probes stay short. Removal uses backward-shift
 * deletion, so there are no tombstones and lookups never degrade.
 */
#include "ingest/dedup.h"

#include <stdlib.h>
#include <string.h>

struct dedup_ent {
	uint8_t key[DEDUP_KEY_LEN];
	int64_t t;
};

struct dedup {
	struct dedup_ent *fifo;
	uint32_t *idx;
	size_t cap, head, n;
	size_t mask;            /* idx size - 1 */
	int64_t ttl;
};

struct dedup *
dedup_new(size_t max_entries, int64_t ttl_secs)
{
	struct dedup *d;
	size_t sz = 16;

	if (max_entries == 0 || max_entries > UINT32_MAX / 4)
		return NULL;
	while (sz < max_entries * 2)
		sz <<= 1;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->fifo = calloc(max_entries, sizeof(*d->fifo));
	d->idx = calloc(sz, sizeof(*d->idx));
	if (d->fifo == NULL || d->idx == NULL) {
		dedup_free(d);
		return NULL;
	}
	d->cap = max_entries;
	d->mask = sz - 1;
	d->ttl = ttl_secs;
	return d;
}

void
dedup_free(struct dedup *d)
{
	if (d == NULL)
		return;
	free(d->fifo);
	free(d->idx);
	free(d);
}

/* The key is already a SHA-256: any 8 bytes of it are a good hash. */
static size_t
slot_of(const struct dedup *d, const uint8_t *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & d->mask;
}

/* Table position holding fifo position pos (which must be present). */
static size_t
find_pos(const struct dedup *d, size_t pos)
{
	size_t i = slot_of(d, d->fifo[pos].key);

	while (d->idx[i] != pos + 1)
		i = (i + 1) & d->mask;
	return i;
}

static void
drop_oldest(struct dedup *d)
{
	size_t i = find_pos(d, d->head), j, k;

	/* Backward-shift: pull later entries of the probe run into the hole
	 * when their home slot does not lie cyclically in (i, j]. */
	d->idx[i] = 0;
	j = i;
	for (;;) {
		j = (j + 1) & d->mask;
		if (d->idx[j] == 0)
			break;
		k = slot_of(d, d->fifo[d->idx[j] - 1].key);
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			d->idx[i] = d->idx[j];
			d->idx[j] = 0;
			i = j;
		}
	}
	d->head = (d->head + 1) % d->cap;
	d->n--;
}

int
dedup_check(struct dedup *d, const uint8_t key[DEDUP_KEY_LEN], int64_t now)
{
	size_t i, pos;

	/* Expire from the old end first: everything older than ttl is gone. */
	while (d->n > 0 && now - d->fifo[d->head].t >= d->ttl)
		drop_oldest(d);
	for (i = slot_of(d, key); d->idx[i] != 0; i = (i + 1) & d->mask)
		if (memcmp(d->fifo[d->idx[i] - 1].key, key, DEDUP_KEY_LEN) == 0)
			return 1;
	if (d->n == d->cap) {
		drop_oldest(d);
		/* the hole may now be earlier in this probe run */
		for (i = slot_of(d, key); d->idx[i] != 0; i = (i + 1) & d->mask)
			;
	}
	pos = (d->head + d->n) % d->cap;
	memcpy(d->fifo[pos].key, key, DEDUP_KEY_LEN);
	d->fifo[pos].t = now;
	d->idx[i] = (uint32_t)pos + 1;
	d->n++;
	return 0;
}

size_t
dedup_size(const struct dedup *d)
{
	return d->n;
}
