#include "tests/fakelog/fl_gzip.h"

uint32_t
fl_gzip_crc32(uint32_t crc, const uint8_t *p, size_t len)
{
	static uint32_t table[256];
	static int ready;

	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
header(struct fl_buf *out)
{
	/* magic, deflate, no flags, mtime 0, no extra flags, OS unknown */
	static const uint8_t h[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };

	fl_buf_put(out, h, sizeof(h));
}

static void
put_le32(struct fl_buf *out, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
		(uint8_t)(v >> 24) };

	fl_buf_put(out, b, 4);
}

void
fl_gzip_stored(const uint8_t *p, size_t len, struct fl_buf *out)
{
	size_t off = 0;

	header(out);
	do {
		size_t n = len - off > 65535 ? 65535 : len - off;
		int final = off + n == len;
		uint8_t bh[5] = { (uint8_t)final, (uint8_t)n, (uint8_t)(n >> 8),
			(uint8_t)~n, (uint8_t)(~n >> 8) };

		fl_buf_put(out, bh, sizeof(bh));
		fl_buf_put(out, p + off, n);
		off += n;
	} while (off < len);
	put_le32(out, fl_gzip_crc32(0, p, len));
	put_le32(out, (uint32_t)len);
}

/* LSB-first bit writer, as deflate packs bits. */
struct bits {
	struct fl_buf *out;
	uint32_t acc;
	int n;
};

static void
put_bits(struct bits *b, uint32_t v, int n)
{
	b->acc |= v << b->n;
	b->n += n;
	while (b->n >= 8) {
		uint8_t c = (uint8_t)b->acc;

		fl_buf_put(b->out, &c, 1);
		b->acc >>= 8;
		b->n -= 8;
	}
}

/* Huffman codes are sent MSB first: reverse them for the LSB writer. */
static void
put_code(struct bits *b, uint32_t code, int n)
{
	uint32_t r = 0;

	for (int i = 0; i < n; i++)
		r |= ((code >> i) & 1) << (n - 1 - i);
	put_bits(b, r, n);
}

void
fl_gzip_bomb(struct fl_buf *out)
{
	struct bits b = { out, 0, 0 };
	uint64_t left = FL_BOMB_SIZE - 1;

	header(out);
	put_bits(&b, 1, 1);          /* BFINAL */
	put_bits(&b, 1, 2);          /* fixed Huffman */
	put_code(&b, 0x30, 8);       /* literal 0x00 */
	while (left > 0 && !out->err) {
		/* length 258 = code 285 (8 bits 11000101); distance 1 =
		 * code 0 (5 bits); shorter tails use lengths 3..10 and
		 * then literals. */
		if (left >= 258) {
			put_code(&b, 0xc5, 8);
			put_code(&b, 0, 5);
			left -= 258;
		} else if (left >= 3 && left <= 10) {
			put_code(&b, (uint32_t)(left - 3 + 1), 7); /* 257.. */
			put_code(&b, 0, 5);
			left = 0;
		} else {
			put_code(&b, 0x30, 8);
			left--;
		}
	}
	put_code(&b, 0, 7);          /* end of block (256) */
	if (b.n > 0)
		put_bits(&b, 0, 8 - b.n);
	/* CRC-32 of 2^30 zero bytes (precomputed: computing it costs
	 * seconds) and the size mod 2^32. */
	put_le32(out, 0x5b64c2b0u);
	put_le32(out, (uint32_t)FL_BOMB_SIZE);
}
