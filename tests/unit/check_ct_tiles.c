/* tlog-tiles paths of data tiles. */
#include <check.h>

#include "ingest/ct_tiles.h"

Suite *ct_tiles_suite(void);

START_TEST(tile_paths_group_digits_by_three)
{
	static const struct { uint64_t n; const char *path; } cases[] = {
		{ 0, "000" }, { 5, "005" }, { 999, "999" }, { 1000, "x001/000" },
		{ 1234067, "x001/x234/067" }, { 4294967295ULL, "x004/x294/x967/295" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ct_tiles_path(cases[i].n, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].path);
	}
}
END_TEST

Suite *
ct_tiles_suite(void)
{
	Suite *s = suite_create("ct_tiles");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tile_paths_group_digits_by_three);
	suite_add_tcase(s, tc);
	return s;
}
