/*
 * Load generator helpers: clocks, the latency histogram, the message file
 * and the per-message scan for "seen" and "cert_index".
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "tests/bench/loadgen.h"

int64_t
lg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
lg_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
hist_bucket(uint64_t v)
{
	int e, idx;

	if (v < 64)
		return (int)v;
	e = 63 - __builtin_clzll(v); /* >= 6 */
	idx = 64 + (e - 6) * 32 + (int)((v >> (e - 5)) & 31);
	return idx < LG_HIST_BUCKETS ? idx : LG_HIST_BUCKETS - 1;
}

/* Upper edge of bucket i. */
static double
hist_edge(int i)
{
	int e, sub;

	if (i < 64)
		return i;
	e = (i - 64) / 32 + 6;
	sub = (i - 64) % 32;
	return (double)((32ULL + (uint64_t)sub + 1) << (e - 5)) - 1;
}

void
lg_hist_add(struct lg_hist *h, int64_t us)
{
	uint64_t v = us < 0 ? 0 : (uint64_t)us;

	h->b[hist_bucket(v)]++;
	h->count++;
	h->sum_us += (double)v;
	if (v > h->max_us)
		h->max_us = v;
}

void
lg_hist_merge(struct lg_hist *into, const struct lg_hist *from)
{
	for (int i = 0; i < LG_HIST_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->count += from->count;
	into->sum_us += from->sum_us;
	if (from->max_us > into->max_us)
		into->max_us = from->max_us;
}

double
lg_hist_quantile(const struct lg_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)h->count);
	if (want == 0)
		want = 1;
	for (int i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			double e = hist_edge(i);
			return e > (double)h->max_us ? (double)h->max_us : e;
		}
	}
	return (double)h->max_us;
}

void
lg_seen_format(char *dst, int64_t us)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%010" PRId64 ".%06" PRId64,
	    (int64_t)(us / 1000000 % 10000000000LL), (int64_t)(us % 1000000));
	memcpy(dst, tmp, LG_SEEN_LEN);
}

/* Lite variant of one certificate_update line, seen made a placeholder. */
static int
msg_from_line(struct lg_msg *m, int64_t *cert_index, const char *line)
{
	struct json_object *o, *data, *leaf, *idx;
	const char *s, *hit;
	static const char key[] = "\"seen\":";
	size_t len, after;
	int rc = -1;

	if ((o = json_tokener_parse(line)) == NULL)
		return -1;
	if (!json_object_object_get_ex(o, "data", &data) ||
	    !json_object_object_get_ex(data, "cert_index", &idx))
		goto out;
	*cert_index = json_object_get_int64(idx);
	if (json_object_object_get_ex(data, "leaf_cert", &leaf))
		json_object_object_del(leaf, "as_der");
	json_object_object_del(data, "chain");
	/* a value of exactly the placeholder's width */
	json_object_object_add(data, "seen", json_object_new_int64(1234567890));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || (hit = strstr(s, "\"seen\":1234567890")) == NULL)
		goto out;
	len = strlen(s);
	after = (size_t)(hit - s) + strlen(key) + 10;
	m->len = len + LG_SEEN_LEN - 10;
	if ((m->json = malloc(m->len + 1)) == NULL)
		goto out;
	m->seen_at = (size_t)(hit - s) + strlen(key);
	memcpy(m->json, s, m->seen_at);
	memcpy(m->json + m->seen_at, "1000000000.000000", LG_SEEN_LEN);
	memcpy(m->json + m->seen_at + LG_SEEN_LEN, s + after, len - after);
	m->json[m->len] = '\0';
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

int
lg_msgs_load(struct lg_msgs *ms, const char *path, char *err, size_t errlen)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t n;
	int rc = -1;

	memset(ms, 0, sizeof(*ms));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		if (n <= 1)
			continue;
		if (ms->n == alloc) {
			size_t na = alloc ? alloc * 2 : 256;
			struct lg_msg *nm = realloc(ms->m, na * sizeof(*nm));
			int64_t *ni = realloc(ms->index, na * sizeof(*ni));

			if (nm != NULL)
				ms->m = nm;
			if (ni != NULL)
				ms->index = ni;
			if (nm == NULL || ni == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			alloc = na;
		}
		if (msg_from_line(&ms->m[ms->n], &ms->index[ms->n], line) == -1) {
			snprintf(err, errlen, "%s: line %zu is not a certificate_update",
			    path, ms->n + 1);
			goto out;
		}
		if (ms->m[ms->n].len > ms->max_len)
			ms->max_len = ms->m[ms->n].len;
		ms->n++;
	}
	if (ms->n == 0) {
		snprintf(err, errlen, "%s: no messages", path);
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	if (rc == -1)
		lg_msgs_free(ms);
	return rc;
}

void
lg_msgs_free(struct lg_msgs *ms)
{
	for (size_t i = 0; i < ms->n; i++)
		free(ms->m[i].json);
	free(ms->m);
	free(ms->index);
	memset(ms, 0, sizeof(*ms));
}

/* Parse an unsigned decimal with an optional fraction as microseconds. */
static int64_t
parse_seen(const char *p, const char *end)
{
	int64_t secs = 0, frac = 0;
	int digits = 0;

	while (p < end && *p >= '0' && *p <= '9')
		secs = secs * 10 + (*p++ - '0');
	if (p < end && *p == '.') {
		p++;
		while (p < end && *p >= '0' && *p <= '9' && digits < 6) {
			frac = frac * 10 + (*p++ - '0');
			digits++;
		}
	}
	while (digits++ < 6)
		frac *= 10;
	return secs * 1000000 + frac;
}

static const char *
rfind(const char *p, size_t len, const char *needle, size_t nlen)
{
	if (len < nlen)
		return NULL;
	for (const char *q = p + len - nlen; q >= p; q--)
		if (*q == needle[0] && memcmp(q, needle, nlen) == 0)
			return q;
	return NULL;
}

int
lg_parse_msg(const char *p, size_t len, int64_t *seen_us, int64_t *cert_index,
    int *heartbeat)
{
	static const char kseen[] = "\"seen\":", kidx[] = "\"cert_index\":";
	const char *s, *end = p + len, *q;

	*heartbeat = 0;
	*cert_index = -1;
	/* Heartbeats are short and say so near the start. */
	if (len < 120 && memmem(p, len, "heartbeat", 9) != NULL) {
		*heartbeat = 1;
		return 0;
	}
	/* seen and cert_index sit near the end of every stream's message. */
	if ((s = rfind(p, len, kseen, sizeof(kseen) - 1)) == NULL)
		return -1;
	q = s + sizeof(kseen) - 1;
	while (q < end && *q == ' ')
		q++;
	*seen_us = parse_seen(q, end);
	if ((s = rfind(p, (size_t)(s - p), kidx, sizeof(kidx) - 1)) != NULL) {
		q = s + sizeof(kidx) - 1;
		while (q < end && *q == ' ')
			q++;
		*cert_index = 0;
		while (q < end && *q >= '0' && *q <= '9')
			*cert_index = *cert_index * 10 + (*q++ - '0');
	}
	return 0;
}
