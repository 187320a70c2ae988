/*
 * The record ring (protocol in ring.h). Every memory order of the ring is
 * here (through shm/atomics.h); each names the edge it pairs with:
 *
 *   W1  writer: store tail (relaxed); release fence     <-> R3 acquire fence
 *   W2  writer: store slot->seq (release)               <-> R2 acquire load
 *   W3  writer: store head (release)                    <-> R1 acquire load
 *   W4  writer: seq_cst fence; load/exchange wake[i]    <-> A1 store+fence
 *
 *   R1  reader: load head (acquire): the slot and bytes of seq < head are
 *       written.
 *   R2  reader: load slot->seq (acquire): the slot fields of that seq are
 *       written (belt and braces beside R1).
 *   R3  reader: acquire fence after reading, then load tail: if the writer
 *       had begun overwriting anything we read, its tail store (W1, made
 *       before the overwrite) is visible and seq < tail.
 *   A1  reader: store wake[i], seq_cst fence, then load head: with W4, either
 *       the reader sees the new head or the writer sees the flag.
 *
 * Record bytes and slot fields are plain accesses that may race with a
 * reader, as in any seqlock: the W1 fence keeps the tail store ahead of
 * them (StoreStore), the R3 fence keeps the tail load behind the reads
 * (LoadLoad). A reader therefore never *uses* what it read until R3 has
 * said the record is intact: ring_peek() re-checks before trusting the
 * slot's offsets; callers re-check after using the bytes and void
 * whatever they did with them (a worker closes the client) if it fails.
 */
#include "shm/ring.h"
#include "shm/atomics.h"
#include "shm/ring_deflate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Slot fields other than seq: the writer rewrites them while a reader may be
 * reading them (a reader uses what it read only if ring_still_valid() holds
 * after, R3). shm_field_get/_set (relaxed) make that race defined and let
 * ThreadSanitizer check the protocol (build/ring_stress-tsan); they compile
 * to plain moves.
 */

/* Records start 8-byte aligned: copies into the ring stay word aligned. */
#define RING_ALIGN 8u

