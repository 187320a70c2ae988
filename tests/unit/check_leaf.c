/* Leaf decoding on real CT data: RFC 6962 entries and navigli2025h2 tiles. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/leaf.h"
#include "tests/unit/fixture.h"

#define RFC "tests/data/real/rfc6962/"
#define NAV "tests/data/real/static-ct/navigli2025h2/tile/"

/* Every span of a decoded entry lies inside one of the two buffers. */
static void
assert_inside(const struct leaf_entry *e, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen)
{
	const struct leaf_span *s[] = { &e->te, &e->leaf, &e->signed_entry,
	    &e->extensions, &e->cert };
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		int in_a = s[i]->p >= a && s[i]->p + s[i]->len <= a + alen;
		int in_b = b != NULL && s[i]->p >= b && s[i]->p + s[i]->len <= b + blen;
		ck_assert_msg(s[i]->len == 0 || in_a || in_b, "span %zu outside input", i);
	}
	for (i = 0; i < e->nchain; i++) {
		ck_assert(e->chain[i].len > 0);
		ck_assert(b != NULL && e->chain[i].p >= b &&
		    e->chain[i].p + e->chain[i].len <= b + blen);
	}
}

START_TEST(rfc6962_x509_entry_decodes_cert_and_chain)
{
	size_t ll, el;
	uint8_t *leaf = fixture_slurp(RFC "scrapectlog_x509_leaf_input.bin", &ll);
	uint8_t *extra = fixture_slurp(RFC "scrapectlog_x509_extra_data.bin", &el);
	struct leaf_entry e;

	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), LEAF_OK);
	ck_assert_int_eq(e.type, LEAF_X509);
	ck_assert_int_eq(e.is_static, 0);
	/* leaf: version, type, timestamp(8), entry_type(2), len(3), cert, ext len(2) */
	ck_assert_uint_eq(e.cert.len, ll - 2 - 8 - 2 - 3 - 2);
	ck_assert_ptr_eq(e.cert.p, leaf + 15);
	ck_assert_uint_eq(e.cert.p[0], 0x30);
	ck_assert_uint_eq(e.te.len, ll - 2);
	ck_assert_uint_ge(e.nchain, 1);
	ck_assert_uint_eq(e.chain[0].p[0], 0x30);
	ck_assert(e.timestamp_ms > 1600000000000ULL && e.timestamp_ms < 1700000000000ULL);
	assert_inside(&e, leaf, ll, extra, el);
	free(leaf);
	free(extra);
}
END_TEST

START_TEST(rfc6962_precert_entry_takes_precert_from_extra_data)
{
	size_t ll, el;
	uint8_t *leaf = fixture_slurp(RFC "scrapectlog_precert_leaf_input.bin", &ll);
	uint8_t *extra = fixture_slurp(RFC "scrapectlog_precert_extra_data.bin", &el);
	struct leaf_entry e;

	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), LEAF_OK);
	ck_assert_int_eq(e.type, LEAF_PRECERT);
	ck_assert_ptr_eq(e.issuer_key_hash, leaf + 12);
	ck_assert_ptr_eq(e.signed_entry.p, leaf + 12 + 32 + 3);
	/* the pre-certificate starts right after its 3 length bytes */
	ck_assert_ptr_eq(e.cert.p, extra + 3);
	ck_assert_uint_eq(e.cert.len,
	    ((size_t)extra[0] << 16) | ((size_t)extra[1] << 8) | extra[2]);
	ck_assert_uint_ge(e.nchain, 1);
	assert_inside(&e, leaf, ll, extra, el);
	free(leaf);
	free(extra);
}
END_TEST

/* Decodes every tile of navigli2025h2 and checks each leaf hash against
 * the level-0 hash tile: the decoder consumed exactly the right bytes. */
