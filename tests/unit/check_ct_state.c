/* The state file: round trip (resume points and verified tree heads), the
 * older number-only form, atomic replace, malformed input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/ct_state.h"

Suite *ct_state_suite(void);

static char dir[64];
static char path[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ct_state_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
}

static void
teardown(void)
{
	char tmp[160];

	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
}

static void
write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(missing_file_is_empty_state)
{
	struct ct_state st;
	uint64_t v;
	char err[256];

	ct_state_init(&st);
	ck_assert_int_eq(ct_state_load(&st, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.n, 0);
	ck_assert_int_eq(ct_state_get(&st, "https://a/", &v), -1);
	ct_state_free(&st);
}
END_TEST

START_TEST(save_then_load_round_trips)
{
	struct ct_state st, back;
	uint64_t v;
	char err[256];
	struct stat sb;

	ct_state_init(&st);
	ct_state_init(&back);
	ck_assert_int_eq(ct_state_set(&st, "https://ct.example/a/", 42), 0);
	ck_assert_int_eq(ct_state_set(&st, "https://ct.example/b/",
	    18446744073709551000ULL), 0);
	ck_assert_int_eq(ct_state_set(&st, "https://ct.example/a/", 43), 0);
	ck_assert_uint_eq(st.n, 2);
	ck_assert_msg(ct_state_save(&st, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(ct_state_load(&back, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_int_eq(ct_state_get(&back, "https://ct.example/a/", &v), 0);
	ck_assert_uint_eq(v, 43);
	ck_assert_int_eq(ct_state_get(&back, "https://ct.example/b/", &v), 0);
	ck_assert_uint_eq(v, 18446744073709551000ULL);
	/* no temp file left behind */
	{
		char tmp[160];

		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		ck_assert_int_eq(stat(tmp, &sb), -1);
	}
	/* a second save replaces the file */
	ck_assert_int_eq(ct_state_set(&st, "https://ct.example/a/", 100), 0);
	ck_assert_int_eq(ct_state_save(&st, path, err, sizeof(err)), 0);
	ck_assert_int_eq(ct_state_load(&back, path, err, sizeof(err)), 0);
	ck_assert_int_eq(ct_state_get(&back, "https://ct.example/a/", &v), 0);
	ck_assert_uint_eq(v, 100);
	ct_state_free(&st);
	ct_state_free(&back);
}
END_TEST

/* A malformed file is an error and leaves the loaded state untouched. */
START_TEST(malformed_file_is_refused)
{
	static const char *bad[] = { "", "[1]", "{\"a\": -1}", "{\"a\": \"5\"}",
	    "{\"a\": 1.5}", "{\"a\": 1", "{\"a\": {}}",
	    "{\"a\": {\"next\": -3}}",
	    "{\"a\": {\"next\": 3, \"tree_size\": 9}}",
	    "{\"a\": {\"next\": 3, \"tree_size\": 9, \"root_hash\": \"00\"}}",
	    "{\"a\": {\"next\": 3, \"tree_size\": 9, \"root_hash\": "
	    "\"zz00000000000000000000000000000000000000000000000000000000000000\"}}" };
	struct ct_state st;
	uint64_t v;
	char err[256];
	size_t i;

	ct_state_init(&st);
	ck_assert_int_eq(ct_state_set(&st, "x", 7), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(bad[i]);
		ck_assert_msg(ct_state_load(&st, path, err, sizeof(err)) == -1,
		    "accepted case %zu", i);
		ck_assert_int_eq(ct_state_get(&st, "x", &v), 0);
		ck_assert_uint_eq(v, 7);
	}
	ct_state_free(&st);
}
END_TEST

/* The verified tree head goes with the resume point; the older form
 * (a bare index) still loads, without a head. */
START_TEST(tree_heads_round_trip_and_old_form_loads)
{
	struct ct_state st, back;
	uint8_t root[32], got[32];
	uint64_t v, size;
	char err[256];

	for (int i = 0; i < 32; i++)
		root[i] = (uint8_t)(i * 7 + 1);
	ct_state_init(&st);
	ct_state_init(&back);
	ck_assert_int_eq(ct_state_set_head(&st, "https://a/", 10, root), -1);
	ck_assert_int_eq(ct_state_set(&st, "https://a/", 90), 0);
	ck_assert_int_eq(ct_state_set(&st, "https://b/", 5), 0);
	ck_assert_int_eq(ct_state_set_head(&st, "https://a/", 100, root), 0);
	ck_assert_int_eq(ct_state_save(&st, path, err, sizeof(err)), 0);
	ck_assert_int_eq(ct_state_load(&back, path, err, sizeof(err)), 0);
	ck_assert_int_eq(ct_state_get(&back, "https://a/", &v), 0);
	ck_assert_uint_eq(v, 90);
	ck_assert_int_eq(ct_state_get_head(&back, "https://a/", &size, got), 0);
	ck_assert_uint_eq(size, 100);
	ck_assert_mem_eq(got, root, 32);
	ck_assert_int_eq(ct_state_get_head(&back, "https://b/", &size, got), -1);
	/* a later index keeps the head */
	ck_assert_int_eq(ct_state_set(&back, "https://a/", 95), 0);
	ck_assert_int_eq(ct_state_get_head(&back, "https://a/", &size, got), 0);

	write_file("{\"https://old/\": 77}");
	ck_assert_int_eq(ct_state_load(&back, path, err, sizeof(err)), 0);
	ck_assert_int_eq(ct_state_get(&back, "https://old/", &v), 0);
	ck_assert_uint_eq(v, 77);
	ck_assert_int_eq(ct_state_get_head(&back, "https://old/", &size, got), -1);
	ct_state_free(&st);
	ct_state_free(&back);
}
END_TEST

