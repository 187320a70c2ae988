/*
 * UTF-8 validation per RFC 3629: no overlong forms, no surrogates
 * (U+D800..DFFF), nothing above U+10FFFF, no truncated sequence.
 */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Is buf valid UTF-8? (NUL is a character like any other.) */
int utf8_valid(const uint8_t *buf, size_t len);

/* Validation across pieces (the fragments of a WebSocket text message,
 * RFC 6455 §8.1): start from UTF8_OK and feed each piece; UTF8_BAD is
 * final and is returned at the first byte that cannot continue. After the
 * last piece the whole is valid iff the state is UTF8_OK (not in the
 * middle of a character). */
#define UTF8_OK 0u
#define UTF8_BAD 0xffffffffu
uint32_t utf8_feed(uint32_t state, const uint8_t *buf, size_t len);

/* Length (1..4) of the valid character at s, n bytes available, or 0 if
 * the bytes there are not one (n == 0 included). */
size_t utf8_char_len(const uint8_t *s, size_t n);

#endif
