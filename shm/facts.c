/* Record facts (facts.h): the encoder the ingest uses and the
 * bounds-checked decoder the workers use. */
#include <string.h>

#include "shm/facts.h"

static size_t
cut(size_t n)
{
	return n > FACTS_STR_MAX ? FACTS_STR_MAX : n;
}

static size_t
ndoms(const struct facts_in *in)
{
	return in->ndomains > 65535 ? 65535 : in->ndomains;
}

size_t
facts_size(const struct facts_in *in)
{
	size_t n = 4, i;

	for (i = 0; i < FF_COUNT; i++)
		n += 2 + (in->field[i] != NULL ? cut(in->field_len[i]) : 0);
	for (i = 0; i < ndoms(in); i++)
		n += 2 + cut(in->domain_len[i]);
	return n;
}

static uint8_t *
put_str(uint8_t *o, const char *s, size_t n, int lower)
{
	size_t i;

	n = s != NULL ? cut(n) : 0;
	o[0] = (uint8_t)(n & 0xff);
	o[1] = (uint8_t)(n >> 8);
	o += 2;
	if (!lower) {
		if (n > 0)
			memcpy(o, s, n);
		return o + n;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		o[i] = (uint8_t)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	return o + n;
}

long
facts_encode(const struct facts_in *in, uint8_t *out, size_t cap)
{
	size_t need = facts_size(in), i, nd = ndoms(in);
	uint8_t *o = out;

	if (need > cap)
		return -1;
	*o++ = FACTS_VERSION;
	*o++ = in->type == FACTS_PRECERT ? FACTS_PRECERT : FACTS_CERT;
	*o++ = (uint8_t)(nd & 0xff);
	*o++ = (uint8_t)(nd >> 8);
	for (i = 0; i < FF_COUNT; i++)
		o = put_str(o, in->field[i], in->field_len[i], 0);
	for (i = 0; i < nd; i++)
		o = put_str(o, in->domains[i], in->domain_len[i], 1);
	return (long)(o - out);
}

/* A u16-prefixed string at p[*off..len): 0, or -1 if it runs past len. */
static int
get_str(const uint8_t *p, size_t len, size_t *off, struct facts_str *s)
{
	size_t n;

	if (len - *off < 2)
		return -1;
	n = (size_t)p[*off] | (size_t)p[*off + 1] << 8;
	if (len - *off - 2 < n)
		return -1;
	s->p = (const char *)p + *off + 2;
	s->len = n;
	*off += 2 + n;
	return 0;
}

int
facts_decode(const void *buf, size_t len, struct facts_view *v)
{
	const uint8_t *p = buf;
	size_t off = 4, i, start;
	struct facts_str d;

	if (p == NULL || len < 4 || p[0] != FACTS_VERSION || p[1] > FACTS_PRECERT)
		return -1;
	v->type = p[1];
	v->ndomains = (unsigned)p[2] | (unsigned)p[3] << 8;
	for (i = 0; i < FF_COUNT; i++)
		if (get_str(p, len, &off, &v->field[i]) == -1)
			return -1;
	start = off;
	for (i = 0; i < v->ndomains; i++)
		if (get_str(p, len, &off, &d) == -1)
			return -1;
	if (off != len)
		return -1;
	v->doms = p + start;
	v->doms_len = len - start;
	return 0;
}

int
facts_next_domain(const struct facts_view *v, size_t *off,
    struct facts_str *d)
{
	if (*off >= v->doms_len)
		return 0;
	return get_str(v->doms, v->doms_len, off, d) == 0;
}
