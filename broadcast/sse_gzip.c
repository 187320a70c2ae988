/*
 * SSE gzip bodies (sse_gzip.h): the encoding chosen per request, the
 * response head, and each record's pieces: the shared stream's bytes or a
 * stored block around the plain event.
 */
#include "broadcast/sse_gzip.h"

#include <string.h>
#include <strings.h>

#include "broadcast/sse.h"
#include "broadcast/worker_ctx.h"
#include "shm/ring.h"

/* Per record of one writev: stored header + "id: N\ndata: ". The worker is
 * single-threaded and a writev's pieces are used before the next one is
 * built, as with wctx's sse_pfx. */
static char sgz_pfx[WCTX_IOV_MAX + 2][SSE_GZIP_STORED_HDR + SSE_PREFIX_MAX];

/* q of one Accept-Encoding member's parameters: 0 when "q=0", "q=0.0"...;
 * 1 otherwise (absent or above 0). */
static int
sgz_q_positive(const char *p, const char *end)
{
	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') &&
		    p[1] == '=') {
			p += 2;
			for (; p < end && *p != ';'; p++)
				if (*p >= '1' && *p <= '9')
					return 1;
			return 0;
		}
		while (p < end && *p != ';')
			p++;
	}
	return 1;
}

int
sse_gzip_accepted(const struct http_request *req)
{
	int star = 0, gzip = -1;

	for (int i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		const char *p, *end;

		if (h->name.len != 15 ||
		    strncasecmp(h->name.p, "Accept-Encoding", 15) != 0)
			continue;
		p = h->value.p;
		end = p + h->value.len;
		while (p < end) {
			const char *m = p, *me, *t;

			while (p < end && *p != ',')
				p++;
			me = p;
			if (p < end)
				p++;
			while (m < me && (*m == ' ' || *m == '\t'))
				m++;
			for (t = m; t < me && *t != ';' && *t != ' ' &&
			    *t != '\t'; t++)
				;
			if ((t - m == 4 && strncasecmp(m, "gzip", 4) == 0) ||
			    (t - m == 6 && strncasecmp(m, "x-gzip", 6) == 0))
				gzip = sgz_q_positive(t, me);
			else if (t - m == 1 && *m == '*')
				star = sgz_q_positive(t, me);
		}
	}
	return gzip == -1 ? star : gzip;
}

size_t
sse_gzip_head(char *out, size_t outlen)
{
	/* ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown) */
	static const uint8_t member[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0,
		0xff };
	char head[SSE_HEAD_MAX];
	size_t hl = sse_response_head(head, sizeof(head), 0), at;
	static const char more[] =
	    "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n\r\n";

	/* head ends with its blank line: the two lines go before it */
	if (hl < 2 || hl - 2 + sizeof(more) - 1 + sizeof(member) > outlen)
		return 0;
	at = hl - 2;
	memcpy(out, head, at);
	memcpy(out + at, more, sizeof(more) - 1);
	at += sizeof(more) - 1;
	memcpy(out + at, member, sizeof(member));
	return at + sizeof(member);
}

void
sse_gzip_stored(uint8_t out[SSE_GZIP_STORED_HDR], size_t len)
{
	/* The stream stands on a byte boundary: the block's three header
	 * bits and the padding make one zero byte (RFC 1951 §3.2.4). */
	out[0] = 0;
	out[1] = (uint8_t)(len & 0xff);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)(~len & 0xff);
	out[4] = (uint8_t)((~len >> 8) & 0xff);
}

int
sse_gzip_parts(const struct shm_seg *seg, uint64_t seq, int v,
    int in_step, unsigned unit, struct iovec part[3], int64_t *seen,
    int *z)
{
	char *p = sgz_pfx[unit % (WCTX_IOV_MAX + 2)];
	size_t plen, len;
	int key;

	*z = 0;
	if (ring_peek_zsse(seg, seq, (enum ring_variant)v, &part[0],
	    &key) == 0 && (key || in_step)) {
		/* latency wants data.seen; the plain peek gives it */
		if (ring_peek(seg, seq, (enum ring_variant)v, 0, &part[1],
		    seen) == -1)
			return -1;
		plen = sse_event_prefix(p, SSE_PREFIX_MAX, seq);
		*z = (int)(plen + part[1].iov_len + SSE_EVENT_END_LEN);
		return 1;
	}
	if (ring_peek(seg, seq, (enum ring_variant)v, 0, &part[1], seen) == -1)
		return -1;
	plen = sse_event_prefix(p + SSE_GZIP_STORED_HDR, SSE_PREFIX_MAX, seq);
	len = plen + part[1].iov_len + SSE_EVENT_END_LEN;
	if (len > SSE_GZIP_STORED_MAX)
		return -1;
	sse_gzip_stored((uint8_t *)p, len);
	part[0].iov_base = p;
	part[0].iov_len = SSE_GZIP_STORED_HDR + plen;
	part[2].iov_base = (void *)(uintptr_t)SSE_EVENT_END;
	part[2].iov_len = SSE_EVENT_END_LEN;
	return 3;
}
