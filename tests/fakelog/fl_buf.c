#include "tests/fakelog/fl_buf.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void
fl_buf_free(struct fl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
fl_buf_put(struct fl_buf *b, const void *data, size_t len)
{
	if (b->err || len == 0)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *np;

		while (cap < b->len + len)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void
fl_buf_uint(struct fl_buf *b, uint64_t v, int nbytes)
{
	uint8_t tmp[8];

	for (int i = nbytes - 1; i >= 0; i--) {
		tmp[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	fl_buf_put(b, tmp, (size_t)nbytes);
}

void
fl_buf_vec(struct fl_buf *b, int nbytes, const void *data, size_t len)
{
	fl_buf_uint(b, len, nbytes);
	fl_buf_put(b, data, len);
}

char *
fl_buf_b64(const uint8_t *p, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	return out;
}

int
fl_buf_unb64(const char *s, struct fl_buf *out)
{
	size_t n = strlen(s);
	int dl, pad = 0;
	uint8_t *tmp;

	if (n % 4 != 0)
		return -1;
	if (n == 0)
		return 0;
	tmp = malloc(n / 4 * 3 + 1);
	if (tmp == NULL)
		return -1;
	dl = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (dl < 0) {
		free(tmp);
		return -1;
	}
	/* EVP_DecodeBlock keeps the padding bytes as zeros: drop them. */
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	fl_buf_put(out, tmp, (size_t)(dl - pad));
	free(tmp);
	return out->err ? -1 : 0;
}

uint64_t
fl_buf_rd_uint(struct fl_rd *r, int nbytes)
{
	uint64_t v = 0;

	if (r->err || r->len - r->off < (size_t)nbytes) {
		r->err = 1;
		return 0;
	}
	for (int i = 0; i < nbytes; i++)
		v = (v << 8) | r->p[r->off++];
	return v;
}

const uint8_t *
fl_buf_rd_bytes(struct fl_rd *r, size_t len)
{
	const uint8_t *p;

	if (r->err || r->len - r->off < len) {
		r->err = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += len;
	return p;
}

const uint8_t *
fl_buf_rd_vec(struct fl_rd *r, int nbytes, size_t *len)
{
	*len = (size_t)fl_buf_rd_uint(r, nbytes);
	return fl_buf_rd_bytes(r, *len);
}
