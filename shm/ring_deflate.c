/*
 * The ring writer's shared per-form deflate streams (ring_deflate.h), and
 * the "wanted" marks workers leave for them. Writer side runs in whichever
 * process publishes records.
 */
#include "shm/atomics.h"
#include "shm/ring_deflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "common/log.h"
#include "shm/ring.h"

/* Streams: form v's WebSocket one is 2v, its SSE one 2v + 1. */
#define RDF_N (2 * RV_COUNT)

struct ring_deflate {
	z_stream z[RDF_N];
	int zinit[RDF_N];
	uint8_t *buf[RDF_N];
	size_t cap[RDF_N];
	struct ring_deflate_cfg cfg;
	unsigned on;            /* the streams advanced on the last record */
	uint32_t since_key;     /* records since the last keyframe */
	int64_t key_at_ms;      /* monotonic ms of the last keyframe */
	int need_key;           /* next record is a keyframe */
};

static unsigned
rdf_bit(int s)
{
	return (s & 1) ? RING_Z_SSE(s / 2) : RING_Z_WS(s / 2);
}

int64_t
ring_deflate_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ring_deflate_want(struct shm_seg *seg, int v, int p, int64_t now_ms)
{
	_Atomic int64_t *w;

	if (v < 0 || v >= RV_COUNT || p < 0 || p >= SP_COUNT)
		return;
	w = &seg->ctl->zwant[v][p];
	/* Relaxed both ways: a hint, no other data travels with it; the
	 * writer reads it again on every record. */
	if (shm_load(w, relaxed) < now_ms + RING_ZWANT_LEASE_MS / 2)
		shm_store(w, now_ms + RING_ZWANT_LEASE_MS, relaxed);
}

unsigned
ring_deflate_wanted(const struct shm_seg *seg, int64_t now_ms)
{
	unsigned want = 0;

	for (int v = 0; v < RV_COUNT; v++) {
		/* Relaxed: pairs with nothing (see ring_deflate_want). */
		if (shm_load(&seg->ctl->zwant[v][SP_WS], relaxed) > now_ms)
			want |= RING_Z_WS(v);
		if (shm_load(&seg->ctl->zwant[v][SP_SSE], relaxed) > now_ms)
			want |= RING_Z_SSE(v);
	}
	return want;
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
	for (int s = 0; s < RDF_N; s++) {
		/* Raw deflate (-15: no zlib header, the 32 KiB window RFC
		 * 7692 assumes when server_max_window_bits is not set; a
		 * gzip body's window is 32 KiB too). */
		if (deflateInit2(&d->z[s], cfg->level, Z_DEFLATED, -15,
		    cfg->mem_level > 0 ? cfg->mem_level : 8,
		    cfg->strategy) != Z_OK) {
			log_warnx("%s: deflateInit2(level %d, memLevel %d, "
			    "strategy %d) failed", __func__, cfg->level,
			    cfg->mem_level, cfg->strategy);
			ring_deflate_free(d);
			return NULL;
		}
		d->zinit[s] = 1;
	}
	d->need_key = 1;
	return d;
}

