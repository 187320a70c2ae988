/*
 * gzip without zlib: valid gzip members made of stored (uncompressed)
 * deflate blocks, for "Content-Encoding: gzip" tiles, and a gzip bomb
 * (fixed-Huffman deflate of back-references: ~160x expansion).
 */
#ifndef FAKELOG_FL_GZIP_H
#define FAKELOG_FL_GZIP_H

#include <stddef.h>
#include <stdint.h>

#include "tests/fakelog/fl_buf.h"

uint32_t fl_gzip_crc32(uint32_t crc, const uint8_t *p, size_t len);
/* A gzip member whose payload is p (stored blocks), appended to out. */
void fl_gzip_stored(const uint8_t *p, size_t len, struct fl_buf *out);
/* A gzip member that inflates to 1 GiB of zero bytes. */
void fl_gzip_bomb(struct fl_buf *out);
#define FL_BOMB_SIZE (1ull << 30)

#endif
