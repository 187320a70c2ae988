/*
 * ?unique=1, decided once in the ingest: a record whose leaf has the
 * tbs_sha256 of one published within the window (a precertificate and
 * then its certificate, or the other way round) is the second of a pair,
 * and is published with RING_F_PAIRED so that workers can skip it for the
 * clients that asked. The window is a bounded set of recent values (the
 * dedup set's structure, in private memory): dedup.max_entries values, for
 * dedup.ttl_secs. A new ingest starts with it empty: a pair straddling an
 * ingest restart is sent twice.
 */
#ifndef INGEST_UNIQUE_H
#define INGEST_UNIQUE_H

#include <stddef.h>
#include <stdint.h>

struct unique;

/* NULL on allocation failure. */
struct unique *unique_new(size_t max_entries, int64_t ttl_secs);
void unique_free(struct unique *u);

/* Take a record's lite JSON: 1 when its tbs_sha256 was seen within the
 * window (and so this is the second of a pair), 0 when not (it is
 * remembered from now), 0 too when it carries none. */
int unique_second(struct unique *u, const char *json, size_t len,
    int64_t now);

/* The 32 bytes of the "tbs_sha256" of a record's JSON. 0, or -1 when it
 * has none (or not 64 hex digits). */
int unique_tbs(const char *json, size_t len, uint8_t out[32]);

#endif