int
ring_ws_header(uint8_t out[RING_WS_HDR_MAX], uint64_t len)
{
	out[0] = 0x81; /* FIN | text; server frames are never masked */
	if (len <= 125) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

void
ring_writer_init(struct ring_writer *w, struct shm_seg *seg,
    const int *wake_fds, int nwake)
{
	struct ring_ctl *ctl = seg->ctl;
	uint64_t head, end;
	struct ring_slot *s;

	w->seg = seg;
	w->wake_fds = wake_fds;
	w->ids = 0;
	w->dfl = NULL;
	w->nwake = nwake > SHM_MAX_WORKERS ? SHM_MAX_WORKERS : nwake;
	if (w->nwake < 0 || wake_fds == NULL)
		w->nwake = 0;

	/*
	 * A previous writer may have died between publishing head and saving
	 * wpos: never start below the end of the last published record, or
	 * its bytes would be overwritten without raising tail. Relaxed: the
	 * previous writer is dead, and we are now the only one storing.
	 */
	head = shm_load(&ctl->head, relaxed);
	if (head > 0) {
		s = &seg->slots[(head - 1) & seg->slot_mask];
		if (shm_load(&s->seq, relaxed) ==
		    head - 1) {
			end = s->pos + s->size;
			if (ctl->wpos < end)
				ctl->wpos = end;
		}
	}
}

void
ring_start_at(struct shm_seg *seg, uint64_t first)
{
	struct ring_ctl *ctl = seg->ctl;

	/* Before the segment is shared (see the header): relaxed. */
	ctl->first_seq = first;
	shm_store(&ctl->tail, first, relaxed);
	shm_store(&ctl->head, first, relaxed);
}

/* Data-area offset of a 64-bit byte position. */
static inline uint64_t
ring_off(const struct shm_seg *seg, uint64_t pos)
{
	return pos % seg->data_size;
}

static int64_t
ring_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* With the writer's ids on, a JSON object variant (it starts with {")
 * is stored as {"id":<seq>, then the text after its own { (ring.h). */
static int
ring_has_id(const struct ring_writer *w, const struct iovec *json)
{
	const char *p = json->iov_base;

	return w->ids && json->iov_len >= 2 && p[0] == '{' && p[1] == '"';
}

size_t
ring_id_len(const char *json, size_t len)
{
	size_t i = 6;

	if (len < 8 || memcmp(json, "{\"id\":", 6) != 0)
		return 0;
	while (i < len && json[i] >= '0' && json[i] <= '9')
		i++;
	if (i == 6 || i >= len || json[i] != ',')
		return 0;
	return i;
}

/* Feed the writer's shared compressors each form as it will be stored
 * (the id first when from[v] > 0), for the streams some worker wants: one
 * call per record (ring_deflate.h). */
static int
ring_z_deflate(struct ring_writer *w, uint64_t seq,
    const struct iovec json[RV_COUNT], const size_t from[RV_COUNT],
    const char *idp, int idlen, struct ring_deflate_out *zo)
{
	struct iovec part[RV_COUNT][2];
	int npart[RV_COUNT];

	for (int v = 0; v < RV_COUNT; v++) {
		npart[v] = 0;
		if (from[v] > 0) {
			part[v][npart[v]].iov_base = (void *)(uintptr_t)idp;
			part[v][npart[v]++].iov_len = (size_t)idlen;
			part[v][npart[v]].iov_base =
			    (char *)json[v].iov_base + from[v];
			part[v][npart[v]++].iov_len = json[v].iov_len - from[v];
		} else if (json[v].iov_len > 0) {
			part[v][npart[v]++] = json[v];
		}
	}
	return ring_deflate_rec(w->dfl,
	    ring_deflate_wanted(w->seg, ring_deflate_now_ms()), seq, part,
	    npart, zo);
}

uint64_t
ring_publish(struct ring_writer *w, const struct iovec json[RV_COUNT],
    int64_t seen_us)
{
	struct ring_rec r;

	memset(&r, 0, sizeof(r));
	for (int v = 0; v < RV_COUNT; v++)
		r.json[v] = json[v];
	r.seen_us = seen_us;
	r.log = RING_NO_LOG;
	return ring_publish_rec(w, &r);
}

uint64_t
ring_publish_rec(struct ring_writer *w, const struct ring_rec *r)
{
	const struct iovec *json = r->json;
	struct shm_seg *seg = w->seg;
	struct ring_ctl *ctl = seg->ctl;
	uint8_t hdr[RV_COUNT][RING_WS_HDR_MAX];
	int hlen[RV_COUNT];
	uint64_t size = 0, pos, end, off, head, tail, ntail, keep;
	uint64_t vlen[RV_COUNT];
	size_t from[RV_COUNT];  /* where the text after the id starts */
	struct ring_slot *s;
	uint8_t *dst;
	char idp[32];
	int idlen;
	uint8_t zhdr[RV_COUNT][RING_WS_HDR_MAX];
	int zhlen[RV_COUNT], zon = 0;
	struct ring_deflate_out zo;

	/* The writer is the only one to store head: the seq this record
	 * gets is known before it is laid out, so its id goes in with the
	 * copy the ring makes anyway (rendering stays id-free). */
	head = shm_load(&ctl->head, relaxed);
	idlen = snprintf(idp, sizeof(idp), "{\"id\":%llu,",
	    (unsigned long long)head);
	for (int v = 0; v < RV_COUNT; v++) {
		vlen[v] = json[v].iov_len;
		from[v] = 0;
		if (ring_has_id(w, &json[v])) {
			/* A text that has an id of ours already (a replayed
			 * recording of this stream) gets the new one instead. */
			from[v] = ring_id_len(json[v].iov_base,
			    json[v].iov_len) + 1;
			vlen[v] += (uint64_t)idlen - from[v];
		}
		if (vlen[v] > UINT32_MAX)
			return UINT64_MAX;
		hlen[v] = ring_ws_header(hdr[v], vlen[v]);
		size += (uint64_t)hlen[v] + vlen[v];
	}
	if (r->facts.iov_len > UINT32_MAX)
		return UINT64_MAX;
	size += r->facts.iov_len;
	/* An edge's skipped id goes to no client: nothing to compress, and
	 * the clients that pass it start again at the next keyframe. */
	if (w->dfl != NULL && (r->flags & RING_F_GAP))
		ring_deflate_void(w->dfl);
	else if (w->dfl != NULL && size <= seg->data_size / 4) {
		zon = ring_z_deflate(w, head, json, from, idp, idlen,
		    &zo) == 0 && zo.zflags != 0;
		for (int v = 0; zon && v < RV_COUNT; v++) {
			zhlen[v] = (zo.zflags & RING_Z_WS(v)) ?
			    ring_deflate_header(zhdr[v], zo.ws[v].iov_len) : 0;
			size += (uint64_t)zhlen[v] + zo.ws[v].iov_len +
			    zo.sse[v].iov_len;
		}
	}
	size = (size + RING_ALIGN - 1) & ~(uint64_t)(RING_ALIGN - 1);
	if (size > seg->data_size / 4) {
		if (zon)
			ring_deflate_void(w->dfl);
		return UINT64_MAX;
	}

	/* A record never wraps: skip the area's tail end if it does not fit. */
	pos = ctl->wpos;
	off = ring_off(seg, pos);
	if (off + size > seg->data_size) {
		pos += seg->data_size - off;
		off = 0;
	}
	end = pos + size;

	/*
	 * Records destroyed by this write: the one in the slot we take
	 * (seq head - nslots) and below, and every record whose bytes start
	 * before end - data_size (records lie in position order, so a record
	 * from there on occupies offsets this write leaves alone).
	 */
	/* relaxed: only the writer stores tail. */
	tail = shm_load(&ctl->tail, relaxed);
	ntail = tail;
	if (head + 1 > seg->slot_mask + 1 && ntail < head - seg->slot_mask)
		ntail = head - seg->slot_mask;
	if (end > seg->data_size) {
		keep = end - seg->data_size;
		while (ntail < head &&
		    shm_field_get(seg->slots[ntail & seg->slot_mask].pos) < keep)
			ntail++;
	}
	if (ntail != tail) {
		/* W1: tail before any overwrite; pairs with R3. */
		shm_store(&ctl->tail, ntail, relaxed);
		shm_fence(release);
	}

	dst = seg->data + off;
	s = &seg->slots[head & seg->slot_mask];
	for (int v = 0; v < RV_COUNT; v++) {
		shm_field_set(s->voff[v], (uint32_t)(dst - (seg->data + off)));
		shm_field_set(s->whdr[v], (uint8_t)hlen[v]);
		shm_field_set(s->vlen[v], (uint32_t)vlen[v]);
		memcpy(dst, hdr[v], (size_t)hlen[v]);
		dst += hlen[v];
		if (from[v] > 0) {
			memcpy(dst, idp, (size_t)idlen);
			memcpy(dst + idlen, (const char *)json[v].iov_base +
			    from[v], json[v].iov_len - from[v]);
		} else if (json[v].iov_len > 0) {
			memcpy(dst, json[v].iov_base, json[v].iov_len);
		}
		dst += vlen[v];
	}
	shm_field_set(s->foff, (uint32_t)(dst - (seg->data + off)));
	shm_field_set(s->flen, (uint32_t)r->facts.iov_len);
	if (r->facts.iov_len > 0)
		memcpy(dst, r->facts.iov_base, r->facts.iov_len);
	dst += r->facts.iov_len;
	shm_field_set(s->zflags, zon ? (uint8_t)zo.zflags : 0);
	for (int v = 0; v < RV_COUNT; v++) {
		shm_field_set(s->zoff[v], 0);
		shm_field_set(s->zlen[v], 0);
		shm_field_set(s->zhdr[v], 0);
		shm_field_set(s->szlen[v], 0);
		if (!zon)
			continue;
		shm_field_set(s->zoff[v], (uint32_t)(dst - (seg->data + off)));
		shm_field_set(s->zhdr[v], (uint8_t)zhlen[v]);
		shm_field_set(s->zlen[v], (uint32_t)zo.ws[v].iov_len);
		shm_field_set(s->szlen[v], (uint32_t)zo.sse[v].iov_len);
		memcpy(dst, zhdr[v], (size_t)zhlen[v]);
		dst += zhlen[v];
		if (zo.ws[v].iov_len > 0)
			memcpy(dst, zo.ws[v].iov_base, zo.ws[v].iov_len);
		dst += zo.ws[v].iov_len;
		if (zo.sse[v].iov_len > 0)
			memcpy(dst, zo.sse[v].iov_base, zo.sse[v].iov_len);
		dst += zo.sse[v].iov_len;
	}
	shm_field_set(s->pos, pos);
	shm_field_set(s->size, (uint32_t)size);
	shm_field_set(s->flags, r->flags);
	shm_field_set(s->log, r->log);
	shm_field_set(s->index, r->index);
	shm_field_set(s->seen_us, r->seen_us);
	shm_field_set(s->pub_ns, ring_now_ns());
	/* W2: slot complete; pairs with R2. */
	shm_store(&s->seq, head, release);
	/* W3: record readable; pairs with R1. */
	shm_store(&ctl->head, head + 1, release);
	ctl->wpos = end;
	ctl->published_total++;
	ctl->bytes_total += size;
	return head;
}

void
ring_skip_to(struct ring_writer *w, uint64_t seq)
{
	struct ring_ctl *ctl = w->seg->ctl;
	uint64_t head = shm_load(&ctl->head, relaxed);

	if (seq <= head)
		return;
	/* W1 as in ring_publish_rec: tail first, so a reader that sees the
	 * new head (W3) sees the ring empty below it, never a stale slot
	 * under a seq it was not written for. */
	shm_store(&ctl->tail, seq, relaxed);
	shm_fence(release);
	shm_store(&ctl->head, seq, release);
}

void
ring_wake(struct ring_writer *w)
{
	struct ring_ctl *ctl = w->seg->ctl;
	uint64_t one = 1;

	if (w->nwake == 0)
		return;
	/* W4: orders the head stores above before the flag loads; pairs
	 * with A1 (store-buffer pattern: one side must see the other). */
	shm_fence(seq_cst);
	for (int i = 0; i < w->nwake; i++) {
		/* Relaxed: the fence above does the ordering; the load keeps
		 * the common case (nobody asleep) free of locked ops. */
		if (shm_load(&ctl->wake[i],
		    relaxed) == 0)
			continue;
		if (shm_xchg(&ctl->wake[i], 0,
		    relaxed) == 0)
			continue;
		/* An eventfd write fails only if the counter would overflow
		 * (the reader is awake anyway) or the fd is bad (a
		 * configuration bug, visible as a reader that never wakes). */
		if (w->wake_fds[i] >= 0)
			(void)!write(w->wake_fds[i], &one, sizeof(one));
	}
}

/*
 * The slot holding record seq, or NULL if seq is not published yet or its
 * slot was taken by a later record. What the caller then reads of it counts
 * only if ring_still_valid(seg, seq) holds afterwards (R3).
 */
static const struct ring_slot *
slot_of(const struct shm_seg *seg, uint64_t seq)
{
	const struct ring_slot *s;

	/* R1: pairs with W3. */
	if (seq >= shm_load(&seg->ctl->head, acquire))
		return NULL;
	s = &seg->slots[seq & seg->slot_mask];
	/* R2: pairs with W2 (every field is written before the slot's seq). */
	if (shm_load(&s->seq, acquire) != seq)
		return NULL;
	return s;
}

/* The slot of record seq, for form v: NULL if v is no form or seq is not
 * in the ring. */
static const struct ring_slot *
form_slot(const struct shm_seg *seg, uint64_t seq, enum ring_variant v)
{
	return (unsigned)v < RV_COUNT ? slot_of(seg, seq) : NULL;
}

uint64_t
ring_head(const struct shm_seg *seg)
{
	/* R1: pairs with W3. */
	return shm_load(&seg->ctl->head, acquire);
}

uint64_t
ring_tail(const struct shm_seg *seg)
{
	/* Pairs with W1: a tail seen here was stored before the overwrite. */
	return shm_load(&seg->ctl->tail, acquire);
}

int
ring_still_valid(const struct shm_seg *seg, uint64_t seq)
{
	/* R3: everything read before this fence happened before any
	 * overwrite whose tail store we do not see; pairs with W1. */
	shm_fence(acquire);
	return shm_load(&seg->ctl->tail, relaxed) <=
	    seq;
}

int
ring_flags(const struct shm_seg *seg, uint64_t seq)
{
	const struct ring_slot *s;
	uint8_t f;

	if ((s = slot_of(seg, seq)) == NULL)
		return -1;
	f = shm_field_get(s->flags);
	/* R3: the slot may have been reused while read. */
	return ring_still_valid(seg, seq) ? f : -1;
}

int
ring_peek(const struct shm_seg *seg, uint64_t seq, enum ring_variant v,
    int ws, struct iovec *iov, int64_t *seen_us)
{
	const struct ring_slot *s;
	uint64_t pos, off, voff, vlen, whdr, size;
	int64_t seen;

	if ((s = form_slot(seg, seq, v)) == NULL)
		return -1;
	pos = shm_field_get(s->pos);
	size = shm_field_get(s->size);
	voff = shm_field_get(s->voff[v]);
	vlen = shm_field_get(s->vlen[v]);
	whdr = shm_field_get(s->whdr[v]);
	seen = shm_field_get(s->seen_us);
	/* The slot fields may have been rewritten while we read them: only
	 * use them if the record is still intact afterwards (R3). */
	if (!ring_still_valid(seg, seq))
		return -1;
	off = ring_off(seg, pos);
	if (voff + whdr + vlen > size || off + size > seg->data_size)
		return -1;
	if (ws) {
		iov->iov_base = seg->data + off + voff;
		iov->iov_len = whdr + vlen;
	} else {
		iov->iov_base = seg->data + off + voff + whdr;
		iov->iov_len = vlen;
	}
	if (seen_us != NULL)
		*seen_us = seen;
	return 0;
}

/*
 * The compressed bytes of form v in record seq: its shared-stream
 * permessage-deflate frame (sse 0) or its SSE gzip stream bytes, which
 * follow that frame (sse 1). Read and checked as ring_peek does (R3);
 * *key set if the record is a keyframe. 0, or -1 if there are none.
 */
static int
slot_z(const struct shm_seg *seg, uint64_t seq, enum ring_variant v, int sse,
    struct iovec *iov, int *key)
{
	const struct ring_slot *s;
	uint64_t pos, off, zoff, zhdr, zlen, szlen, at, len, size;
	unsigned zflags, want;

	if ((s = form_slot(seg, seq, v)) == NULL)
		return -1;
	pos = shm_field_get(s->pos);
	size = shm_field_get(s->size);
	zoff = shm_field_get(s->zoff[v]);
	zhdr = shm_field_get(s->zhdr[v]);
	zlen = shm_field_get(s->zlen[v]);
	szlen = sse ? shm_field_get(s->szlen[v]) : 0;
	zflags = shm_field_get(s->zflags);
	/* As in ring_peek: the fields count only if still intact (R3). */
	if (!ring_still_valid(seg, seq))
		return -1;
	if (sse) {
		want = RING_Z_SSE(v);
		at = zoff + zhdr + zlen;
		len = szlen;
	} else {
		/* a frame always has a header */
		want = zhdr != 0 ? RING_Z_WS(v) : 0;
		at = zoff;
		len = zhdr + zlen;
	}
	off = ring_off(seg, pos);
	if (!(zflags & want) || len == 0 || at + len > size ||
	    off + size > seg->data_size)
		return -1;
	iov->iov_base = seg->data + off + at;
	iov->iov_len = len;
	*key = (zflags & RING_Z_KEY) != 0;
	return 0;
}

int
ring_peek_z(const struct shm_seg *seg, uint64_t seq, enum ring_variant v,
    struct iovec *iov, int *key)
{
	return slot_z(seg, seq, v, 0, iov, key);
}

int
ring_peek_zsse(const struct shm_seg *seg, uint64_t seq, enum ring_variant v,
    struct iovec *iov, int *key)
{
	return slot_z(seg, seq, v, 1, iov, key);
}

int
ring_peek_meta(const struct shm_seg *seg, uint64_t seq, struct ring_meta *m)
{
	const struct ring_slot *s;
	uint64_t pos, size, foff, flen;

	if ((s = slot_of(seg, seq)) == NULL)
		return -1;
	pos = shm_field_get(s->pos);
	size = shm_field_get(s->size);
	foff = shm_field_get(s->foff);
	flen = shm_field_get(s->flen);
	m->seen_us = shm_field_get(s->seen_us);
	m->index = shm_field_get(s->index);
	m->log = shm_field_get(s->log);
	m->flags = shm_field_get(s->flags);
	/* As in ring_peek: the fields count only if still intact (R3). */
	if (!ring_still_valid(seg, seq))
		return -1;
	if (foff + flen > size || ring_off(seg, pos) + size > seg->data_size)
		return -1;
	m->facts.iov_base = seg->data + ring_off(seg, pos) + foff;
	m->facts.iov_len = flen;
	return 0;
}

long
ring_copy(const struct shm_seg *seg, uint64_t seq, enum ring_variant v,
    char *buf, size_t buflen)
{
	struct iovec iov;

	if (ring_peek(seg, seq, v, 0, &iov, NULL) == -1)
		return -1;
	if (iov.iov_len + 1 > buflen)
		return -2;
	memcpy(buf, iov.iov_base, iov.iov_len);
	if (!ring_still_valid(seg, seq))
		return -1;
	buf[iov.iov_len] = '\0';
	return (long)iov.iov_len;
}

void
ring_arm_wake(struct shm_seg *seg, int reader)
{
	if (reader < 0 || reader >= SHM_MAX_WORKERS)
		return;
	/* A1: the flag before the caller's head re-check; pairs with W4.
	 * seq_cst: a store then a load of another word (store-buffer
	 * pattern); acquire/release cannot keep them in order. */
	shm_store(&seg->ctl->wake[reader], 1, seq_cst);
	shm_fence(seq_cst);
}
