/* tlog-tiles paths, and tree roots and leaf hashes from hash tiles. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

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

/* A tree of NLEAVES leaves h(i) = SHA-256(0x00 || i as 4 bytes) and the
 * node levels tlog-tiles store: level 0 (leaves), 8 and 16. */
#define NLEAVES 70000
static uint8_t (*lv[3])[32];
static size_t nlv[3];

static void
node(const uint8_t *l, const uint8_t *r, uint8_t *out)
{
	uint8_t b[65];

	b[0] = 1;
	memcpy(b + 1, l, 32);
	memcpy(b + 33, r, 32);
	SHA256(b, sizeof(b), out);
}

/* RFC 6962 MTH of leaves [lo, hi), the reference. */
static void
mth(size_t lo, size_t hi, uint8_t *out)
{
	uint8_t a[32], b[32];
	size_t k = 1;

	if (hi - lo == 1) {
		memcpy(out, lv[0][lo], 32);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	mth(lo, lo + k, a);
	mth(lo + k, hi, b);
	node(a, b, out);
}

static void
build_tree(void)
{
	size_t i, l;

	for (l = 0; l < 3; l++) {
		nlv[l] = NLEAVES >> (8 * l);
		lv[l] = calloc(nlv[l] ? nlv[l] : 1, 32);
		ck_assert_ptr_nonnull(lv[l]);
	}
	for (i = 0; i < NLEAVES; i++) {
		uint8_t b[5] = { 0, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
		    (uint8_t)(i >> 8), (uint8_t)i };

		SHA256(b, sizeof(b), lv[0][i]);
	}
	for (l = 1; l < 3; l++)
		for (i = 0; i < nlv[l]; i++)
			ct_tiles_subtree(lv[l - 1][i * 256], 256, lv[l][i]);
}

static void
free_tree(void)
{
	for (size_t l = 0; l < 3; l++)
		free(lv[l]);
}

struct served {
	uint64_t size;
	int asked, withhold;        /* 1 absent, 2 refused */
};

static int
serve(void *arg, unsigned level, uint64_t idx, unsigned width,
    const uint8_t **tile)
{
	struct served *s = arg;

	s->asked++;
	ck_assert_uint_lt(level, 3);
	/* a tile the tree of this size has, no wider */
	ck_assert_uint_le(idx * 256 + width, s->size >> (8 * level));
	if (s->withhold)
		return s->withhold == 2 ? -1 : 0;
	*tile = lv[level][idx * 256];
	return 1;
}

START_TEST(root_from_hash_tiles_matches_the_tree_hash)
{
	static const uint64_t sizes[] = { 1, 2, 3, 7, 255, 256, 257, 511, 1000,
	    65536, 65537, 70000 };
	uint8_t want[32], got[32];
	size_t i;

	build_tree();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct served s = { sizes[i], 0, 0 };

		mth(0, sizes[i], want);
		ck_assert_int_eq(ct_tiles_root(sizes[i], serve, &s, got), 1);
		ck_assert_msg(memcmp(got, want, 32) == 0, "size %llu",
		    (unsigned long long)sizes[i]);
		/* a tile missing: no root, and every tile asked for at once */
		s.withhold = 1;
		s.asked = 0;
		ck_assert_int_eq(ct_tiles_root(sizes[i], serve, &s, got), 0);
		ck_assert_int_eq(s.asked, __builtin_popcountll(sizes[i]));
		/* a tile that cannot be trusted: no root, at once */
		s.withhold = 2;
		s.asked = 0;
		ck_assert_int_eq(ct_tiles_root(sizes[i], serve, &s, got), -1);
		ck_assert_int_eq(s.asked, 1);
	}
	/* a changed hash changes the root */
	{
		struct served s = { 70000, 0, 0 };

		mth(0, 70000, want);
		lv[0][69999][0] ^= 1;
		ck_assert_int_eq(ct_tiles_root(70000, serve, &s, got), 1);
		ck_assert(memcmp(got, want, 32) != 0);
	}
	free_tree();
}
END_TEST

/* Real navigli2025h2 partial tile 003.p/10: each entry's leaf hash is the
 * hash the level-0 tile holds for it. */
START_TEST(real_tile_leaves_hash_to_their_hash_tile)
{
	uint8_t data[65536], hashes[320], h[32];
	FILE *f;
	size_t dlen, hlen, off = 0;
	int k;

	f = fopen("tests/data/ct/navigli2025h2_tile_data_003.p.10", "rb");
	ck_assert_ptr_nonnull(f);
	dlen = fread(data, 1, sizeof(data), f);
	fclose(f);
	f = fopen("tests/data/ct/navigli2025h2_tile_0_003.p.10", "rb");
	ck_assert_ptr_nonnull(f);
	hlen = fread(hashes, 1, sizeof(hashes), f);
	fclose(f);
	ck_assert_uint_eq(hlen, 320);
	for (k = 0; k < 10; k++) {
		struct leaf_entry e;

		ck_assert_int_eq(leaf_decode_tile(data, dlen, &off, NULL, NULL, &e),
		    LEAF_OK);
		ck_assert_uint_eq(e.index, 3 * 256 + (uint64_t)k);
		ck_assert_int_eq(leaf_hash(&e, h), 0);
		ck_assert_int_eq(memcmp(h, hashes + k * 32, 32), 0);
	}
	ck_assert_uint_eq(off, dlen);
}
END_TEST

Suite *
ct_tiles_suite(void)
{
	Suite *s = suite_create("ct_tiles");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tile_paths_group_digits_by_three);
	tcase_add_test(tc, root_from_hash_tiles_matches_the_tree_hash);
	tcase_add_test(tc, real_tile_leaves_hash_to_their_hash_tile);
	suite_add_tcase(s, tc);
	return s;
}