static size_t
check_tile(const char *data_path, const char *hash_path, uint64_t first)
{
	size_t dl, hl, off = 0, n = 0;
	uint8_t *data = fixture_slurp(data_path, &dl);
	uint8_t *hashes = fixture_slurp(hash_path, &hl);

	while (off < dl) {
		struct leaf_entry e;
		uint8_t h[32];
		int rc = leaf_decode_tile(data, dl, &off, NULL, NULL, &e);

		ck_assert_msg(rc == LEAF_OK, "%s entry %zu: %s", data_path, n,
		    leaf_strerror(rc));
		ck_assert_int_eq(e.is_static, 1);
		ck_assert_int_eq(e.has_index, 1);
		ck_assert_uint_eq(e.index, first + n);
		ck_assert_uint_eq(e.type, LEAF_PRECERT);
		ck_assert_uint_gt(e.cert.len, 0);
		ck_assert_uint_eq(e.cert.p[0], 0x30);
		ck_assert_uint_ge(e.nchain_fp, 1);
		ck_assert_uint_eq(e.nchain, 0);
		ck_assert_uint_le((n + 1) * 32, hl);
		ck_assert_int_eq(leaf_hash(&e, h), 0);
		ck_assert_msg(memcmp(h, hashes + n * 32, 32) == 0,
		    "%s entry %zu: leaf hash differs from tile/0", data_path, n);
		assert_inside(&e, data, dl, NULL, 0);
		n++;
	}
	ck_assert_uint_eq(off, dl);
	ck_assert_uint_eq(n * 32, hl);
	free(data);
	free(hashes);
	return n;
}

START_TEST(navigli_all_1034_entries_decode_and_hash_to_tile0)
{
	size_t total = 0;

	total += check_tile(NAV "data/000", NAV "0/000", 0);
	total += check_tile(NAV "data/001", NAV "0/001", 256);
	total += check_tile(NAV "data/002", NAV "0/002", 512);
	total += check_tile(NAV "data/003", NAV "0/003", 768);
	total += check_tile(NAV "data/003.p/10", NAV "0/003.p/10", 768);
	ck_assert_uint_eq(total, 1034);
}
END_TEST

struct fake_issuers {
	uint8_t der[2][4];
	int calls;
	int known;     /* how many fingerprints it answers */
};

static int
fake_lookup(void *arg, const uint8_t fp[LEAF_FP_LEN], const uint8_t **der,
    size_t *len)
{
	struct fake_issuers *fi = arg;

	(void)fp;
	if (fi->calls >= fi->known)
		return -1;
	*der = fi->der[fi->calls % 2];
	*len = sizeof(fi->der[0]);
	fi->calls++;
	return 0;
}

START_TEST(tile_chain_resolves_through_lookup_or_fails_clearly)
{
	size_t dl, off = 0;
	uint8_t *data = fixture_slurp(NAV "data/000", &dl);
	struct fake_issuers fi = { { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } }, 0, 100 };
	struct leaf_entry e;

	ck_assert_int_eq(leaf_decode_tile(data, dl, &off, fake_lookup, &fi, &e), LEAF_OK);
	ck_assert_uint_eq(e.nchain, e.nchain_fp);
	ck_assert_int_eq(fi.calls, (int)e.nchain_fp);
	ck_assert_ptr_eq(e.chain[0].p, fi.der[0]);
	ck_assert_uint_eq(e.chain[0].len, 4);

	/* unknown issuer: LEAF_EISSUER and *off unchanged */
	fi.calls = 0;
	fi.known = 0;
	{
		size_t before = off;

		ck_assert_int_eq(leaf_decode_tile(data, dl, &off, fake_lookup, &fi, &e),
		    LEAF_EISSUER);
		ck_assert_uint_eq(off, before);
		ck_assert_uint_eq(e.nchain, 0);
	}
	free(data);
}
END_TEST

START_TEST(rfc6962_every_prefix_is_an_error)
{
	const char *names[][2] = {
		{ RFC "scrapectlog_x509_leaf_input.bin", RFC "scrapectlog_x509_extra_data.bin" },
		{ RFC "scrapectlog_precert_leaf_input.bin", RFC "scrapectlog_precert_extra_data.bin" },
	};
	size_t k, n;

	for (k = 0; k < 2; k++) {
		size_t ll, el;
		uint8_t *leaf = fixture_slurp(names[k][0], &ll);
		uint8_t *extra = fixture_slurp(names[k][1], &el);
		struct leaf_entry e;

		for (n = 0; n < ll; n++) {
			/* a copy of exactly n bytes, so ASan sees any overread */
			uint8_t *cut = malloc(n ? n : 1);
			int rc;

			ck_assert(cut != NULL);
			memcpy(cut, leaf, n);
			rc = leaf_decode_rfc6962(cut, n, extra, el, &e);
			ck_assert_msg(rc < 0, "leaf prefix %zu accepted", n);
			free(cut);
		}
		for (n = 0; n < el; n++) {
			uint8_t *cut = malloc(n ? n : 1);
			int rc;

			ck_assert(cut != NULL);
			memcpy(cut, extra, n);
			rc = leaf_decode_rfc6962(leaf, ll, cut, n, &e);
			ck_assert_msg(rc < 0, "extra_data prefix %zu accepted", n);
			free(cut);
		}
		free(leaf);
		free(extra);
	}
}
END_TEST

