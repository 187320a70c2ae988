#include "tests/fakelog/fl_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
fl_entry_free(struct fl_entry *e)
{
	free(e->cert);
	free(e->precert);
	free(e->ext);
	memset(e, 0, sizeof(*e));
}

void
fl_entry_leaf_index_ext(uint64_t index, uint8_t out[8])
{
	out[0] = 0;          /* extension_type leaf_index */
	out[1] = 0;
	out[2] = 5;          /* uint40 */
	for (int i = 0; i < 5; i++)
		out[3 + i] = (uint8_t)(index >> (8 * (4 - i)));
}

static void
tst(const struct fl_entry *e, const uint8_t *ext, size_t ext_len,
    struct fl_buf *out)
{
	if (ext == NULL) {
		ext = e->ext;
		ext_len = e->ext_len;
	}
	fl_buf_uint(out, e->ts, 8);
	fl_buf_uint(out, e->type, 2);
	if (e->type == FL_PRECERT_ENTRY)
		fl_buf_put(out, e->ikh, 32);
	fl_buf_vec(out, 3, e->cert, e->cert_len);
	fl_buf_vec(out, 2, ext, ext_len);
}

void
fl_entry_leaf(const struct fl_entry *e, const uint8_t *ext, size_t ext_len,
    struct fl_buf *out)
{
	fl_buf_uint(out, 0, 1);         /* version v1 */
	fl_buf_uint(out, 0, 1);         /* timestamped_entry */
	tst(e, ext, ext_len, out);
}

void
fl_entry_extra(const struct fl_entry *e, const struct fl_pool *pool,
    struct fl_buf *out)
{
	size_t total = 0;

	if (e->type == FL_PRECERT_ENTRY)
		fl_buf_vec(out, 3, e->precert, e->precert_len);
	for (int i = 0; i < e->nchain; i++)
		total += 3 + pool->v[e->chain[i]].len;
	fl_buf_uint(out, total, 3);
	for (int i = 0; i < e->nchain; i++)
		fl_buf_vec(out, 3, pool->v[e->chain[i]].der,
		    pool->v[e->chain[i]].len);
}

void
fl_entry_tile_leaf(const struct fl_entry *e, const uint8_t *ext,
    size_t ext_len, const struct fl_pool *pool, struct fl_buf *out)
{
	tst(e, ext, ext_len, out);
	if (e->type == FL_PRECERT_ENTRY)
		fl_buf_vec(out, 3, e->precert, e->precert_len);
	fl_buf_uint(out, 32u * e->nchain, 2);
	for (int i = 0; i < e->nchain; i++)
		fl_buf_put(out, pool->v[e->chain[i]].sha256, 32);
}

static int
copy(uint8_t **dst, size_t *dlen, const uint8_t *src, size_t len)
{
	*dst = NULL;
	*dlen = len;
	if (len == 0)
		return 0;
	if ((*dst = malloc(len)) == NULL)
		return -1;
	memcpy(*dst, src, len);
	return 0;
}

/* TimestampedEntry body shared by both encodings. */
static int
parse_tst(struct fl_rd *r, struct fl_entry *e)
{
	const uint8_t *p;
	size_t n;

	e->ts = fl_buf_rd_uint(r, 8);
	e->type = (uint16_t)fl_buf_rd_uint(r, 2);
	if (r->err || e->type > FL_PRECERT_ENTRY)
		return -1;
	if (e->type == FL_PRECERT_ENTRY) {
		if ((p = fl_buf_rd_bytes(r, 32)) == NULL)
			return -1;
		memcpy(e->ikh, p, 32);
	}
	if ((p = fl_buf_rd_vec(r, 3, &n)) == NULL || copy(&e->cert, &e->cert_len, p, n) < 0)
		return -1;
	if ((p = fl_buf_rd_vec(r, 2, &n)) == NULL || copy(&e->ext, &e->ext_len, p, n) < 0)
		return -1;
	return 0;
}

int
fl_entry_parse_rfc(const uint8_t *leaf, size_t leaf_len, const uint8_t *extra,
    size_t extra_len, struct fl_pool *pool, struct fl_entry *out, char *err,
    size_t errlen)
{
	struct fl_rd r = { leaf, leaf_len, 0, 0 };
	struct fl_rd x = { extra, extra_len, 0, 0 };
	const uint8_t *p, *chain;
	size_t n, clen;
	long idx;

	memset(out, 0, sizeof(*out));
	if (fl_buf_rd_uint(&r, 1) != 0 || fl_buf_rd_uint(&r, 1) != 0 ||
	    parse_tst(&r, out) < 0 || r.off != r.len) {
		snprintf(err, errlen, "bad MerkleTreeLeaf");
		goto fail;
	}
	if (out->type == FL_PRECERT_ENTRY) {
		if ((p = fl_buf_rd_vec(&x, 3, &n)) == NULL ||
		    copy(&out->precert, &out->precert_len, p, n) < 0) {
			snprintf(err, errlen, "bad PrecertChainEntry");
			goto fail;
		}
	}
	if ((chain = fl_buf_rd_vec(&x, 3, &clen)) == NULL || x.off != x.len) {
		snprintf(err, errlen, "bad extra_data chain");
		goto fail;
	}
	{
		struct fl_rd c = { chain, clen, 0, 0 };

		while (c.off < c.len) {
			if ((p = fl_buf_rd_vec(&c, 3, &n)) == NULL ||
			    out->nchain == FL_CHAIN_MAX) {
				snprintf(err, errlen, "bad chain certificate");
				goto fail;
			}
			if ((idx = fl_pool_add(pool, p, n)) < 0) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			out->chain[out->nchain++] = (uint32_t)idx;
		}
	}
	return 0;
fail:
	fl_entry_free(out);
	return -1;
}

int
fl_entry_parse_tile(struct fl_rd *r, const struct fl_pool *pool,
    struct fl_entry *out, char *err, size_t errlen)
{
	const uint8_t *p, *fps;
	size_t n, flen;
	long idx;

	memset(out, 0, sizeof(*out));
	if (parse_tst(r, out) < 0) {
		snprintf(err, errlen, "bad TimestampedEntry at %zu", r->off);
		goto fail;
	}
	if (out->type == FL_PRECERT_ENTRY) {
		if ((p = fl_buf_rd_vec(r, 3, &n)) == NULL ||
		    copy(&out->precert, &out->precert_len, p, n) < 0) {
			snprintf(err, errlen, "bad pre_certificate");
			goto fail;
		}
	}
	if ((fps = fl_buf_rd_vec(r, 2, &flen)) == NULL || flen % 32 != 0 ||
	    flen / 32 > FL_CHAIN_MAX) {
		snprintf(err, errlen, "bad fingerprint chain");
		goto fail;
	}
	for (size_t i = 0; i < flen / 32; i++) {
		if ((idx = fl_pool_find(pool, fps + 32 * i)) < 0) {
			snprintf(err, errlen, "issuer %02x%02x%02x%02x... not in pool",
			    fps[32 * i], fps[32 * i + 1], fps[32 * i + 2], fps[32 * i + 3]);
			goto fail;
		}
		out->chain[out->nchain++] = (uint32_t)idx;
	}
	return 0;
fail:
	fl_entry_free(out);
	return -1;
}
