/*
 * The ring writer's shared per-form deflate streams (ring_deflate.h).
 * Writer side only: runs in whichever process publishes records.
 */
#include "shm/ring_deflate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "common/log.h"
#include "shm/ring.h"

struct ring_deflate {
	z_stream z[RV_COUNT];
	int zinit[RV_COUNT];
	uint8_t *buf[RV_COUNT];
	size_t cap[RV_COUNT];
	struct ring_deflate_cfg cfg;
	uint32_t since_key;     /* records since the last keyframe */
	int64_t key_at_ms;      /* monotonic ms of the last keyframe */
	int need_key;           /* next record is a keyframe */
};

static int64_t
rdf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ring_deflate *
ring_deflate_new(const struct ring_deflate_cfg *cfg)
{
	struct ring_deflate *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	d->cfg = *cfg;
	if (d->cfg.key_records == 0)
		d->cfg.key_records = 1;
	for (int v = 0; v < RV_COUNT; v++) {
		/* Raw deflate (-15: no zlib header, the 32 KiB window RFC
		 * 7692 assumes when server_max_window_bits is not set). */
		if (deflateInit2(&d->z[v], cfg->level, Z_DEFLATED, -15, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK) {
			log_warnx("%s: deflateInit2(level %d) failed",
			    __func__, cfg->level);
			ring_deflate_free(d);
			return NULL;
		}
		d->zinit[v] = 1;
	}
	d->need_key = 1;
	return d;
}

void
ring_deflate_free(struct ring_deflate *d)
{
	if (d == NULL)
		return;
	for (int v = 0; v < RV_COUNT; v++) {
		if (d->zinit[v])
			deflateEnd(&d->z[v]);
		free(d->buf[v]);
	}
	free(d);
}

void
ring_deflate_void(struct ring_deflate *d)
{
	d->need_key = 1;
}

int
ring_deflate_header(uint8_t out[10], uint64_t len)
{
	int n = ring_ws_header(out, len);

	out[0] |= 0x40; /* RSV1: this message is compressed (RFC 7692 §6) */
	return n;
}

/* Deflate one form's message into d->buf[v]; its length, or -1. */
static long
rdf_form(struct ring_deflate *d, int v, const struct iovec *part, int npart)
{
	z_stream *z = &d->z[v];
	size_t in = 0, need, have = 0;
	uint8_t *nb;

	for (int i = 0; i < npart; i++)
		in += part[i].iov_len;
	/* deflateBound covers a stream's end; a sync flush adds at most
	 * the empty stored block and the bits before it. */
	need = deflateBound(z, (uLong)in) + 16;
	if (need > d->cap[v]) {
		if ((nb = realloc(d->buf[v], need)) == NULL) {
			log_warn("%s: realloc(%zu)", __func__, need);
			return -1;
		}
		d->buf[v] = nb;
		d->cap[v] = need;
	}
	for (int i = 0; i < npart; i++) {
		z->next_in = part[i].iov_base;
		z->avail_in = (uInt)part[i].iov_len;
		z->next_out = d->buf[v] + have;
		z->avail_out = (uInt)(d->cap[v] - have);
		if (deflate(z, i + 1 == npart ? Z_SYNC_FLUSH : Z_NO_FLUSH) ==
		    Z_STREAM_ERROR || z->avail_in != 0)
			return -1;
		have = d->cap[v] - z->avail_out;
	}
	if (npart == 0) {
		z->next_in = NULL;
		z->avail_in = 0;
		z->next_out = d->buf[v];
		z->avail_out = (uInt)d->cap[v];
		if (deflate(z, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
			return -1;
		have = d->cap[v] - z->avail_out;
	}
	/* A complete sync flush ends with the empty stored block 00 00 ff
	 * ff, which the receiver puts back (RFC 7692 §7.2.1-2). Anything
	 * else means output was left inside zlib: give up on the record. */
	if (z->avail_out == 0 || have < 4 ||
	    memcmp(d->buf[v] + have - 4, "\x00\x00\xff\xff", 4) != 0)
		return -1;
	return (long)(have - 4);
}

int
ring_deflate_rec(struct ring_deflate *d,
    const struct iovec part[RV_COUNT][2], const int npart[RV_COUNT],
    struct iovec out[RV_COUNT], int *key)
{
	int64_t now = d->cfg.key_ms > 0 ? rdf_now_ms() : 0;
	long n;

	if (d->since_key >= d->cfg.key_records ||
	    (d->cfg.key_ms > 0 && now - d->key_at_ms >= d->cfg.key_ms))
		d->need_key = 1;
	*key = d->need_key;
	for (int v = 0; v < RV_COUNT; v++) {
		/* Reset, not Z_FULL_FLUSH after the previous message: the
		 * time-driven keyframe is only known now. After a sync flush
		 * the stream stands on a byte boundary between blocks, so
		 * new blocks that refer to nothing earlier simply follow. */
		if (*key && deflateReset(&d->z[v]) != Z_OK)
			goto fail;
		if ((n = rdf_form(d, v, part[v], npart[v])) < 0)
			goto fail;
		out[v].iov_base = d->buf[v];
		out[v].iov_len = (size_t)n;
	}
	if (*key) {
		d->need_key = 0;
		d->since_key = 0;
		d->key_at_ms = now;
	}
	d->since_key++;
	return 0;
fail:
	log_warnx("%s: deflate failed; this record goes out plain",
	    __func__);
	d->need_key = 1;
	return -1;
}
