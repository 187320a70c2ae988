/*
 * Growable byte buffer with a sticky error flag, plus the TLS presentation
 * language encoders CT needs (big-endian integers, length-prefixed vectors)
 * and base64. A failed allocation sets buf->err; callers check it once.
 */
#ifndef FAKELOG_FL_BUF_H
#define FAKELOG_FL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct fl_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	int err;
};

void fl_buf_free(struct fl_buf *b);
void fl_buf_put(struct fl_buf *b, const void *data, size_t len);
/* Big-endian unsigned integer of nbytes (1..8). */
void fl_buf_uint(struct fl_buf *b, uint64_t v, int nbytes);
/* A TLS vector: nbytes length prefix, then the data. */
void fl_buf_vec(struct fl_buf *b, int nbytes, const void *data, size_t len);

/* Base64 (standard, padded). fl_buf_b64 returns a malloc'd string or NULL. */
char *fl_buf_b64(const uint8_t *p, size_t len);
/* Decodes into out (appended). Returns 0, or -1 on bad input. */
int fl_buf_unb64(const char *s, struct fl_buf *out);

/* A bounds-checked reader over TLS-encoded bytes. */
struct fl_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};
uint64_t fl_buf_rd_uint(struct fl_rd *r, int nbytes);
/* Reads an nbytes length prefix and returns a pointer to the data. */
const uint8_t *fl_buf_rd_vec(struct fl_rd *r, int nbytes, size_t *len);
const uint8_t *fl_buf_rd_bytes(struct fl_rd *r, size_t len);

#endif
