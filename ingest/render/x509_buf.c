/* The text buffer and JSON string writer the renderer appends to (see
 * x509_json.h). */
#include "ingest/render/x509_priv.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/base64.h"
#include "common/utf8.h"

/* ---- text buffer ---- */

void
x509j_buf_init(struct x509j_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
x509j_buf_fini(struct x509j_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
x509j_buf_reserve(struct x509j_buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return -1;
	if (more > SIZE_MAX / 2 - b->len - 1) {
		b->oom = 1;
		return -1;
	}
	need = b->len + more + 1;   /* room for a NUL */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 1024;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
x509j_put(struct x509j_buf *b, const void *s, size_t n)
{
	if (n == 0 || x509j_buf_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
x509j_puts(struct x509j_buf *b, const char *s)
{
	x509j_put(b, s, strlen(s));
}

void
x509j_putc(struct x509j_buf *b, char c)
{
	x509j_put(b, &c, 1);
}

void
x509j_u64(struct x509j_buf *b, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);

	x509j_put(b, tmp, (size_t)n);
}

void
x509j_str(struct x509j_buf *b, const void *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = src;
	size_t i = 0, run;
	char *o;

	/* worst case: 6 output bytes per input byte, plus quotes */
	if (n > SIZE_MAX / 8 || x509j_buf_reserve(b, n * 6 + 2) != 0)
		return;
	o = b->p + b->len;
	*o++ = '"';
	while (i < n) {
		uint8_t c = s[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c < 0x20) {
			*o++ = '\\';
			switch (c) {
			case '\n': *o++ = 'n'; break;
			case '\r': *o++ = 'r'; break;
			case '\t': *o++ = 't'; break;
			default:
				*o++ = 'u'; *o++ = '0'; *o++ = '0';
				*o++ = hex[c >> 4]; *o++ = hex[c & 15];
			}
			i++;
			continue;
		}
		if ((run = utf8_char_len(s + i, n - i)) > 0) {
			memcpy(o, s + i, run);
			o += run;
			i += run;
			continue;
		}
		/* not text: the characters \xHH, escaped for JSON */
		*o++ = '\\'; *o++ = '\\'; *o++ = 'x';
		*o++ = hex[c >> 4]; *o++ = hex[c & 15];
		i++;
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->p);
}

void
x509j_b64(struct x509j_buf *b, const void *s, size_t n)
{
	if (n > (size_t)INT_MAX / 4 * 3 ||
	    x509j_buf_reserve(b, BASE64_ENCODED_LEN(n) + 3) != 0)
		return;
	b->p[b->len++] = '"';
	b->len += base64_encode(b->p + b->len, s, n);
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

void
x509j_hex_in(struct x509j_buf *b, const uint8_t *s, size_t n, int colons,
    const char *hex)
{
	size_t i;
	char *o;

	if (x509j_buf_reserve(b, n * 3 + 2) != 0)
		return;
	o = b->p + b->len;
	for (i = 0; i < n; i++) {
		if (colons && i > 0)
			*o++ = ':';
		*o++ = hex[s[i] >> 4];
		*o++ = hex[s[i] & 15];
	}
	*o = '\0';
	b->len = (size_t)(o - b->p);
}

/* Upper case, as the fingerprints have always been. */
void
x509j_hex(struct x509j_buf *b, const uint8_t *s, size_t n, int colons)
{
	x509j_hex_in(b, s, n, colons, "0123456789ABCDEF");
}
