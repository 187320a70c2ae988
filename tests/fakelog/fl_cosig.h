/*
 * Witness cosignatures (c2sp tlog-cosignature, cosignature/v1, Ed25519) a
 * checkpoint can carry after the log's own signature: the lines a client
 * must skip when it looks for the log's. The witness keys derive from the
 * seed, so they are the same every run.
 */
#ifndef FAKELOG_FL_COSIG_H
#define FAKELOG_FL_COSIG_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/fakelog/fl_buf.h"
#include "tests/fakelog/fl_gen.h"

#define FL_COSIG_MAX 16

struct fl_cosig {
	int n;
	EVP_PKEY *key[FL_COSIG_MAX];
	char name[FL_COSIG_MAX][48];        /* witness-K.fakelog.test */
	uint8_t pub[FL_COSIG_MAX][32];
	uint8_t kid[FL_COSIG_MAX][4];
};

/* n witnesses (0..FL_COSIG_MAX). 0 or -1. */
int fl_cosig_init(struct fl_cosig *c, const struct fl_gen *g, int n,
    char *err, size_t errlen);
void fl_cosig_fini(struct fl_cosig *c);
/* Appends one signature line per witness over the note text body (up to
 * and including its last newline, before the blank line). 0 or -1. */
int fl_cosig_sign(const struct fl_cosig *c, const char *body, size_t blen,
    uint64_t ts_sec, struct fl_buf *out);

#endif
