/*
 * What both replay unit files need: lines of real certificates minted by
 * tests/tools/feedgen.c, feeds written to temporary files, and lookups in
 * the JSON a feed renders to. Failures fail the calling test (Check asserts).
 */
#ifndef TESTS_UNIT_REPLAY_FIXTURE_H
#define TESTS_UNIT_REPLAY_FIXTURE_H

#include <stdint.h>
#include <sys/uio.h>

#include "ingest/replay.h"

struct json_object;

/* Each test's teardown (tcase_add_checked_fixture): frees the minter the
 * test's rfix_cert_line calls made. */
void rfix_gen_free(void);

/*
 * A full certificate_update of a real certificate for dom and www.dom at
 * index idx (chain: its CA), as the render library writes it, with a
 * newline; a static buffer, valid until the next call.
 */
const char *rfix_cert_line(uint64_t idx, const char *dom);

/* The text of lines appended to a growing buffer (free()d by the caller). */
char *rfix_cat_lines(char *text, const char *line);

/* Three records: a.example (100), b.example (101), c.example (102). */
char *rfix_good3(void);

/* Write text to a fresh temporary file; path must hold 64 bytes. */
void rfix_write_feed(char *path, const char *text);

/* o's member a, or a's member b; NULL if either is missing. */
struct json_object *rfix_path_get(struct json_object *o, const char *a,
    const char *b);

/* The seen digits as they appear in a variant. */
void rfix_seen_text(const struct iovec *iov, char out[REPLAY_SEEN_LEN + 1]);

#endif
