/* Cross-log dedup: TTL, bounded size, table integrity under churn. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/dedup.h"
#include "shm/mark.h"

Suite *dedup_suite(void);

static void
key_of(uint32_t n, uint8_t key[DEDUP_KEY_LEN])
{
	uint32_t x = n * 2654435761u;

	memset(key, 0, DEDUP_KEY_LEN);
	memcpy(key, &x, sizeof(x));
	memcpy(key + 8, &n, sizeof(n));
}

START_TEST(second_sighting_is_a_duplicate)
{
	struct dedup *d = dedup_new(100, 60);
	uint8_t a[DEDUP_KEY_LEN], b[DEDUP_KEY_LEN];

	ck_assert_ptr_nonnull(d);
	key_of(1, a);
	key_of(2, b);
	ck_assert_int_eq(dedup_check(d, a, 1000), 0);
	ck_assert_int_eq(dedup_check(d, a, 1001), 1);
	ck_assert_int_eq(dedup_check(d, b, 1002), 0);
	ck_assert_int_eq(dedup_check(d, b, 1003), 1);
	ck_assert_uint_eq(dedup_size(d), 2);
	dedup_free(d);
}
END_TEST

/* dedup_seen asks without remembering: the ingest asks before rendering
 * and remembers only a certificate that rendered. */
START_TEST(seen_asks_without_remembering)
{
	struct dedup *d = dedup_new(100, 60);
	uint8_t a[DEDUP_KEY_LEN], b[DEDUP_KEY_LEN];

	ck_assert_ptr_nonnull(d);
	key_of(1, a);
	key_of(2, b);
	ck_assert_int_eq(dedup_seen(d, a, 1000), 0);
	ck_assert_int_eq(dedup_seen(d, a, 1000), 0);
	ck_assert_uint_eq(dedup_size(d), 0);
	ck_assert_int_eq(dedup_check(d, a, 1000), 0);
	ck_assert_int_eq(dedup_seen(d, a, 1001), 1);
	ck_assert_int_eq(dedup_seen(d, b, 1001), 0);
	/* past the TTL, even before dedup_check expires it */
	ck_assert_int_eq(dedup_seen(d, a, 1059), 1);
	ck_assert_int_eq(dedup_seen(d, a, 1060), 0);
	ck_assert_uint_eq(dedup_size(d), 1);
	dedup_free(d);
}
END_TEST

START_TEST(entries_expire_after_ttl)
{
	struct dedup *d = dedup_new(100, 60);
	uint8_t a[DEDUP_KEY_LEN], b[DEDUP_KEY_LEN];

	key_of(1, a);
	key_of(2, b);
	ck_assert_int_eq(dedup_check(d, a, 1000), 0);
	ck_assert_int_eq(dedup_check(d, b, 1030), 0);
	ck_assert_int_eq(dedup_check(d, a, 1059), 1);
	ck_assert_int_eq(dedup_check(d, a, 1060), 0);   /* expired, seen anew */
	ck_assert_int_eq(dedup_check(d, b, 1089), 1);
	ck_assert_uint_eq(dedup_size(d), 2);
	ck_assert_int_eq(dedup_check(d, b, 1200), 0);
	ck_assert_uint_eq(dedup_size(d), 1);
	dedup_free(d);
}
END_TEST

/* Memory is bounded: past max_entries the oldest keys are forgotten, the
 * newest are still found. */
START_TEST(size_is_bounded)
{
	struct dedup *d = dedup_new(1000, 3600);
	uint8_t k[DEDUP_KEY_LEN];
	uint32_t i;

	for (i = 0; i < 5000; i++) {
		key_of(i, k);
		ck_assert_int_eq(dedup_check(d, k, 10), 0);
		ck_assert_uint_le(dedup_size(d), 1000);
	}
	ck_assert_uint_eq(dedup_size(d), 1000);
	for (i = 4000; i < 5000; i++) {
		key_of(i, k);
		ck_assert_int_eq(dedup_check(d, k, 11), 1);
	}
	key_of(0, k);
	ck_assert_int_eq(dedup_check(d, k, 11), 0);
	dedup_free(d);
}
END_TEST

/* Keys that collide in the table: deleting from the middle of probe runs
 * must keep every live key reachable. */
START_TEST(colliding_keys_survive_deletions)
{
	struct dedup *d = dedup_new(16, 3600);
	uint8_t k[DEDUP_KEY_LEN];
	uint32_t i, j;

	ck_assert_ptr_nonnull(d);
	for (i = 0; i < 2000; i++) {
		memset(k, 0, sizeof(k));
		k[0] = (uint8_t)(i % 3);       /* three home slots only */
		memcpy(k + 16, &i, sizeof(i));
		ck_assert_int_eq(dedup_check(d, k, 5), 0);
		for (j = i > 15 ? i - 15 : 0; j <= i; j++) {
			memset(k, 0, sizeof(k));
			k[0] = (uint8_t)(j % 3);
			memcpy(k + 16, &j, sizeof(j));
			ck_assert_msg(dedup_check(d, k, 5) == 1, "lost %u at %u", j, i);
		}
	}
	dedup_free(d);
}
END_TEST

