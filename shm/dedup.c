/*
 * Bounded TTL set of certificate hashes, in its own shared-memory segment.
 *
 * fifo[] holds keys in insertion order (a ring of cap entries, head = oldest);
 * idx[] is a linear-probing table of fifo positions + 1 (0 = empty), twice
 * as large as cap or more, so probes stay short. Removal uses backward-shift
 * deletion, so there are no tombstones and lookups never degrade.
 *
 * One process uses a set at a time (the ingest): the fifo, the index and
 * head/n are plain memory, and only a successor reads them, after the
 * ingest that wrote them died. A change is marked (shm/mark.h) with the
 * ingest's owner id in the header's mark word; dedup_open is the reclaim
 * pass: a set found marked was torn mid-change and is cleared.
 */
#include "shm/dedup.h"

#include <stdio.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/mark.h"

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
	_Atomic uint32_t mark;  /* owner + 1 while changing: torn if found */
	uint32_t pad;
};

struct dedup {
	struct dedup_hdr *h;
	struct dedup_ent *fifo;
	uint32_t *idx;
	/* Sizes are this process's own, never read back from the block:
	 * a shared block is only trusted for head, n and the index values,
	 * each checked against these before use. */
	size_t cap, sz, mask;   /* mask = sz - 1 */
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
dedup_bind(struct dedup *d, void *block, size_t len, size_t cap, size_t sz)
{
	d->block = block;
	d->len = len;
	d->cap = cap;
	d->sz = sz;
	d->mask = sz - 1;
	d->h = block;
	d->fifo = (struct dedup_ent *)(d->h + 1);
	d->idx = (uint32_t *)(d->fifo + cap);
}

static void
dedup_clear(struct dedup *d)
{
	memset(d->block, 0, d->len);
	d->h->cap = d->cap;
	d->h->sz = d->sz;
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

/*
 * A set found in shared memory is kept only if it is whole: our sizes, not
 * torn, head and n in range, and every index entry names a live fifo
 * position, n of them. Read once, here, before anything uses it.
 */
static int
dedup_valid(const struct dedup *d)
{
	/* Each word read once (shm_field_get): a planted block may be
	 * written by its planter meanwhile. */
	const struct dedup_hdr *h = d->h;
	uint64_t head = shm_field_get(h->head), n = shm_field_get(h->n);
	uint64_t used = 0, v;

	/* the ingest's mark: torn by a kill, and this is the reclaim (the
	 * set is cleared); any other mark: planted; neither is kept */
	if (shm_field_get(h->magic) != DEDUP_MAGIC ||
	    shm_field_get(h->cap) != d->cap || shm_field_get(h->sz) != d->sz ||
	    shm_mark_owner(&h->mark) != -1 || head >= d->cap || n > d->cap)
		return 0;
	for (size_t i = 0; i < d->sz; i++) {
		if ((v = shm_field_get(d->idx[i])) == 0)
			continue;
		if (v > d->cap || (v - 1 + d->cap - head) % d->cap >= n)
			return 0;
		used++;
	}
	return used == n;
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
	dedup_bind(d, block, len, max_entries, sz);
	dedup_clear(d);
	d->ttl = ttl_secs;
	return d;
}

/*
 * The existing block at name, mapped, if it can only be ours: a regular
 * file of this user, mode 0600 (we create it so, with O_EXCL: nobody else
 * ever had it open), of the exact size. -1 if absent or not ours.
 */
static int
dedup_map_own(const char *name, size_t len, void **block)
{
	struct stat st;
	int fd, rc = -1;

	if ((fd = shm_open(name, O_RDWR, 0)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 07777) != 0600 ||
	    (uint64_t)st.st_size != len)
		goto out;
	*block = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*block != MAP_FAILED)
		rc = 0;
out:
	close(fd);
	return rc;
}

/* A new block at name, created by this call (O_EXCL) with mode 0600. */
static int
dedup_map_new(const char *name, size_t len, void **block)
{
	int fd, rc = -1;

	/* Whatever is there is not ours to keep (a planted file, a wrong
	 * size): out of the way, or O_EXCL fails and we stay private. */
	(void)shm_unlink(name);
	if ((fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600)) == -1)
		return -1;
	/* umask may have taken bits: 0600 is what the next opener checks. */
	if (fchmod(fd, 0600) == -1 || ftruncate(fd, (off_t)len) == -1)
		goto out;
	*block = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*block != MAP_FAILED)
		rc = 0;