void
ring_deflate_free(struct ring_deflate *d)
{
	if (d == NULL)
		return;
	for (int s = 0; s < RDF_N; s++) {
		if (d->zinit[s])
			deflateEnd(&d->z[s]);
		free(d->buf[s]);
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

/* Deflate one message of stream s, the concatenation of its npart pieces,
 * into d->buf[s], ended by a sync flush; its length, or -1. */
static long
rdf_msg(struct ring_deflate *d, int s, const struct iovec *part, int npart)
{
	z_stream *z = &d->z[s];
	size_t in = 0, need, have = 0;
	uint8_t *nb;

	for (int i = 0; i < npart; i++)
		in += part[i].iov_len;
	/* deflateBound covers a stream's end; a sync flush adds at most
	 * the empty stored block and the bits before it. */
	need = deflateBound(z, (uLong)in) + 16;
	if (need > d->cap[s]) {
		if ((nb = realloc(d->buf[s], need)) == NULL) {
			log_warn("%s: realloc(%zu)", __func__, need);
			return -1;
		}
		d->buf[s] = nb;
		d->cap[s] = need;
	}
	z->next_out = d->buf[s];
	z->avail_out = (uInt)d->cap[s];
	for (int i = 0; i < npart || (i == 0 && npart == 0); i++) {
		int last = i + 1 >= npart;

		z->next_in = npart > 0 ? part[i].iov_base : NULL;
		z->avail_in = npart > 0 ? (uInt)part[i].iov_len : 0;
		if (deflate(z, last ? Z_SYNC_FLUSH : Z_NO_FLUSH) ==
		    Z_STREAM_ERROR || z->avail_in != 0)
			return -1;
	}
	have = d->cap[s] - z->avail_out;
	/* A complete sync flush ends with the empty stored block 00 00 ff
	 * ff. Anything else means output was left inside zlib: give up on
	 * the record. */
	if (z->avail_out == 0 || have < 4 ||
	    memcmp(d->buf[s] + have - 4, "\x00\x00\xff\xff", 4) != 0)
		return -1;
	return (long)have;
}

int
ring_deflate_rec(struct ring_deflate *d, unsigned want, uint64_t seq,
    const struct iovec part[RV_COUNT][2], const int npart[RV_COUNT],
    struct ring_deflate_out *o)
{
	int64_t now = d->cfg.key_ms > 0 ? ring_deflate_now_ms() : 0;
	struct iovec ev[4];
	char pfx[48];
	int plen = 0, key;
	long n;

	memset(o, 0, sizeof(*o));
	/* The SSE event as sse.c frames it: "id: N\ndata: " text "\n\n". */
	plen = snprintf(pfx, sizeof(pfx), "id: %llu\ndata: ",
	    (unsigned long long)seq);
	for (int v = 0; v < RV_COUNT; v++) {
		size_t len = (size_t)plen + 2;

		for (int i = 0; i < npart[v]; i++)
			len += part[v][i].iov_len;
		/* A client out of step gets an event as one stored block;
		 * a longer one always comes as a keyframe's, wanted or not,
		 * so that every gzip client, resumed ones too, can take it. */
		if (len > RING_STORED_MAX) {
			want |= RING_Z_SSE(v);
			d->need_key = 1;
		}
	}
	if (want == 0) {
		/* Nothing to advance: whatever starts later starts afresh. */
		d->on = 0;
		d->need_key = 1;
		return 0;
	}
	if (want & ~d->on)
		d->need_key = 1;        /* a stream starts */
	if (d->since_key >= d->cfg.key_records ||
	    (d->cfg.key_ms > 0 && now - d->key_at_ms >= d->cfg.key_ms))
		d->need_key = 1;
	key = d->need_key;
	for (int s = 0; s < RDF_N; s++) {
		int v = s / 2, ne = 0;

		if (!(want & rdf_bit(s)))
			continue;
		/* Reset, not Z_FULL_FLUSH after the previous message: the
		 * time-driven keyframe is only known now. After a sync flush
		 * the stream stands on a byte boundary between blocks, so
		 * new blocks that refer to nothing earlier simply follow. */
		if (key && deflateReset(&d->z[s]) != Z_OK)
			goto fail;
		if (s & 1) {
			ev[ne].iov_base = pfx;
			ev[ne++].iov_len = (size_t)plen;
			for (int i = 0; i < npart[v]; i++)
				ev[ne++] = part[v][i];
			ev[ne].iov_base = (void *)(uintptr_t)"\n\n";
			ev[ne++].iov_len = 2;
			if ((n = rdf_msg(d, s, ev, ne)) < 0)
				goto fail;
			o->sse[v].iov_base = d->buf[s];
			o->sse[v].iov_len = (size_t)n;
		} else {
			if ((n = rdf_msg(d, s, part[v], npart[v])) < 0)
				goto fail;
			/* RFC 7692 §7.2.1: the receiver puts 00 00 ff ff back */
			o->ws[v].iov_base = d->buf[s];
			o->ws[v].iov_len = (size_t)n - 4;
		}
		o->zflags |= rdf_bit(s);
	}
	d->on = want;
	if (key) {
		o->zflags |= RING_Z_KEY;
		d->need_key = 0;
		d->since_key = 0;
		d->key_at_ms = now;
	}
	d->since_key++;
	return 0;
fail:
	log_warnx("%s: deflate failed; this record goes out plain",
	    __func__);
	memset(o, 0, sizeof(*o));
	d->need_key = 1;
	return -1;
}
