/*
 * Standard base64 (RFC 4648 §4), on OpenSSL's block coder, with the
 * strictness CT and WebSocket need that EVP_DecodeBlock lacks.
 */
#ifndef COMMON_BASE64_H
#define COMMON_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode writes for n bytes, without the NUL. */
#define BASE64_ENCODED_LEN(n) (4 * (((size_t)(n) + 2) / 3))
/* Bytes base64_decode may write for inlen characters (an upper bound). */
#define BASE64_DECODED_MAX(inlen) ((size_t)(inlen) / 4 * 3)

/*
 * Decode inlen characters of strict base64: length a multiple of 4, only
 * the 64 alphabet characters, '=' only as one or two final padding
 * characters, no whitespace. "" decodes to 0 bytes. Returns the decoded
 * length, or -1 if the input is not base64 or needs more than outlen bytes
 * (out is then unspecified).
 */
long base64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);

/* base64_decode of a NUL-ended string into a malloc'd buffer (never
 * NULL for ""). Returns it with *outlen set, or NULL if s is not base64
 * or memory is short. */
uint8_t *base64_decode_alloc(const char *s, size_t *outlen);

/* Encode n bytes into out (BASE64_ENCODED_LEN(n) + 1 bytes, NUL ended).
 * Returns the length written without the NUL, or 0 if n is too large. */
size_t base64_encode(char *out, const void *in, size_t n);

#endif
