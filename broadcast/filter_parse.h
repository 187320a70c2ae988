/*
 * Server-side filter parameters of a stream request (?domain=, ?keyword=,
 * ?regex=, ?issuer=, ?log=, ?operator=, ?type=): parsed, checked and put in
 * a canonical order, so that two clients asking for the same filter get
 * equal specs (and share one group, filter_match.h). Pure: no I/O, no
 * logging; what it refuses it explains in struct filter_err.
 */
#ifndef BROADCAST_FILTER_PARSE_H
#define BROADCAST_FILTER_PARSE_H

#include <stddef.h>

enum filter_kind {
	FK_DOMAIN = 0, FK_KEYWORD, FK_REGEX, FK_ISSUER, FK_LOG, FK_OPERATOR,
	FK_TYPE, FK_COUNT
};

#define FILTER_TERM_MAX 1024    /* bytes of one term, decoded */

struct filter_term {
	int kind;               /* enum filter_kind */
	size_t len;
	char *s;                /* NUL-terminated; lowercased but for regex */
};

/* The order of terms: by kind, then bytes (a prefix first); <0, 0, >0. */
int filter_term_order(int ka, const char *sa, size_t la, int kb,
    const char *sb, size_t lb);

/* Terms sorted by (kind, bytes), no two equal; kinds is the set of kinds
 * present (bit 1 << kind). n == 0: no filter. */
struct filter_spec {
	struct filter_term *t;
	unsigned n;
	unsigned kinds;
};

struct filter_err {
	int status;             /* 400, or 503 when out of memory */
	char param[64];         /* the parameter at fault, as sent */
	char reason[200];
};

const char *filter_kind_name(int kind);

/*
 * Parse the query string q[0..len) (raw, after '?'). Known non-filter
 * parameters (token, stream, since, gaps, unique, lastEventId) are passed
 * over. enabled == 0 refuses every filter parameter. At most max_terms
 * terms in all (before duplicates are dropped). Returns 0 with *spec
 * filled (free with filter_spec_fini), or -1 with *err filled.
 */
int filter_parse(const char *q, size_t len, int enabled, unsigned max_terms,
    struct filter_spec *spec, struct filter_err *err);

void filter_spec_fini(struct filter_spec *spec);

/* Equal specs (same terms in the same order)? */
int filter_spec_equal(const struct filter_spec *a, const struct filter_spec *b);

/* A hash of the spec, for the registry. */
unsigned long filter_spec_hash(const struct filter_spec *s);

/* The 400 (or 503) answer for err, JSON body
 * {"error":"bad filter","parameter":P,"reason":R}, into buf. Returns its
 * length, or 0 if buf is too small. */
size_t filter_err_response(const struct filter_err *err, char *buf,
    size_t buflen);

#endif
