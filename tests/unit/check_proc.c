/* Unit tests: common/proc.c. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proc.h"

START_TEST(rss_of_self_and_of_a_pid)
{
	uint64_t self = 0, bypid = 0;

	ck_assert_int_eq(proc_rss(0, &self), 0);
	ck_assert_uint_gt(self, 0);
	ck_assert_uint_eq(self % (uint64_t)sysconf(_SC_PAGESIZE), 0);
	ck_assert_int_eq(proc_rss(getpid(), &bypid), 0);
	ck_assert_uint_gt(bypid, 0);
}
END_TEST

START_TEST(rss_of_a_gone_process_is_an_error)
{
	uint64_t b = 42;
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(proc_rss(pid, &b), -1);
	ck_assert_uint_eq(b, 42);
}
END_TEST

Suite *proc_suite(void);

Suite *
proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rss_of_self_and_of_a_pid);
	tcase_add_test(tc, rss_of_a_gone_process_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}
