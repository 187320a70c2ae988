/* Unit tests: shm/heads.c, the verified tree heads (suite "heads"). */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "shm/heads.h"
#include "shm/mark.h"

Suite *heads_suite(void);

static void
root_of(uint64_t n, uint8_t root[HEADS_HASH_LEN])
{
	for (int k = 0; k < HEADS_HASH_LEN; k++)
		root[k] = (uint8_t)(n * 31 + (uint64_t)k);
}

/* A log's row, as in the segment (MAP_SHARED). */
static struct shm_log_status *
row_new(void)
{
	void *p = mmap(NULL, sizeof(struct shm_log_status),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

START_TEST(test_heads_put_get_clear)
{
	struct shm_log_status *s = row_new();
	uint8_t r[HEADS_HASH_LEN], got[HEADS_HASH_LEN];
	uint64_t size = 0;

	ck_assert_int_eq(heads_get(s, &size, got), -1);
	root_of(1, r);
	heads_put(s, 100, r);
	ck_assert_int_eq(heads_get(s, &size, got), 0);
	ck_assert_uint_eq(size, 100);
	ck_assert_mem_eq(got, r, HEADS_HASH_LEN);
	/* the head already named: nothing written */
	heads_put(s, 100, r);
	ck_assert_uint_eq(s->verified_gen, 1);
	root_of(2, r);
	heads_put(s, 200, r);
	ck_assert_int_eq(heads_get(s, &size, got), 0);
	ck_assert_uint_eq(size, 200);
	ck_assert_mem_eq(got, r, HEADS_HASH_LEN);
	ck_assert_int_eq(shm_mark_owner(&s->verified_mark), -1);
	heads_clear(s);
	ck_assert_int_eq(heads_get(s, &size, got), -1);
	munmap(s, sizeof(*s));
}
END_TEST

/* An ingest killed inside heads_put: its mark on the row, the unnamed slot
 * half written. The named head is still read; the successor's reclaim
 * clears the half-written slot and the mark, once. */
START_TEST(test_heads_reclaim_after_kill)
{
	struct shm_log_status *s = row_new();
	uint8_t r[HEADS_HASH_LEN], got[HEADS_HASH_LEN], zero[HEADS_HASH_LEN];
	uint64_t size = 0;
	unsigned half;

	memset(zero, 0, sizeof(zero));
	root_of(1, r);
	heads_put(s, 100, r);
	shm_mark_set(&s->verified_mark, SHM_OWNER_INGEST);
	half = (unsigned)((s->verified_gen + 1) & 1);
	s->verified[half].size = 999;
	memset(s->verified[half].root, 0xee, 10);
	ck_assert_int_eq(heads_get(s, &size, got), 0);
	ck_assert_uint_eq(size, 100);
	ck_assert_mem_eq(got, r, HEADS_HASH_LEN);

	ck_assert_int_eq(heads_reclaim(s), 1);
	ck_assert_int_eq(shm_mark_owner(&s->verified_mark), -1);
	ck_assert_uint_eq(s->verified[half].size, 0);
	ck_assert_mem_eq(s->verified[half].root, zero, HEADS_HASH_LEN);
	ck_assert_int_eq(heads_reclaim(s), 0);
	ck_assert_int_eq(heads_get(s, &size, got), 0);
	ck_assert_uint_eq(size, 100);
	ck_assert_mem_eq(got, r, HEADS_HASH_LEN);

	/* Another owner's mark is not the ingest's to undo. */
	shm_mark_set(&s->verified_mark, 3);
	ck_assert_int_eq(heads_reclaim(s), 0);
	ck_assert_int_eq(shm_mark_owner(&s->verified_mark), 3);
	munmap(s, sizeof(*s));
}
END_TEST

/* A replacing segment takes the named head only, as its first. */
START_TEST(test_heads_carry)
{
	struct shm_log_status *from = row_new(), *to = row_new();
	uint8_t r[HEADS_HASH_LEN], got[HEADS_HASH_LEN];
	uint64_t size = 0;

	heads_carry(to, from);
	ck_assert_int_eq(heads_get(to, &size, got), -1);
	for (uint64_t n = 1; n <= 3; n++) {
		root_of(n, r);
		heads_put(from, n * 10, r);
	}
	heads_carry(to, from);
	ck_assert_uint_eq(to->verified_gen, 1);
	ck_assert_int_eq(heads_get(to, &size, got), 0);
	ck_assert_uint_eq(size, 30);
	ck_assert_mem_eq(got, r, HEADS_HASH_LEN);
	munmap(from, sizeof(*from));
	munmap(to, sizeof(*to));
}
END_TEST

Suite *
heads_suite(void)
{
	Suite *s = suite_create("heads");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_heads_put_get_clear);
	tcase_add_test(tc, test_heads_reclaim_after_kill);
	tcase_add_test(tc, test_heads_carry);
	suite_add_tcase(s, tc);
	return s;
}
