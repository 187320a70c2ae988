/*
 * Encode and decode the envelope of a record on the JetStream stream
 * (format in nats_env.h).
 */
#include "ingest/nats_env.h"

#include <string.h>

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

size_t
nats_env_size(const struct ring_rec *r, size_t loglen)
{
	size_t n = NATS_ENV_HDR + (loglen > 255 ? 255 : loglen);

	for (int v = 0; v < RV_COUNT; v++)
		n += r->json[v].iov_len;
	return n + r->facts.iov_len;
}

size_t
nats_env_encode(uint8_t *out, const struct ring_rec *r, const char *logid)
{
	size_t loglen = strlen(logid), off;
	const struct iovec *part[RV_COUNT + 1];

	if (loglen > 255)
		loglen = 255;
	for (int v = 0; v < RV_COUNT; v++)
		part[v] = &r->json[v];
	part[RV_COUNT] = &r->facts;
	memcpy(out, NATS_ENV_MAGIC, 4);
	out[4] = r->flags;
	out[5] = (uint8_t)loglen;
	out[6] = out[7] = 0;
	put64(out + 8, r->index);
	put64(out + 16, (uint64_t)r->seen_us);
	for (int i = 0; i <= RV_COUNT; i++)
		put32(out + 24 + 4 * i, (uint32_t)part[i]->iov_len);
	memcpy(out + NATS_ENV_HDR, logid, loglen);
	off = NATS_ENV_HDR + loglen;
	for (int i = 0; i <= RV_COUNT; i++) {
		if (part[i]->iov_len > 0)
			memcpy(out + off, part[i]->iov_base, part[i]->iov_len);
		off += part[i]->iov_len;
	}
	return off;
}

int
nats_env_decode(const uint8_t *buf, size_t len, struct ring_rec *r,
    const char **logid, size_t *loglen)
{
	struct iovec *part[RV_COUNT + 1];
	uint64_t off;

	if (len < NATS_ENV_HDR || memcmp(buf, NATS_ENV_MAGIC, 4) != 0)
		return -1;
	memset(r, 0, sizeof(*r));
	for (int v = 0; v < RV_COUNT; v++)
		part[v] = &r->json[v];
	part[RV_COUNT] = &r->facts;
	r->flags = buf[4];
	*loglen = buf[5];
	r->index = get64(buf + 8);
	r->seen_us = (int64_t)get64(buf + 16);
	r->log = RING_NO_LOG;
	off = NATS_ENV_HDR + *loglen;
	*logid = (const char *)buf + NATS_ENV_HDR;
	for (int i = 0; i <= RV_COUNT; i++) {
		uint32_t n = get32(buf + 24 + 4 * i);

		if (off > len || n > len - off)
			return -1;
		part[i]->iov_base = (void *)(buf + off);
		part[i]->iov_len = n;
		off += n;
	}
	return off == len ? 0 : -1;
}
