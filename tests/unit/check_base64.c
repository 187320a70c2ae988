/* Unit tests: common/base64.c. The decoder refuses what is not strict
 * standard base64, whatever OpenSSL's block decoder would let through. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "common/base64.h"

static long
dec(const char *s, uint8_t *out, size_t outlen)
{
	return base64_decode(s, strlen(s), out, outlen);
}

START_TEST(decoder_is_strict)
{
	uint8_t out[8];

	ck_assert_int_eq(dec("aGk=", out, sizeof(out)), 2);
	ck_assert_int_eq(memcmp(out, "hi", 2), 0);
	ck_assert_int_eq(dec("aGVsbG8h", out, sizeof(out)), 6);
	ck_assert_int_eq(memcmp(out, "hello!", 6), 0);
	ck_assert_int_eq(dec("aA==", out, sizeof(out)), 1);
	ck_assert_int_eq(out[0], 'h');
	ck_assert_int_eq(dec("aGk", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("a=k=", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("aG=k", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("aGk=aGk=", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("aGVsbG8h", out, 5), -1);
	ck_assert_int_eq(dec("", out, sizeof(out)), 0);
	ck_assert_int_eq(dec("====", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("a===", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("@@@@", out, sizeof(out)), -1);
}
END_TEST

/* What EVP_DecodeBlock alone would take: whitespace at either end or
 * inside, '=' read as 'A', the URL-safe alphabet, a NUL. */
START_TEST(decoder_refuses_what_openssl_lets_through)
{
	uint8_t out[16];

	ck_assert_int_eq(dec(" aGk=", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("aGk= ", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("    aGk=", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("aGk=\n\n\n\n", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("aG k", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("a=kA", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("=GkA", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("aGk-", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("a_k=", out, sizeof(out)), -1);
	ck_assert_int_eq(base64_decode("aG\0k", 4, out, sizeof(out)), -1);
}
END_TEST

/* Each of the 256 byte values, at each place of a quantum: taken only if
 * it is one of the 64 letters, or '=' where padding goes (a letter missing
 * from the decoder's table fails here, and so does '=' added to it). */
START_TEST(decoder_takes_exactly_the_alphabet)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t out[16];
	int c, at, taken = 0;

	for (c = 0; c < 256; c++) {
		int want = c != 0 && strchr(alpha, c) != NULL;

		for (at = 0; at < 8; at++) {
			char in[9] = "QUJDRA==";

			if (at >= 6)    /* 6 and 7: in a quantum with no padding */
				memcpy(in, "QUJDREVG", 8);
			in[at] = (char)c;
			ck_assert_msg((base64_decode(in, 8, out, sizeof(out)) >= 0) ==
			    (want || (c == '=' && at == 7)),
			    "byte %d at %d", c, at);
		}
		taken += want;
	}
	ck_assert_int_eq(taken, 64);
}
END_TEST

/* A SHA-256 root hash (44 characters, one '=') decodes into exactly 32
 * bytes: the padding is not written past the end. */
START_TEST(padding_needs_no_room)
{
	uint8_t out[33], want[32];
	char b64[BASE64_ENCODED_LEN(32) + 1];
	size_t i;

	for (i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 7 + 1);
	ck_assert_uint_eq(base64_encode(b64, want, 32), 44);
	out[32] = 0xaa;
	ck_assert_int_eq(dec(b64, out, 32), 32);
	ck_assert_int_eq(memcmp(out, want, 32), 0);
	ck_assert_int_eq(out[32], 0xaa);
	ck_assert_int_eq(dec(b64, out, 31), -1);
}
END_TEST

START_TEST(encoder_round_trips)
{
	uint8_t in[64], back[64];
	char b64[BASE64_ENCODED_LEN(64) + 1];
	size_t n, i;

	ck_assert_uint_eq(base64_encode(b64, "\x00\x01\x02\xff", 4), 8);
	ck_assert_str_eq(b64, "AAEC/w==");
	ck_assert_uint_eq(base64_encode(b64, "", 0), 0);
	ck_assert_str_eq(b64, "");
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(255 - i * 3);
	for (n = 0; n <= sizeof(in); n++) {
		ck_assert_uint_eq(base64_encode(b64, in, n), BASE64_ENCODED_LEN(n));
		ck_assert_uint_eq(strlen(b64), BASE64_ENCODED_LEN(n));
		ck_assert_int_eq(dec(b64, back, sizeof(back)), (long)n);
		ck_assert_int_eq(memcmp(in, back, n), 0);
	}
}
END_TEST

Suite *base64_suite(void);

Suite *
base64_suite(void)
{
	Suite *s = suite_create("base64");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, decoder_is_strict);
	tcase_add_test(tc, decoder_refuses_what_openssl_lets_through);
	tcase_add_test(tc, decoder_takes_exactly_the_alphabet);
	tcase_add_test(tc, padding_needs_no_room);
	tcase_add_test(tc, encoder_round_trips);
	suite_add_tcase(s, tc);
	return s;
}
