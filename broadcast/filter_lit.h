/*
 * Many literal substrings matched at once, ASCII case-insensitive: an
 * Aho-Corasick automaton over the filter terms that need no regex engine
 * (keyword, issuer, log, operator). Built in time linear in the terms'
 * bytes (no compiler: a rebuild of thousands of terms takes milliseconds),
 * scanned in time linear in the text. Immutable once built, so a matcher
 * built on one thread may be scanned on another.
 */
#ifndef BROADCAST_FILTER_LIT_H
#define BROADCAST_FILTER_LIT_H

#include <stddef.h>

struct filter_lit;

/*
 * An automaton for the terms s[i][0..len[i]) (lowercase ASCII; bytes are
 * compared as they are, so a term's uppercase letters never match), each
 * reported as id[i]. n may be 0. NULL: out of memory.
 */
struct filter_lit *filter_lit_new(const char *const *s, const size_t *len,
    const unsigned *id, unsigned n);

void filter_lit_free(struct filter_lit *l);

/* Call cb(id, end, ctx) for each term found in text[0..n) (the text's
 * A-Z read as a-z), once per occurrence; end: the byte after it. */
void filter_lit_scan(const struct filter_lit *l, const char *text, size_t n,
    void (*cb)(unsigned id, size_t end, void *ctx), void *ctx);

#endif