START_TEST(bad_sizes_are_refused)
{
	ck_assert_ptr_null(dedup_new(0, 10));
	dedup_free(NULL);
}
END_TEST

/*
 * In named shared memory the set outlives its process: a child remembers
 * keys and is killed with -9; the next opener finds them (same size), a
 * different size or a set torn mid-change starts empty.
 */
START_TEST(shared_set_outlives_a_killed_process)
{
	char name[64];
	uint8_t k[DEDUP_KEY_LEN];
	struct dedup *d;
	pid_t pid;
	int kept, st, fd;

	snprintf(name, sizeof(name), "/certstream-check-dedup-%d", (int)getpid());
	shm_unlink(name);
	if ((pid = fork()) == 0) {
		struct dedup *c = dedup_open(name, 1000, 1000, &kept);

		if (c == NULL || kept)
			_exit(1);
		for (uint32_t i = 0; i < 500; i++) {
			key_of(i, k);
			dedup_check(c, k, 1000 + i);
		}
		/* Unmapped as at death (and no leak report under valgrind);
		 * nothing is written back or cleaned up: then killed. */
		dedup_free(c);
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
	d = dedup_open(name, 1000, 60, &kept);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(kept, 1);
	ck_assert_uint_eq(dedup_size(d), 500);
	key_of(499, k);
	ck_assert_int_eq(dedup_check(d, k, 1500), 1);
	key_of(0, k);   /* seen at 1000: expired at 1060 */
	ck_assert_int_eq(dedup_check(d, k, 1500), 0);
	dedup_free(d);

	/* Another size: not the same set. */
	d = dedup_open(name, 2000, 60, &kept);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(kept, 0);
	ck_assert_uint_eq(dedup_size(d), 0);
	key_of(7, k);
	ck_assert_int_eq(dedup_check(d, k, 2000), 0);
	dedup_free(d);

	/* Torn: an ingest died inside dedup_check (its mark, at byte 40:
	 * its owner id + 1, shm/mark.h). */
	fd = shm_open(name, O_RDWR, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(pwrite(fd, (uint8_t[]){ SHM_OWNER_INGEST + 1 }, 1, 40),
	    1);
	close(fd);
	d = dedup_open(name, 2000, 60, &kept);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(kept, 0);
	ck_assert_uint_eq(dedup_size(d), 0);
	dedup_free(d);
	ck_assert_int_eq(shm_unlink(name), 0);
}
END_TEST

/* shm/dedup.c's block: header {magic, cap, sz, head, n, mark, pad},
 * cap entries {key, t}, sz uint32 indexes. Sizes for max_entries 1000. */
#define T_CAP 1000
#define T_SZ 2048
#define T_HDR 48
#define T_LEN (T_HDR + T_CAP * 40 + T_SZ * 4)

static void
hdr_put(uint8_t *b, uint64_t head, uint64_t n)
{
	uint64_t f[5] = { 0x4445445550303031ULL, T_CAP, T_SZ, head, n };

	memcpy(b, f, sizeof(f));
	memset(b + 40, 0, 8);
}

/* A block planted at name: our header, one entry that never expires, every
 * index far outside the fifo. */
static void
plant_hostile(const char *name, mode_t mode)
{
	static uint8_t b[T_LEN];
	int64_t never = INT64_MAX / 2;
	int fd;

	memset(b, 0, sizeof(b));
	hdr_put(b, 0, 1);
	memcpy(b + T_HDR + 32, &never, sizeof(never));
	memset(b + T_HDR + T_CAP * 40, 0xff, T_SZ * 4);
	shm_unlink(name);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, mode);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(pwrite(fd, b, sizeof(b), 0), (ssize_t)sizeof(b));
	close(fd);
}

/* Every key of a churn is a duplicate on its second sighting only. */
static void
assert_works(struct dedup *d, int64_t now)
{
	uint8_t k[DEDUP_KEY_LEN];

	for (uint32_t i = 0; i < 3000; i++) {
		key_of(100000 + i, k);
		ck_assert_int_eq(dedup_check(d, k, now), 0);
		ck_assert_int_eq(dedup_check(d, k, now), 1);
		ck_assert_uint_le(dedup_size(d), T_CAP);
	}
}

/*
 * A set planted before the start with a whole header and wild indexes (of
 * this user, mode 0600, so it passes the ownership check) is not kept: its
 * contents are validated and it starts empty. The old code kept it and read
 * far outside the mapping at the first check.
 */
START_TEST(planted_set_with_wild_indexes_is_not_kept)
{
	char name[64];
	struct dedup *d;
	int kept = -1;

	snprintf(name, sizeof(name), "/certstream-check-dplant-%d", (int)getpid());
	plant_hostile(name, 0600);
	d = dedup_open(name, T_CAP, 60, &kept);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(kept, 0);
	ck_assert_uint_eq(dedup_size(d), 0);
	assert_works(d, 1000);
	dedup_free(d);
	shm_unlink(name);
}
END_TEST

/* A whole, consistent set that is not ours alone (mode 0644: anyone may
 * have mapped it) is removed and replaced by a new segment of mode 0600. */
START_TEST(set_of_another_mode_is_replaced)
{
	char name[64];
	uint8_t k[DEDUP_KEY_LEN];
	struct stat a, b;
	struct dedup *d;
	int kept, fd;

	snprintf(name, sizeof(name), "/certstream-check-dmode-%d", (int)getpid());
	shm_unlink(name);
	d = dedup_open(name, T_CAP, 60, &kept);
	ck_assert_ptr_nonnull(d);
	key_of(1, k);
	ck_assert_int_eq(dedup_check(d, k, 1000), 0);
	dedup_free(d);
	fd = shm_open(name, O_RDWR, 0);
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	ck_assert_int_eq(fstat(fd, &a), 0);
	close(fd);

	d = dedup_open(name, T_CAP, 60, &kept);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(kept, 0);
	ck_assert_uint_eq(dedup_size(d), 0);
	ck_assert_int_eq(dedup_check(d, k, 1001), 0);
	fd = shm_open(name, O_RDONLY, 0);
	ck_assert_int_eq(fstat(fd, &b), 0);
	close(fd);
	ck_assert_uint_ne(a.st_ino, b.st_ino);
	ck_assert_uint_eq(b.st_mode & 07777, 0600);
	dedup_free(d);
	shm_unlink(name);
}
END_TEST

/*
 * A writer that keeps a mapping of the set while it is used: every index,
 * head and count it writes is checked before use; the set is cleared, not
 * followed out of bounds, and goes on working.
 */
START_TEST(tampered_set_is_cleared_not_followed)
{
	static const struct { uint64_t head, n; uint32_t idx; } bad[] = {
		{ 0, 50, 0xffffffffu },          /* wild indexes */
		{ 0, 50, T_CAP + 1 },            /* one past the fifo */
		{ UINT64_MAX / 40, 50, 0 },      /* head out of range */
		{ 0, UINT64_MAX, 0 },            /* count out of range */
		{ 0, 50, 7 },                    /* every slot names one entry */
	};
	char name[64];
	uint8_t k[DEDUP_KEY_LEN], *m;
	struct dedup *d;
	uint32_t *idx;
	int kept, fd;

	snprintf(name, sizeof(name), "/certstream-check-dtamper-%d", (int)getpid());
	shm_unlink(name);
	d = dedup_open(name, T_CAP, 60, &kept);
	ck_assert_ptr_nonnull(d);
	fd = shm_open(name, O_RDWR, 0);
	ck_assert_int_ne(fd, -1);
	m = mmap(NULL, T_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	close(fd);
	idx = (uint32_t *)(m + T_HDR + T_CAP * 40);
	for (size_t t = 0; t < sizeof(bad) / sizeof(bad[0]); t++) {
		for (uint32_t i = 0; i < 50; i++) {
			key_of(i, k);
			dedup_check(d, k, 1000);
		}
		hdr_put(m, bad[t].head, bad[t].n);
		if (bad[t].idx != 0)
			for (size_t i = 0; i < T_SZ; i++)
				idx[i] = bad[t].idx;
		key_of(7, k);
		ck_assert_int_le(dedup_check(d, k, 1000), 1);
		ck_assert_uint_le(dedup_size(d), T_CAP);
		assert_works(d, 1000);
	}
	munmap(m, T_LEN);
	dedup_free(d);
	shm_unlink(name);
}
END_TEST

Suite *
dedup_suite(void)
{
	Suite *s = suite_create("dedup");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, second_sighting_is_a_duplicate);
	tcase_add_test(tc, seen_asks_without_remembering);
	tcase_add_test(tc, entries_expire_after_ttl);
	tcase_add_test(tc, size_is_bounded);
	tcase_add_test(tc, colliding_keys_survive_deletions);
	tcase_add_test(tc, bad_sizes_are_refused);
	tcase_add_test(tc, shared_set_outlives_a_killed_process);
	tcase_add_test(tc, planted_set_with_wild_indexes_is_not_kept);
	tcase_add_test(tc, set_of_another_mode_is_replaced);
	tcase_add_test(tc, tampered_set_is_cleared_not_followed);
	suite_add_tcase(s, tc);
	return s;
}
