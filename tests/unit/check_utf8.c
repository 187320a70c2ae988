/* Unit tests: common/utf8.c, the one UTF-8 validator (WebSocket text and
 * close reasons, certificate strings in JSON, log lines). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "common/utf8.h"

START_TEST(utf8_validator)
{
	static const char *good[] = {
		"", "ascii", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
		"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
		"\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
	};
	static const char *bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf",   /* overlong 2-byte */
		"\xe0\x80\x80", "\xe0\x9f\xbf",           /* overlong 3-byte */
		"\xed\xa0\x80", "\xed\xbf\xbf",           /* surrogates */
		"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",   /* overlong 4-byte */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80",   /* > U+10FFFF */
		"\xff", "\xfe", "\xc2", "\xe2\x82", "\xf0\x9f\x98",
		"\xc2\x41", "\xe2\x28\xa1",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(utf8_valid((const uint8_t *)good[i],
		    strlen(good[i])), "good %zu", i);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!utf8_valid((const uint8_t *)bad[i],
		    strlen(bad[i])), "bad %zu", i);
	/* NUL is valid UTF-8 */
	ck_assert(utf8_valid((const uint8_t *)"a\0b", 3));
}
END_TEST

/* Fragments: any split gives the verdict of the whole message, and a bad
 * sequence is refused in the fragment where it starts. */
START_TEST(utf8_across_fragments)
{
	static const char *msgs[] = {
		"ascii", "caf\xc3\xa9", "\xf0\x9f\x98\x80 ok", "\xed\x9f\xbf",
		"\xed\xa0\x80", "\xe0\x9f\xbf", "\xf4\x90\x80\x80", "a\xc0\x80",
		"\xf0\x9f\x98",
	};
	size_t i, cut;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		const uint8_t *m = (const uint8_t *)msgs[i];
		size_t n = strlen(msgs[i]);
		int whole = utf8_valid(m, n);

		for (cut = 0; cut <= n; cut++) {
			uint32_t st = utf8_feed(UTF8_OK, m, cut);

			st = utf8_feed(st, m + cut, n - cut);
			ck_assert_msg((st == UTF8_OK) == whole,
			    "msg %zu cut %zu", i, cut);
		}
	}
	/* an emoji split 1+3: incomplete, not bad, after the first piece */
	ck_assert_uint_ne(utf8_feed(UTF8_OK,
	    (const uint8_t *)"\xf0", 1), UTF8_OK);
	ck_assert_uint_ne(utf8_feed(UTF8_OK,
	    (const uint8_t *)"\xf0", 1), UTF8_BAD);
	/* a surrogate is refused at its second byte, before the message ends */
	ck_assert_uint_eq(utf8_feed(UTF8_OK,
	    (const uint8_t *)"ok\xed\xa0", 4), UTF8_BAD);
	/* bad is final */
	ck_assert_uint_eq(utf8_feed(UTF8_BAD, (const uint8_t *)"a", 1),
	    UTF8_BAD);
}
END_TEST

/* One character at a time: its length, or 0 when it is not one (also
 * when it is cut short by the end of the bytes). */
START_TEST(char_len_of_each_form)
{
	static const struct {
		const char *s;
		size_t n, want;
	} cases[] = {
		{ "a", 1, 1 }, { "\0", 1, 1 }, { "\x7f", 1, 1 },
		{ "\xc3\xa9x", 3, 2 }, { "\xe2\x82\xac", 3, 3 },
		{ "\xf0\x9f\x98\x80", 4, 4 }, { "\xf4\x8f\xbf\xbf", 4, 4 },
		{ "\xed\x9f\xbf", 3, 3 },                      /* U+D7FF */
		{ "\xc0\xaf", 2, 0 }, { "\xc1\xbf", 2, 0 },     /* overlong */
		{ "\xe0\x80\xaf", 3, 0 }, { "\xf0\x80\x80\xaf", 4, 0 },
		{ "\xed\xa0\x80", 3, 0 }, { "\xed\xbf\xbf", 3, 0 }, /* surrogates */
		{ "\xf4\x90\x80\x80", 4, 0 }, { "\xf5\x80\x80\x80", 4, 0 },
		{ "\xf8\x88\x80\x80", 4, 0 },                  /* > U+10FFFF */
		{ "\xc3", 1, 0 }, { "\xe2\x82", 2, 0 },         /* truncated */
		{ "\xf0\x9f\x98", 3, 0 }, { "\xe2\x82\xac", 2, 0 },
		{ "\x80", 1, 0 }, { "\xbf\xbf", 2, 0 }, { "\xc3\x28", 2, 0 },
		{ "\xff", 1, 0 }, { "", 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(utf8_char_len((const uint8_t *)cases[i].s,
		    cases[i].n) == cases[i].want, "case %zu", i);
}
END_TEST

Suite *utf8_suite(void);

Suite *
utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, utf8_validator);
	tcase_add_test(tc, utf8_across_fragments);
	tcase_add_test(tc, char_len_of_each_form);
	suite_add_tcase(s, tc);
	return s;
}
