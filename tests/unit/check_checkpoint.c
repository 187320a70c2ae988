/* static-ct-api checkpoint (signed note, RFC6962NoteSignature) verification. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/checkpoint.h"
#include "tests/unit/fixture.h"

Suite *checkpoint_suite(void);

#define ROME_KEY "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAXM8Ld9qn64g1zVFDh5FtgxS3zj5sqQDwYMs3wrBV3MCBiFhK/iRLxdKF4YsAcJaEglMlu4Lewvzxs0xO2uwEw=="
#define SKYLIGHT_KEY "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPIcer7RB32jt4bTEbhgUKLKvOctFD+I2hoDItFxUBlJiGFvftBuRk3fO7e1T7gC2ekyfL7XoO2oN/ObcZyc4EA=="

static int
verify(const char *text, size_t len, const char *key, const char *origin,
    struct checkpoint *cp, char *err, size_t errlen)
{
	struct sth_key k;
	int rc;

	ck_assert_int_eq(sth_key_init(&k, key, err, errlen), 0);
	rc = checkpoint_verify(text, len, &k, origin, cp, err, errlen);
	sth_key_fini(&k);
	return rc;
}

START_TEST(real_rome_checkpoint_verifies)
{
	struct checkpoint cp;
	char err[256], *text;
	size_t len;

	text = fixture_slurp("tests/data/ct/rome2024h1.checkpoint", &len);
	ck_assert_msg(verify(text, len, ROME_KEY, "rome.ct.filippo.io/2024h1",
	    &cp, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cp.origin, "rome.ct.filippo.io/2024h1");
	ck_assert_uint_eq(cp.size, 115474666);
	ck_assert_uint_eq(cp.root_hash[0], 0xda);
	ck_assert_uint_eq(cp.timestamp, 0x18e7e815952ULL);
	free(text);
}
END_TEST

START_TEST(skylight_test_checkpoint_verifies_without_expected_origin)
{
	struct checkpoint cp;
	char err[256], *text;
	size_t len;

	text = fixture_slurp("tests/data/ct/skylight-testtree.checkpoint", &len);
	ck_assert_msg(verify(text, len, SKYLIGHT_KEY, NULL, &cp, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cp.origin, "rome2026h1.example.org");
	ck_assert_uint_eq(cp.size, 300);
	free(text);
}
END_TEST

/* The 4-byte key ID in the real note is the rome verifier key's 78f4abae. */
START_TEST(key_id_matches_note_verifier_key)
{
	struct sth_key k;
	uint8_t id[4];
	char err[256];

	ck_assert_int_eq(sth_key_init(&k, ROME_KEY, err, sizeof(err)), 0);
	checkpoint_key_id("rome.ct.filippo.io/2024h1", k.log_id, id);
	ck_assert_uint_eq(id[0], 0x78);
	ck_assert_uint_eq(id[1], 0xf4);
	ck_assert_uint_eq(id[2], 0xab);
	ck_assert_uint_eq(id[3], 0xae);
	sth_key_fini(&k);
}
END_TEST