out:
	close(fd);
	if (rc == -1)
		(void)shm_unlink(name);
	return rc;
}

/* A set over a shared block (owned from now on), or NULL (unmapped). */
static struct dedup *
dedup_over(void *block, size_t len, size_t cap, size_t sz, int64_t ttl_secs)
{
	struct dedup *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		munmap(block, len);
		return NULL;
	}
	dedup_bind(d, block, len, cap, sz);
	d->mapped = 1;
	d->ttl = ttl_secs;
	return d;
}

struct dedup *
dedup_open(const char *name, size_t max_entries, int64_t ttl_secs,
    int *kept)
{
	struct dedup *d;
	void *block = MAP_FAILED;
	size_t sz, len;

	*kept = 0;
	if (dedup_plan(max_entries, &sz) < 0)
		return NULL;
	len = dedup_len(max_entries, sz);
	if (dedup_map_own(name, len, &block) == 0) {
		if ((d = dedup_over(block, len, max_entries, sz, ttl_secs)) == NULL)
			return NULL;
		if (dedup_valid(d))
			*kept = 1;
		else
			dedup_clear(d);
		return d;
	}
	if (dedup_map_new(name, len, &block) == -1)
		/* The name is taken by something we may not remove: a set
		 * of our own in private memory, not kept across restarts. */
		return dedup_new(max_entries, ttl_secs);
	if ((d = dedup_over(block, len, max_entries, sz, ttl_secs)) != NULL)
		dedup_clear(d);
	return d;
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

/*
 * One pass of dedup_check over a shared block. head and n are this call's
 * copies (read once, checked); every index value is read once into a local
 * and checked against cap before it selects a fifo entry, and every probe
 * run is bounded by the table size. -1: the block is inconsistent (a torn
 * or tampered set); the caller clears it.
 */
struct dedup_op {
	struct dedup *d;
	uint64_t head, n;
};

/* Index value at slot i: 0 (empty), a fifo position + 1, or -1 if bad. */
static int64_t
op_idx(const struct dedup_op *o, size_t i)
{
	uint32_t v = shm_field_get(o->d->idx[i]);	/* read once */

	return v <= o->d->cap ? (int64_t)v : -1;
}

/* Table slot holding fifo position pos, or -1 if it is not there. */
static int64_t
op_find_pos(const struct dedup_op *o, size_t pos)
{
	size_t i = slot_of(o->d, o->d->fifo[pos].key);
	int64_t v;

	for (size_t probes = 0; probes < o->d->sz; probes++) {
		if ((v = op_idx(o, i)) <= 0)
			return -1;
		if ((size_t)v == pos + 1)
			return (int64_t)i;
		i = (i + 1) & o->d->mask;
	}
	return -1;
}

static int
op_drop_oldest(struct dedup_op *o)
{
	struct dedup *d = o->d;
	int64_t at = op_find_pos(o, (size_t)o->head), v;
	size_t i, j, k;

	if (at < 0)
		return -1;
	/* Backward-shift: pull later entries of the probe run into the hole
	 * when their home slot does not lie cyclically in (i, j]. */
	i = (size_t)at;
	d->idx[i] = 0;
	j = i;
	for (size_t probes = 0;; probes++) {
		if (probes == d->sz)
			return -1;
		j = (j + 1) & d->mask;
		if ((v = op_idx(o, j)) < 0)
			return -1;
		if (v == 0)
			break;
		k = slot_of(d, d->fifo[v - 1].key);
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			d->idx[i] = (uint32_t)v;
			d->idx[j] = 0;
			i = j;
		}
	}
	o->head = (o->head + 1) % d->cap;
	o->n--;
	return 0;
}

