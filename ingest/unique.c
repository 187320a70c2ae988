/*
 * Pairing precertificates with their certificates for ?unique=1
 * (unique.h): the tbs_sha256 render.c put in the record, looked up in a
 * bounded window of recent ones.
 */
#include "ingest/unique.h"

#include <stdlib.h>
#include <string.h>

#include "shm/dedup.h"

#define TBS_KEY "\"tbs_sha256\":\""

struct unique {
	struct dedup *seen;
};

struct unique *
unique_new(size_t max_entries, int64_t ttl_secs)
{
	struct unique *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	if ((u->seen = dedup_new(max_entries, ttl_secs)) == NULL) {
		free(u);
		return NULL;
	}
	return u;
}

void
unique_free(struct unique *u)
{
	if (u == NULL)
		return;
	dedup_free(u->seen);
	free(u);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
unique_tbs(const char *json, size_t len, uint8_t out[32])
{
	const char *p = memmem(json, len, TBS_KEY, sizeof(TBS_KEY) - 1);
	size_t i;

	/* the leaf's is the first: chain members have none */
	if (p == NULL)
		return -1;
	p += sizeof(TBS_KEY) - 1;
	if ((size_t)(json + len - p) < 65 || p[64] != '"')
		return -1;
	for (i = 0; i < 32; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
unique_second(struct unique *u, const char *json, size_t len, int64_t now)
{
	uint8_t key[DEDUP_KEY_LEN];

	if (u == NULL || unique_tbs(json, len, key) < 0)
		return 0;
	return dedup_check(u->seen, key, now);
}