/* A log id survives a save; a log that moved to another URL takes its
 * old entry (resume point and head), and only when the new URL has none. */
START_TEST(log_id_round_trips_and_a_moved_log_follows)
{
	static const char id[] = "TnWjJ1yaEMM4W2zU3z9S6x3w4I4bjWnAsfpksWKaOd8=";
	struct ct_state st, back;
	uint8_t root[32] = { 1, 2, 3 }, got[32];
	uint64_t v, size;
	char err[256], from[64];

	ct_state_init(&st);
	ct_state_init(&back);
	ck_assert_int_eq(ct_state_set_id(&st, "https://a/", id), -1);
	ck_assert_int_eq(ct_state_set(&st, "https://a/", 90), 0);
	ck_assert_int_eq(ct_state_set_id(&st, "https://a/", id), 0);
	ck_assert_int_eq(ct_state_set_head(&st, "https://a/", 100, root), 0);
	ck_assert_int_eq(ct_state_set(&st, "https://c/", 7), 0);
	ck_assert_int_eq(ct_state_save(&st, path, err, sizeof(err)), 0);
	ck_assert_int_eq(ct_state_load(&back, path, err, sizeof(err)), 0);

	/* an unknown id, an empty one, or a URL with its own entry: nothing */
	ck_assert_int_eq(ct_state_follow(&back, "https://b/", "other=", from,
	    sizeof(from)), 0);
	ck_assert_int_eq(ct_state_follow(&back, "https://b/", "", from,
	    sizeof(from)), 0);
	ck_assert_int_eq(ct_state_follow(&back, "https://c/", id, from,
	    sizeof(from)), 0);
	ck_assert_int_eq(ct_state_get(&back, "https://c/", &v), 0);
	ck_assert_uint_eq(v, 7);

	ck_assert_int_eq(ct_state_follow(&back, "https://b/", id, from,
	    sizeof(from)), 1);
	ck_assert_str_eq(from, "https://a/");
	ck_assert_int_eq(ct_state_get(&back, "https://a/", &v), -1);
	ck_assert_int_eq(ct_state_get(&back, "https://b/", &v), 0);
	ck_assert_uint_eq(v, 90);
	ck_assert_int_eq(ct_state_get_head(&back, "https://b/", &size, got), 0);
	ck_assert_uint_eq(size, 100);
	ck_assert_mem_eq(got, root, 32);

	write_file("{\"https://a/\": {\"next\": 1, \"log_id\": 5}}");
	ck_assert_int_eq(ct_state_load(&back, path, err, sizeof(err)), -1);
	ct_state_free(&st);
	ct_state_free(&back);
}
END_TEST

START_TEST(unwritable_directory_fails_cleanly)
{
	struct ct_state st;
	char err[256];

	ct_state_init(&st);
	ck_assert_int_eq(ct_state_set(&st, "x", 1), 0);
	ck_assert_int_eq(ct_state_save(&st, "/nonexistent-dir/state.json", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "nonexistent-dir"));
	ct_state_free(&st);
}
END_TEST

/* A symbolic link planted where the temporary goes (state.json.tmp) is
 * never written through: the save replaces the link, not its target. */
START_TEST(planted_symlink_at_temporary_is_not_followed)
{
	struct ct_state st, back;
	char err[256], tmp[160], outside[160], buf[64];
	struct stat sb;
	uint64_t next;
	FILE *f;
	size_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	f = fopen(outside, "w");
	ck_assert_ptr_nonnull(f);
	fputs("precious\n", f);
	fclose(f);
	ck_assert_int_eq(symlink(outside, tmp), 0);

	ct_state_init(&st);
	ct_state_init(&back);
	ck_assert_int_eq(ct_state_set(&st, "https://log.example/", 42), 0);
	ck_assert_msg(ct_state_save(&st, path, err, sizeof(err)) == 0, "%s", err);
	f = fopen(outside, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "precious\n");
	ck_assert_int_eq(lstat(path, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_int_eq(lstat(tmp, &sb), -1);
	ck_assert_int_eq(ct_state_load(&back, path, err, sizeof(err)), 0);
	ck_assert_int_eq(ct_state_get(&back, "https://log.example/", &next), 0);
	ck_assert_uint_eq(next, 42);
	ct_state_free(&st);
	ct_state_free(&back);
	unlink(outside);
}
END_TEST

Suite *
ct_state_suite(void)
{
	Suite *s = suite_create("ct_state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, missing_file_is_empty_state);
	tcase_add_test(tc, save_then_load_round_trips);
	tcase_add_test(tc, malformed_file_is_refused);
	tcase_add_test(tc, tree_heads_round_trip_and_old_form_loads);
	tcase_add_test(tc, log_id_round_trips_and_a_moved_log_follows);
	tcase_add_test(tc, unwritable_directory_fails_cleanly);
	tcase_add_test(tc, planted_symlink_at_temporary_is_not_followed);
	suite_add_tcase(s, tc);
	return s;
}
