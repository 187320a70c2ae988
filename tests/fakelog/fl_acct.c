#include "tests/fakelog/fl_acct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[FL_K_N] = {
	"checkpoint", "data_full", "data_partial", "hash_full", "hash_partial",
	"issuer", "sth", "entries", "other",
};

int
fl_acct_kind(const char *rest)
{
	int partial = strstr(rest, ".p/") != NULL;

	if (strcmp(rest, "checkpoint") == 0)
		return FL_K_CHECKPOINT;
	if (strncmp(rest, "tile/data/", 10) == 0)
		return partial ? FL_K_DATA_PARTIAL : FL_K_DATA_FULL;
	if (strncmp(rest, "tile/", 5) == 0)
		return partial ? FL_K_HASH_PARTIAL : FL_K_HASH_FULL;
	if (strncmp(rest, "issuer/", 7) == 0)
		return FL_K_ISSUER;
	if (strcmp(rest, "ct/v1/get-sth") == 0)
		return FL_K_STH;
	if (strcmp(rest, "ct/v1/get-entries") == 0)
		return FL_K_ENTRIES;
	return FL_K_OTHER;
}

void
fl_acct_record(struct fl_acct *a, int kind, const char *path,
    const char *range, int status, uint64_t bytes, uint64_t ms)
{
	struct fl_acct_rec *r;

	a->bytes_served += bytes;
	a->by_kind[kind >= 0 && kind < FL_K_N ? kind : FL_K_OTHER]++;
	if (a->ring == NULL &&
	    (a->ring = calloc(FL_ACCT_RING, sizeof(*a->ring))) == NULL)
		return;
	r = &a->ring[a->nrec++ % FL_ACCT_RING];
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->range, sizeof(r->range), "%s", range ? range : "");
	r->status = status;
	r->bytes = bytes;
	r->ms = ms;
}

/* A JSON string: paths come from clients and may hold anything. */
static void
json_str(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			evbuffer_add_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			evbuffer_add_printf(b, "\\u%04x", c);
		else
			evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

void
fl_acct_json_counts(const struct fl_acct *a, struct evbuffer *b)
{
	evbuffer_add_printf(b, "\"bytes_served\":%llu,\"requests_by_kind\":{",
	    (unsigned long long)a->bytes_served);
	for (int k = 0; k < FL_K_N; k++)
		evbuffer_add_printf(b, "%s\"%s\":%llu", k ? "," : "", kind_names[k],
		    (unsigned long long)a->by_kind[k]);
	evbuffer_add(b, "}", 1);
}

void
fl_acct_json_requests(const struct fl_acct *a, struct evbuffer *b)
{
	uint64_t first = a->nrec > FL_ACCT_RING ? a->nrec - FL_ACCT_RING : 0;

	evbuffer_add(b, "[", 1);
	for (uint64_t i = first; a->ring && i < a->nrec; i++) {
		const struct fl_acct_rec *r = &a->ring[i % FL_ACCT_RING];

		evbuffer_add_printf(b, "%s{\"path\":", i > first ? "," : "");
		json_str(b, r->path);
		evbuffer_add_printf(b, ",\"status\":%d,\"bytes\":%llu,\"range\":",
		    r->status, (unsigned long long)r->bytes);
		if (r->range[0])
			json_str(b, r->range);
		else
			evbuffer_add(b, "null", 4);
		evbuffer_add_printf(b, ",\"ms\":%llu}", (unsigned long long)r->ms);
	}
	evbuffer_add(b, "]", 1);
}

void
fl_acct_fini(struct fl_acct *a)
{
	free(a->ring);
	memset(a, 0, sizeof(*a));
}
