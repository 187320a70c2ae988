/* UTF-8 validation: the project's one decoder state machine. */
#include "common/utf8.h"

/*
 * The range allowed for the byte after a lead byte carries the rules
 * (overlongs, surrogates, the U+10FFFF ceiling); later continuation bytes
 * are 80..BF. State: bits 0-7 continuation bytes still due, 8-15 and
 * 16-23 the range of the next one; 0 between characters.
 */
#define UTF8_STATE(need, lo, hi) \
	((uint32_t)(need) | (uint32_t)(lo) << 8 | (uint32_t)(hi) << 16)

static uint32_t
utf8_step(uint32_t state, uint8_t c)
{
	if (state != UTF8_OK) {
		uint32_t need = state & 0xff;

		if (c < ((state >> 8) & 0xff) || c > ((state >> 16) & 0xff))
			return UTF8_BAD;
		return need == 1 ? UTF8_OK : UTF8_STATE(need - 1, 0x80, 0xbf);
	}
	if (c < 0x80)
		return UTF8_OK;
	if (c >= 0xc2 && c <= 0xdf)
		return UTF8_STATE(1, 0x80, 0xbf);
	if (c == 0xe0)
		return UTF8_STATE(2, 0xa0, 0xbf);
	if (c == 0xed)
		return UTF8_STATE(2, 0x80, 0x9f);
	if (c >= 0xe1 && c <= 0xef)
		return UTF8_STATE(2, 0x80, 0xbf);
	if (c == 0xf0)
		return UTF8_STATE(3, 0x90, 0xbf);
	if (c == 0xf4)
		return UTF8_STATE(3, 0x80, 0x8f);
	if (c >= 0xf1 && c <= 0xf3)
		return UTF8_STATE(3, 0x80, 0xbf);
	return UTF8_BAD;
}

uint32_t
utf8_feed(uint32_t state, const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len && state != UTF8_BAD; i++)
		state = utf8_step(state, buf[i]);
	return state;
}

int
utf8_valid(const uint8_t *buf, size_t len)
{
	return utf8_feed(UTF8_OK, buf, len) == UTF8_OK;
}

size_t
utf8_char_len(const uint8_t *s, size_t n)
{
	uint32_t state = UTF8_OK;
	size_t i;

	for (i = 0; i < n && i < 4; i++) {
		state = utf8_step(state, s[i]);
		if (state == UTF8_BAD)
			return 0;
		if (state == UTF8_OK)
			return i + 1;
	}
	return 0;
}
