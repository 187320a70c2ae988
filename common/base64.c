/* Base64 encoding and strict decoding: the project's one copy. */
#include "common/base64.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static int
b64_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * EVP_DecodeBlock skips whitespace at either end, reads '=' anywhere as
 * zero bits and counts the padding in its result, so the input is checked
 * here first and the padding taken off after. The last quantum goes
 * through a small buffer: the block coder writes 3 bytes for it even when
 * one or two are padding, which out need not have room for.
 */
long
base64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	uint8_t last[3];
	size_t i, pad = 0, body, n;

	if (inlen % 4 != 0 || inlen > INT_MAX)
		return -1;
	if (inlen == 0)
		return 0;
	if (s[inlen - 1] == '=')
		pad = s[inlen - 2] == '=' ? 2 : 1;
	for (i = 0; i < inlen - pad; i++)
		if (!b64_alpha(s[i]))
			return -1;
	n = inlen / 4 * 3 - pad;
	if (n > outlen)
		return -1;
	body = inlen - 4;
	if (body > 0 && EVP_DecodeBlock(out, s, (int)body) != (int)(body / 4 * 3))
		return -1;
	if (EVP_DecodeBlock(last, s + body, 4) != 3)
		return -1;
	memcpy(out + body / 4 * 3, last, 3 - pad);
	return (long)n;
}

uint8_t *
base64_decode_alloc(const char *s, size_t *outlen)
{
	size_t n = strlen(s);
	uint8_t *d;
	long r;

	if ((d = malloc(BASE64_DECODED_MAX(n) + 1)) == NULL)
		return NULL;
	if ((r = base64_decode(s, n, d, BASE64_DECODED_MAX(n))) < 0) {
		free(d);
		return NULL;
	}
	*outlen = (size_t)r;
	return d;
}

size_t
base64_encode(char *out, const void *in, size_t n)
{
	if (n > (size_t)INT_MAX / 4 * 3) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}