/* First empty slot of key's probe run in *slot, 0; or 1 if key is present,
 * its slot in *slot. */
static int
op_lookup(const struct dedup_op *o, const uint8_t *key, size_t *slot)
{
	size_t i = slot_of(o->d, key);
	int64_t v;

	for (size_t probes = 0; probes < o->d->sz; probes++) {
		if ((v = op_idx(o, i)) < 0)
			return -1;
		if (v == 0) {
			*slot = i;
			return 0;
		}
		if (memcmp(o->d->fifo[v - 1].key, key, DEDUP_KEY_LEN) == 0) {
			*slot = i;
			return 1;
		}
		i = (i + 1) & o->d->mask;
	}
	return -1;
}

static int
op_check(struct dedup *d, const uint8_t key[DEDUP_KEY_LEN], int64_t now)
{
	struct dedup_op o = { d, d->h->head, d->h->n };
	size_t i = 0, pos;
	int r;

	if (o.head >= d->cap || o.n > d->cap)
		return -1;
	/* Expire from the old end first: everything older than ttl is gone. */
	while (o.n > 0 && now - d->fifo[o.head].t >= d->ttl)
		if (op_drop_oldest(&o) < 0)
			return -1;
	if ((r = op_lookup(&o, key, &i)) != 0)
		goto done;
	if (o.n == d->cap) {
		if (op_drop_oldest(&o) < 0)
			return -1;
		/* the hole may now be earlier in this probe run */
		if (op_lookup(&o, key, &i) != 0)
			return -1;
	}
	pos = (o.head + o.n) % d->cap;
	memcpy(d->fifo[pos].key, key, DEDUP_KEY_LEN);
	d->fifo[pos].t = now;
	d->idx[i] = (uint32_t)pos + 1;
	o.n++;
done:
	d->h->head = o.head;
	d->h->n = o.n;
	return r;
}

int
dedup_check(struct dedup *d, const uint8_t key[DEDUP_KEY_LEN], int64_t now)
{
	int r;

	/* The mark brackets every change: a set left torn by a killed
	 * ingest is cleared by the next one. A set found inconsistent is
	 * cleared too: forgetting what was seen beats trusting it (a late
	 * duplicate streams again). */
	shm_mark_set(&d->h->mark, SHM_OWNER_INGEST);
	if ((r = op_check(d, key, now)) < 0) {
		dedup_clear(d);
		shm_mark_set(&d->h->mark, SHM_OWNER_INGEST);
		r = op_check(d, key, now);
	}
	shm_mark_clear(&d->h->mark);
	return r;
}

int
dedup_seen(struct dedup *d, const uint8_t key[DEDUP_KEY_LEN], int64_t now)
{
	struct dedup_op o = { d, d->h->head, d->h->n };
	size_t i = 0;
	int64_t v;

	/* read only: a set found inconsistent is dedup_check's to clear */
	if (o.head >= d->cap || o.n > d->cap || op_lookup(&o, key, &i) != 1 ||
	    (v = op_idx(&o, i)) <= 0)
		return 0;
	return now - d->fifo[v - 1].t < d->ttl;
}

size_t
dedup_size(const struct dedup *d)
{
	uint64_t n = d->h->n;

	return n <= d->cap ? (size_t)n : 0;
}

void
dedup_shm_name(const char *seg_name, char name[DEDUP_NAME_MAX])
{
	if (seg_name[0] == '\0')
		name[0] = '\0';
	else
		snprintf(name, DEDUP_NAME_MAX, "%.63s-dedup", seg_name);
}

void
dedup_remove(const char *seg_name)
{
	char name[DEDUP_NAME_MAX];

	dedup_shm_name(seg_name, name);
	if (name[0] != '\0')
		(void)shm_unlink(name);
}