START_TEST(wrong_key_or_origin_is_refused)
{
	struct checkpoint cp;
	char err[256], *text;
	size_t len;

	text = fixture_slurp("tests/data/ct/rome2024h1.checkpoint", &len);
	ck_assert_int_eq(verify(text, len, SKYLIGHT_KEY, NULL, &cp, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "checkpoint: no signature by the log key");
	ck_assert_int_eq(verify(text, len, ROME_KEY, "rome.ct.filippo.io/2025h1",
	    &cp, err, sizeof(err)), -1);
	free(text);
}
END_TEST

/* Flip the size, the hash or a signature byte: every change is caught. */
START_TEST(tampered_checkpoint_is_refused)
{
	struct checkpoint cp;
	char err[256], *text, *t;
	size_t len;

	text = fixture_slurp("tests/data/ct/rome2024h1.checkpoint", &len);
	t = malloc(len + 1);
	ck_assert_ptr_nonnull(t);

	memcpy(t, text, len + 1);
	t[strlen("rome.ct.filippo.io/2024h1\n") + 8] = '7';  /* size ...666 -> 667 */
	ck_assert_int_eq(verify(t, len, ROME_KEY, NULL, &cp, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "signature does not verify");

	memcpy(t, text, len + 1);
	t[strlen("rome.ct.filippo.io/2024h1\n115474666\n") + 3] ^= 0x01;
	ck_assert_int_eq(verify(t, len, ROME_KEY, NULL, &cp, err, sizeof(err)), -1);

	memcpy(t, text, len + 1);
	t[len - 10] = t[len - 10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify(t, len, ROME_KEY, NULL, &cp, err, sizeof(err)), -1);
	free(t);
	free(text);
}
END_TEST

START_TEST(malformed_notes_are_refused)
{
	static const char *bad[] = {
		"",
		"rome.ct.filippo.io/2024h1\n115474666\n2q1K6aiIJR+F7TyhiWOghoWOjY0/3dVBLsBbAvB4xCw=\n",
		"rome.ct.filippo.io/2024h1\n115474666\n2q1K6aiIJR+F7TyhiWOghoWOjY0/3dVBLsBbAvB4xCw=\n\n",
		"rome.ct.filippo.io/2024h1\n0115474666\n2q1K6aiIJR+F7TyhiWOghoWOjY0/3dVBLsBbAvB4xCw=\n\n\xe2\x80\x94 x AAAA\n",
		"rome.ct.filippo.io/2024h1\n-1\n2q1K6aiIJR+F7TyhiWOghoWOjY0/3dVBLsBbAvB4xCw=\n\n\xe2\x80\x94 x AAAA\n",
		"rome.ct.filippo.io/2024h1\n99999999999999999999999\n2q1K6aiIJR+F7TyhiWOghoWOjY0/3dVBLsBbAvB4xCw=\n\n\xe2\x80\x94 x AAAA\n",
		"rome.ct.filippo.io/2024h1\n5\nshort\n\n\xe2\x80\x94 x AAAA\n",
		"rome.ct.filippo.io/2024h1\n5\n\n\xe2\x80\x94 x AAAA\n",
		"rome.ct.filippo.io/2024h1\n5\n2q1K6aiIJR+F7TyhiWOghoWOjY0/3dVBLsBbAvB4xCw=\n\n- x AAAA\n",
		"rome.ct.filippo.io/2024h1\n5\n2q1K6aiIJR+F7TyhiWOghoWOjY0/3dVBLsBbAvB4xCw=\n\n\xe2\x80\x94 rome.ct.filippo.io/2024h1 ePSrrg==\n",
	};
	struct checkpoint cp;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(verify(bad[i], strlen(bad[i]), ROME_KEY, NULL, &cp,
		    err, sizeof(err)) == -1, "accepted case %zu", i);
}
END_TEST

/* A witness cosignature before the log's own is skipped, not fatal. */
START_TEST(other_signatures_are_skipped)
{
	struct checkpoint cp;
	char err[256], *text, *t, *sig;
	const char *w = "\xe2\x80\x94 witness.example AAAAAAAAAAAAAAAA\n";
	size_t len, body;

	text = fixture_slurp("tests/data/ct/rome2024h1.checkpoint", &len);
	sig = strstr(text, "\n\n");
	ck_assert_ptr_nonnull(sig);
	body = (size_t)(sig - text) + 2;
	t = malloc(len + strlen(w) + 1);
	ck_assert_ptr_nonnull(t);
	memcpy(t, text, body);
	memcpy(t + body, w, strlen(w));
	memcpy(t + body + strlen(w), text + body, len - body + 1);
	ck_assert_msg(verify(t, len + strlen(w), ROME_KEY, NULL, &cp, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(cp.size, 115474666);
	free(t);
	free(text);
}
END_TEST

Suite *
checkpoint_suite(void)
{
	Suite *s = suite_create("checkpoint");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, real_rome_checkpoint_verifies);
	tcase_add_test(tc, skylight_test_checkpoint_verifies_without_expected_origin);
	tcase_add_test(tc, key_id_matches_note_verifier_key);
	tcase_add_test(tc, wrong_key_or_origin_is_refused);
	tcase_add_test(tc, tampered_checkpoint_is_refused);
	tcase_add_test(tc, malformed_notes_are_refused);
	tcase_add_test(tc, other_signatures_are_skipped);
	suite_add_tcase(s, tc);
	return s;
}
