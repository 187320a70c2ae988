/*
 * What a log served, for the tests and the benchmark: body bytes, requests
 * by kind, and the last FL_ACCT_RING requests one by one (path, status,
 * bytes, the Range asked for, when).
 */
#ifndef FAKELOG_FL_ACCT_H
#define FAKELOG_FL_ACCT_H

#include <event2/buffer.h>
#include <stdint.h>

enum fl_acct_kind {
	FL_K_CHECKPOINT, FL_K_DATA_FULL, FL_K_DATA_PARTIAL, FL_K_HASH_FULL,
	FL_K_HASH_PARTIAL, FL_K_ISSUER, FL_K_STH, FL_K_ENTRIES, FL_K_OTHER,
	FL_K_N
};

#define FL_ACCT_RING 4096

struct fl_acct_rec {
	char path[160];             /* as requested, query included, cut */
	char range[40];             /* after "bytes=", "" if none */
	int status;                 /* 0: held by a fault, no status yet */
	uint64_t bytes;
	uint64_t ms;                /* CLOCK_REALTIME */
};

struct fl_acct {
	uint64_t bytes_served;
	uint64_t by_kind[FL_K_N];
	struct fl_acct_rec *ring;   /* allocated at the first request */
	uint64_t nrec;              /* ever recorded; the newest is nrec - 1 */
};

/* The kind of a request by its path below the log's prefix. */
int fl_acct_kind(const char *rest);
/* Counts one request; range NULL if none. Records are dropped silently
 * if the ring cannot be allocated (the counters still move). */
void fl_acct_record(struct fl_acct *a, int kind, const char *path,
    const char *range, int status, uint64_t bytes, uint64_t ms);
/* "bytes_served":N,"requests_by_kind":{...} */
void fl_acct_json_counts(const struct fl_acct *a, struct evbuffer *b);
/* The recorded requests, oldest first, as a JSON array. */
void fl_acct_json_requests(const struct fl_acct *a, struct evbuffer *b);
void fl_acct_fini(struct fl_acct *a);

#endif
