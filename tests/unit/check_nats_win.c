/* The publisher's window: a log's resume point moves only past entries
 * that are acknowledged along with every entry before them, however the
 * answers come; a failure resends, in order, all not acknowledged. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/nats_win.h"

/* Entry i: index i, an envelope unless i is in skip (nothing to publish). */
static void
push(struct nwin *w, uint64_t i, int has_msg)
{
	struct nwin_item it;

	memset(&it, 0, sizeof(it));
	it.index = i;
	if (has_msg) {
		it.msg = malloc(4);
		ck_assert_ptr_nonnull(it.msg);
		it.len = 4;
	}
	nwin_push(w, &it);
}

/* Pops everything acknowledged at the front: how many, the last index. */
static int
drain(struct nwin *w, uint64_t *last)
{
	struct nwin_item out;
	int n = 0;

	while (nwin_pop(w, &out)) {
		ck_assert_uint_eq(out.state, NWIN_ACKED);
		*last = out.index;
		free(out.msg);
		n++;
	}
	return n;
}

static int tok[64];     /* distinct tokens */

START_TEST(acks_out_of_order_move_in_order)
{
	struct nwin w;
	struct nwin_item *it;
	uint64_t last = 99;

	ck_assert_int_eq(nwin_init(&w, 8), 0);
	for (int i = 0; i < 5; i++)
		push(&w, (uint64_t)i, i != 2);
	/* at most 3 in flight; entry 2 has nothing to publish */
	ck_assert_ptr_nonnull(it = nwin_next(&w, 3, &tok[0]));
	ck_assert_uint_eq(it->index, 0);
	ck_assert_uint_eq(nwin_next(&w, 3, &tok[1])->index, 1);
	ck_assert_uint_eq(nwin_next(&w, 3, &tok[3])->index, 3);
	ck_assert_ptr_null(nwin_next(&w, 3, &tok[4]));   /* window full */
	ck_assert_uint_eq(w.inflight, 3);
	/* 3 and 1 answered first: nothing moves while 0 waits */
	ck_assert_int_eq(nwin_answer(&w, &tok[3], 1), 0);
	ck_assert_int_eq(nwin_answer(&w, &tok[1], 1), 0);
	ck_assert_int_eq(drain(&w, &last), 0);
	ck_assert_uint_eq(nwin_next(&w, 3, &tok[4])->index, 4);
	ck_assert_int_eq(nwin_answer(&w, &tok[0], 1), 0);
	/* 0, 1, 2 (nothing to publish) and 3 leave; 4 is in flight */
	ck_assert_int_eq(drain(&w, &last), 4);
	ck_assert_uint_eq(last, 3);
	ck_assert_int_eq(nwin_answer(&w, &tok[4], 1), 0);
	ck_assert_int_eq(drain(&w, &last), 1);
	ck_assert_uint_eq(last, 4);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_int_eq(nwin_answer(&w, &tok[4], 1), -1);      /* twice */
	nwin_free(&w);
}
END_TEST

START_TEST(a_failure_resends_in_order_after_every_answer)
{
	struct nwin w;
	uint64_t last = 99;

	ck_assert_int_eq(nwin_init(&w, 8), 0);
	for (int i = 0; i < 4; i++)
		push(&w, (uint64_t)i, 1);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(nwin_next(&w, 8, &tok[i])->index, (uint64_t)i);
	ck_assert_int_eq(nwin_answer(&w, &tok[0], 1), 0);
	ck_assert_int_eq(nwin_answer(&w, &tok[1], 0), 0);      /* fails */
	push(&w, 4, 1);
	/* nothing is sent while 2 and 3 are still out */
	ck_assert_ptr_null(nwin_next(&w, 8, &tok[10]));
	ck_assert_int_eq(nwin_answer(&w, &tok[3], 1), 0);
	ck_assert_ptr_null(nwin_next(&w, 8, &tok[10]));
	ck_assert_int_eq(nwin_answer(&w, &tok[2], 0), 0);      /* fails too */
	ck_assert_int_eq(drain(&w, &last), 1);
	ck_assert_uint_eq(last, 0);
	/* resent: 1, 2, then 4 (3 is acknowledged already) */
	ck_assert_uint_eq(nwin_next(&w, 8, &tok[11])->index, 1);
	ck_assert_uint_eq(nwin_next(&w, 8, &tok[12])->index, 2);
	ck_assert_uint_eq(nwin_next(&w, 8, &tok[14])->index, 4);
	ck_assert_ptr_null(nwin_next(&w, 8, &tok[15]));
	ck_assert_int_eq(nwin_answer(&w, &tok[1], 1), -1);     /* stale */
	ck_assert_int_eq(nwin_answer(&w, &tok[12], 1), 0);
	ck_assert_int_eq(drain(&w, &last), 0);
	ck_assert_int_eq(nwin_answer(&w, &tok[11], 1), 0);
	ck_assert_int_eq(drain(&w, &last), 3);                 /* 1, 2, 3 */
	ck_assert_uint_eq(last, 3);
	nwin_free(&w);  /* 4 still in flight: its envelope is freed here */
}
END_TEST

START_TEST(an_unsent_entry_goes_first_and_the_fifo_wraps)
{
	struct nwin w;
	struct nwin_item *a, *b;
	uint64_t last = 0, want = 0;

	ck_assert_int_eq(nwin_init(&w, 3), 0);
	for (uint64_t i = 0; i < 30; i++) {
		push(&w, i, 1);
		ck_assert(!nwin_full(&w) || w.n == 3);
		if (w.n < 2)
			continue;
		a = nwin_next(&w, 2, &tok[0]);
		b = nwin_next(&w, 2, &tok[1]);
		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(b);
		/* the second send did not happen: it is next again */
		nwin_unsend(&w, b);
		ck_assert_ptr_eq(nwin_next(&w, 2, &tok[2]), b);
		ck_assert_int_eq(nwin_answer(&w, &tok[2], 1), 0);
		ck_assert_int_eq(nwin_answer(&w, &tok[0], 1), 0);
		ck_assert_int_eq(drain(&w, &last), 2);
		ck_assert_uint_eq(last, want + 1);
		want += 2;
	}
	ck_assert_uint_eq(w.n, 0);
	nwin_free(&w);
}
END_TEST

Suite *nats_win_suite(void);

Suite *
nats_win_suite(void)
{
	Suite *s = suite_create("nats_win");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, acks_out_of_order_move_in_order);
	tcase_add_test(tc, a_failure_resends_in_order_after_every_answer);
	tcase_add_test(tc, an_unsent_entry_goes_first_and_the_fifo_wraps);
	suite_add_tcase(s, tc);
	return s;
}
