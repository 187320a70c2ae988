/*
 * The real CT entries every fake log starts from, read from fixtures
 * (tests/data/fakelog): RFC 6962 get-entries bodies and the navigli2025h2
 * static-ct-api data tiles with their issuer certificates, and on request
 * the zlint edge-case certificates (IDN, IP SANs, negative serial, P-384,
 * Ed25519, ...) as x509 entries with an empty chain.
 */
#ifndef FAKELOG_FL_CORPUS_H
#define FAKELOG_FL_CORPUS_H

#include "tests/fakelog/fl_entry.h"

struct fl_corpus {
	struct fl_pool pool;         /* every chain certificate */
	struct fl_entry *rfc;        /* from get-entries bodies */
	size_t nrfc;
	struct fl_entry *tiled;      /* from navigli2025h2 data tiles */
	size_t ntiled;
	struct fl_entry *lint;       /* certs/ *.pem, in name order */
	size_t nlint;
};

int fl_corpus_load(struct fl_corpus *c, const char *datadir, int with_lint,
    char *err, size_t errlen);
void fl_corpus_free(struct fl_corpus *c);

#endif
