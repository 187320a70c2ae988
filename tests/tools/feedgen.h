/*
 * Test replay feeds with real certificates: mints a certificate per record
 * (the SANs, issuer and entry type the record asks for, issued by a test
 * CA made for each issuer name) and renders it with the render library,
 * so each line is a certificate_update exactly as live ingest writes it.
 * Deterministic: Ed25519 keys from fixed seeds, fixed validity, serials
 * from the record, so the same records give the same bytes.
 */
#ifndef TESTS_TOOLS_FEEDGEN_H
#define TESTS_TOOLS_FEEDGEN_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/render/render.h"

struct feedgen;

struct feedgen_rec {
	const char *const *domains; /* the SANs; domains[0] is the subject CN */
	size_t ndomains;            /* at least 1 */
	const char *issuer_cn;      /* NULL: "Feedgen Test CA" */
	const char *issuer_o;       /* NULL: "Feedgen Test" */
	int precert;                /* a PrecertLogEntry (poisoned) */
	int with_chain;             /* chain: [the CA] (else []) */
	uint64_t index;             /* cert_index */
	uint64_t timestamp_ms;      /* submission_timestamp; 0: a fixed time */
	struct render_source src;   /* the log it names */
};

/* NULL with err filled when OpenSSL fails. */
struct feedgen *feedgen_new(char *err, size_t errlen);
void feedgen_free(struct feedgen *g);

/*
 * The full certificate_update of r (no newline), seen = 1735689600. *line is valid until the next call.
 * 0, or -1 with err filled.
 */
int feedgen_line(struct feedgen *g, const struct feedgen_rec *r,
    const char **line, size_t *len, char *err, size_t errlen);

#endif