START_TEST(tile_every_prefix_of_one_leaf_is_an_error)
{
	size_t dl, off = 0, n, one;
	uint8_t *data = fixture_slurp(NAV "data/000", &dl);
	struct leaf_entry e;

	ck_assert_int_eq(leaf_decode_tile(data, dl, &off, NULL, NULL, &e), LEAF_OK);
	one = off;
	for (n = 0; n < one; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		size_t o = 0;
		int rc;

		ck_assert(cut != NULL);
		memcpy(cut, data, n);
		rc = leaf_decode_tile(cut, n, &o, NULL, NULL, &e);
		ck_assert_msg(rc < 0, "tile prefix %zu accepted", n);
		ck_assert_uint_eq(o, 0);
		free(cut);
	}
	free(data);
}
END_TEST

START_TEST(random_byte_flips_never_read_outside)
{
	size_t ll, el, dl, i;
	uint8_t *leaf = fixture_slurp(RFC "scrapectlog_precert_leaf_input.bin", &ll);
	uint8_t *extra = fixture_slurp(RFC "scrapectlog_precert_extra_data.bin", &el);
	uint8_t *data = fixture_slurp(NAV "data/001", &dl);
	unsigned seed = 12345;
	size_t tile_one;
	struct leaf_entry e;

	{
		size_t o = 0;

		ck_assert_int_eq(leaf_decode_tile(data, dl, &o, NULL, NULL, &e), 0);
		tile_one = o;
	}
	for (i = 0; i < 3000; i++) {
		uint8_t *l2 = malloc(ll), *x2 = malloc(el), *t2 = malloc(tile_one);
		size_t o = 0;
		int k, rc;

		ck_assert(l2 && x2 && t2);
		memcpy(l2, leaf, ll);
		memcpy(x2, extra, el);
		memcpy(t2, data, tile_one);
		for (k = 0; k < 1 + (int)(i % 4); k++) {
			seed = seed * 1103515245u + 12345u;
			/* favour the header bytes, where lengths live */
			if (seed & 0x100)
				l2[(seed >> 12) % (ll < 64 ? ll : 64)] ^= (uint8_t)(1u << (seed % 8));
			else
				x2[(seed >> 12) % (el < 16 ? el : 16)] ^= (uint8_t)(seed >> 3);
			t2[(seed >> 9) % (tile_one < 80 ? tile_one : 80)] ^= (uint8_t)(seed >> 17);
		}
		rc = leaf_decode_rfc6962(l2, ll, x2, el, &e);
		if (rc == 0)
			assert_inside(&e, l2, ll, x2, el);
		rc = leaf_decode_tile(t2, tile_one, &o, NULL, NULL, &e);
		if (rc == 0) {
			assert_inside(&e, t2, tile_one, NULL, 0);
			ck_assert_uint_le(o, tile_one);
		}
		free(l2);
		free(x2);
		free(t2);
	}
	free(leaf);
	free(extra);
	free(data);
}
END_TEST

START_TEST(bad_headers_give_their_own_codes)
{
	size_t ll, el;
	uint8_t *leaf = fixture_slurp(RFC "scrapectlog_x509_leaf_input.bin", &ll);
	uint8_t *extra = fixture_slurp(RFC "scrapectlog_x509_extra_data.bin", &el);
	uint8_t *big = malloc(ll + 1);
	struct leaf_entry e;

	ck_assert(big != NULL);
	leaf[0] = 1;
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), LEAF_EVERSION);
	leaf[0] = 0;
	leaf[1] = 1;
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), LEAF_ELEAFTYPE);
	leaf[1] = 0;
	leaf[11] = 2;
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), LEAF_EENTRYTYPE);
	leaf[11] = 0;
	memcpy(big, leaf, ll);
	big[ll] = 0;
	ck_assert_int_eq(leaf_decode_rfc6962(big, ll + 1, extra, el, &e), LEAF_ETRAIL);
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, NULL, 5, &e), LEAF_EARG);
	/* zero-length certificate */
	{
		uint8_t z[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 };

		ck_assert_int_eq(leaf_decode_rfc6962(z, sizeof(z), extra, el, &e), LEAF_EEMPTY);
	}
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), LEAF_OK);
	free(big);
	free(leaf);
	free(extra);
}
END_TEST

