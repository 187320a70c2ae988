/*
 * Bounded TTL set of certificate hashes.
 *
 * fifo[] holds keys in insertion order (a ring of cap entries, head = oldest);
 * idx[] is a linear-probing table of fifo positions + 1 (0 = empty), twice
 * as large as cap or more, so probes stay short. Removal uses backward-shift
 * deletion, so there are no tombstones and lookups never degrade.
 */
#include "ingest/dedup.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct dedup_ent {
	uint8_t key[DEDUP_KEY_LEN];
	int64_t t;
};

#define DEDUP_MAGIC 0x4445445550303031ULL /* "DEDUP001" */

/* First in the block; the fifo and the index follow. In a named segment
 * all of it outlives the ingest, so only sizes and positions live here. */
struct dedup_hdr {
	uint64_t magic;
	uint64_t cap, sz;       /* fifo entries; index slots (power of two) */
	uint64_t head, n;
	uint32_t busy;          /* set while changing: torn if found set */
	uint32_t pad;
};

struct dedup {
	struct dedup_hdr *h;
	struct dedup_ent *fifo;
	uint32_t *idx;
	size_t mask;            /* idx size - 1 */
	int64_t ttl;
	void *block;
	size_t len;
	int mapped;             /* block is a shared mapping */
};

static size_t
dedup_len(size_t cap, size_t sz)
{
	return sizeof(struct dedup_hdr) + cap * sizeof(struct dedup_ent) +
	    sz * sizeof(uint32_t);
}

static void
dedup_bind(struct dedup *d, void *block, size_t len)
{
	d->block = block;
	d->len = len;
	d->h = block;
	d->fifo = (struct dedup_ent *)(d->h + 1);
	d->idx = (uint32_t *)(d->fifo + d->h->cap);
	d->mask = (size_t)d->h->sz - 1;
}

static void
dedup_clear(struct dedup *d, size_t cap, size_t sz)
{
	memset(d->block, 0, d->len);
	d->h->cap = cap;
	d->h->sz = sz;
	d->h->magic = DEDUP_MAGIC;
}

static int
dedup_plan(size_t max_entries, size_t *sz)
{
	if (max_entries == 0 || max_entries > UINT32_MAX / 4)
		return -1;
	for (*sz = 16; *sz < max_entries * 2; *sz <<= 1)
		;
	return 0;
}

struct dedup *
dedup_new(size_t max_entries, int64_t ttl_secs)
{
	struct dedup *d;
	void *block;
	size_t sz, len;

	if (dedup_plan(max_entries, &sz) < 0)
		return NULL;
	len = dedup_len(max_entries, sz);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if ((block = calloc(1, len)) == NULL) {
		free(d);
		return NULL;
	}
	((struct dedup_hdr *)block)->cap = max_entries;
	((struct dedup_hdr *)block)->sz = sz;
	dedup_bind(d, block, len);
	dedup_clear(d, max_entries, sz);
	d->ttl = ttl_secs;
	return d;
}

struct dedup *
dedup_open(const char *name, size_t max_entries, int64_t ttl_secs,
    int *kept)
{
	struct dedup_hdr h;
	struct dedup *d;
	struct stat st;
	void *block;
	size_t sz, len;
	int fd;

	*kept = 0;
	if (dedup_plan(max_entries, &sz) < 0)
		return NULL;
	len = dedup_len(max_entries, sz);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if ((fd = shm_open(name, O_RDWR | O_CREAT, 0600)) == -1) {
		free(d);
		return NULL;
	}
	/* Kept only if it is a whole set of the same sizes, not torn. */
	if (fstat(fd, &st) == 0 && (size_t)st.st_size == len &&
	    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	    h.magic == DEDUP_MAGIC && h.cap == max_entries && h.sz == sz &&
	    h.busy == 0 && h.n <= h.cap && h.head < h.cap)
		*kept = 1;
	else if (ftruncate(fd, 0) == -1 || ftruncate(fd, (off_t)len) == -1)
		goto fail;
	block = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (block == MAP_FAILED)
		goto fail;
	close(fd);
	((struct dedup_hdr *)block)->cap = max_entries;
	((struct dedup_hdr *)block)->sz = sz;
	dedup_bind(d, block, len);
	d->mapped = 1;
	if (!*kept)
		dedup_clear(d, max_entries, sz);
	d->ttl = ttl_secs;
	return d;
fail:
	close(fd);
	free(d);
	return NULL;
}

void
dedup_free(struct dedup *d)
{
	if (d == NULL)
		return;
	if (d->mapped)
		munmap(d->block, d->len);
	else
		free(d->block);
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
	size_t i = find_pos(d, d->h->head), j, k;

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
	d->h->head = (d->h->head + 1) % d->h->cap;
	d->h->n--;
}

int
dedup_check(struct dedup *d, const uint8_t key[DEDUP_KEY_LEN], int64_t now)
{
	size_t i, pos;

	/* Expire from the old end first: everything older than ttl is gone.
	 * busy brackets every change: a set left torn by a killed ingest is
	 * cleared by the next one. */
	d->h->busy = 1;
	while (d->h->n > 0 && now - d->fifo[d->h->head].t >= d->ttl)
		drop_oldest(d);
	for (i = slot_of(d, key); d->idx[i] != 0; i = (i + 1) & d->mask)
		if (memcmp(d->fifo[d->idx[i] - 1].key, key, DEDUP_KEY_LEN) == 0) {
			d->h->busy = 0;
			return 1;
		}
	if (d->h->n == d->h->cap) {
		drop_oldest(d);
		/* the hole may now be earlier in this probe run */
		for (i = slot_of(d, key); d->idx[i] != 0; i = (i + 1) & d->mask)
			;
	}
	pos = (d->h->head + d->h->n) % d->h->cap;
	memcpy(d->fifo[pos].key, key, DEDUP_KEY_LEN);
	d->fifo[pos].t = now;
	d->idx[i] = (uint32_t)pos + 1;
	d->h->n++;
	d->h->busy = 0;
	return 0;
}

size_t
dedup_size(const struct dedup *d)
{
	return d->h->n;
}
