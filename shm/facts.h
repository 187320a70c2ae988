/*
 * Record facts: what server-side filters match on, prepared once by the
 * ingest beside each record in the ring (struct ring_rec facts) so that a
 * worker never parses JSON to filter. Layout (version 1, little endian):
 *
 *   u8  version           FACTS_VERSION
 *   u8  type              FACTS_CERT or FACTS_PRECERT
 *   u16 ndomains
 *   5 × (u16 len, bytes)  issuer CN, issuer O, log URL, log name, log operator
 *   ndomains × (u16 len, bytes)   all_domains, ASCII lowercased
 *
 * The bytes are read from shared memory that the writer may reuse while a
 * worker reads: decoding checks every length against the buffer, so a torn
 * record yields garbage facts (the caller then discards the result after
 * ring_still_valid), never a read outside the buffer.
 */
#ifndef SHM_FACTS_H
#define SHM_FACTS_H

#include <stddef.h>
#include <stdint.h>

#define FACTS_VERSION 1
#define FACTS_CERT 0
#define FACTS_PRECERT 1
#define FACTS_STR_MAX 65535u

enum facts_field {
	FF_ISSUER_CN = 0, FF_ISSUER_O, FF_LOG_URL, FF_LOG_NAME, FF_LOG_OPERATOR,
	FF_COUNT
};

struct facts_str {
	const char *p;          /* not NUL-terminated */
	size_t len;
};

/* What the encoder takes: plain strings (NULL counts as empty). */
struct facts_in {
	int type;                       /* FACTS_CERT / FACTS_PRECERT */
	const char *field[FF_COUNT];
	size_t field_len[FF_COUNT];
	const char *const *domains;
	const size_t *domain_len;
	size_t ndomains;
};

/*
 * Encode in into out[0..cap). Domains are lowercased (ASCII). A string
 * longer than FACTS_STR_MAX is cut there; more than 65535 domains are cut
 * too. Returns the length, or -1 if cap is too small (facts_size tells).
 */
long facts_encode(const struct facts_in *in, uint8_t *out, size_t cap);

/* Bytes facts_encode needs for in. */
size_t facts_size(const struct facts_in *in);

/* A decoded view into the facts bytes (nothing copied). */
struct facts_view {
	int type;
	struct facts_str field[FF_COUNT];
	unsigned ndomains;
	const uint8_t *doms;    /* the domain list */
	size_t doms_len;
};

/* 0 and v filled, or -1: not facts of this version, or a length that runs
 * past len. Checks the domain list's lengths too. */
int facts_decode(const void *p, size_t len, struct facts_view *v);

/* The domain at *off (start at 0) into *d, *off advanced: 1; 0 at the end
 * or on a length past the list (bounds-checked again: the bytes may have
 * changed since facts_decode). */
int facts_next_domain(const struct facts_view *v, size_t *off,
    struct facts_str *d);

#endif