START_TEST(chain_longer_than_limit_is_overlong)
{
	size_t ll;
	uint8_t *leaf = fixture_slurp(RFC "scrapectlog_x509_leaf_input.bin", &ll);
	/* chain of LEAF_MAX_CHAIN + 1 one-byte certificates */
	size_t n = LEAF_MAX_CHAIN + 1, body = n * 4, i;
	uint8_t *x = malloc(3 + body);
	struct leaf_entry e;

	ck_assert(x != NULL);
	x[0] = (uint8_t)(body >> 16);
	x[1] = (uint8_t)(body >> 8);
	x[2] = (uint8_t)body;
	for (i = 0; i < n; i++) {
		x[3 + i * 4] = 0;
		x[4 + i * 4] = 0;
		x[5 + i * 4] = 1;
		x[6 + i * 4] = 0x30;
	}
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, x, 3 + body, &e), LEAF_ELONG);
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, x, 3 + body - 4, &e), LEAF_ETRUNC);
	x[2] = (uint8_t)(body - 4);
	x[1] = (uint8_t)((body - 4) >> 8);
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, x, 3 + body - 4, &e), LEAF_OK);
	ck_assert_uint_eq(e.nchain, LEAF_MAX_CHAIN);
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, x, 3 + body, &e), LEAF_ETRAIL);
	free(x);
	free(leaf);
}
END_TEST

START_TEST(tile_leaf_without_leaf_index_is_rejected)
{
	/* x509 tile leaf: ts, type 0, 1-byte cert, no extensions, no fps */
	uint8_t t[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0x30, 0, 0, 0, 0 };
	/* same with leaf_index 0x0102030405 */
	uint8_t u[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0x30, 0, 8,
	    0, 0, 5, 1, 2, 3, 4, 5, 0, 0 };
	struct leaf_entry e;
	size_t off = 0;

	ck_assert_int_eq(leaf_decode_tile(t, sizeof(t), &off, NULL, NULL, &e), LEAF_EEXT);
	ck_assert_uint_eq(off, 0);
	ck_assert_int_eq(leaf_decode_tile(u, sizeof(u), &off, NULL, NULL, &e), LEAF_OK);
	ck_assert_uint_eq(off, sizeof(u));
	ck_assert_uint_eq(e.index, 0x0102030405ULL);
	ck_assert_int_eq(e.type, LEAF_X509);
	ck_assert_uint_eq(e.cert.len, 1);
	u[18] = 4;   /* leaf_index of 4 bytes */
	off = 0;
	ck_assert_int_lt(leaf_decode_tile(u, sizeof(u), &off, NULL, NULL, &e), 0);
	ck_assert_str_ne(leaf_strerror(LEAF_ETRUNC), leaf_strerror(LEAF_ETRAIL));
}
END_TEST

Suite *leaf_suite(void);

Suite *
leaf_suite(void)
{
	Suite *s = suite_create("leaf");
	TCase *tc = tcase_create("decode");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rfc6962_x509_entry_decodes_cert_and_chain);
	tcase_add_test(tc, rfc6962_precert_entry_takes_precert_from_extra_data);
	tcase_add_test(tc, navigli_all_1034_entries_decode_and_hash_to_tile0);
	tcase_add_test(tc, tile_chain_resolves_through_lookup_or_fails_clearly);
	tcase_add_test(tc, rfc6962_every_prefix_is_an_error);
	tcase_add_test(tc, tile_every_prefix_of_one_leaf_is_an_error);
	tcase_add_test(tc, random_byte_flips_never_read_outside);
	tcase_add_test(tc, bad_headers_give_their_own_codes);
	tcase_add_test(tc, chain_longer_than_limit_is_overlong);
	tcase_add_test(tc, tile_leaf_without_leaf_index_is_rejected);
	suite_add_tcase(s, tc);
	return s;
}
