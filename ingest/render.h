/*
 * One CT entry to the three certstream messages of FORMAT.md, as JSON text:
 * RV_LITE (certificate_update without as_der and chain), RV_FULL (with
 * them), RV_DOMAINS (dns_entries), and the entry's facts for filters
 * (shm/facts.h, by ingest/facts_json.c from the lite text). Each certificate is parsed once; the
 * three texts are built in buffers owned by struct render_out and reused
 * from entry to entry (no allocation once they have grown). Rendered
 * chain certificates are cached by SHA-256 in the render_out, since the
 * same few intermediates issue almost every leaf.
 */
#ifndef INGEST_RENDER_H
#define INGEST_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/leaf.h"
#include "shm/layout.h"

struct render_source {
	const char *url;           /* base URL as the log list gives it (static: monitoring URL), ends in '/' or not */
	const char *name;          /* description */
	const char *operator_name; /* NULL -> "" (so for url and name) */
	const char *type;          /* "rfc6962" or "static"; NULL -> "rfc6962" */
};

struct render_cache;           /* chain cache, private to render.c */

struct render_out {
	char *json[RV_COUNT];      /* NUL-terminated, valid until the next render */
	size_t len[RV_COUNT];      /* without the NUL */
	size_t cap[RV_COUNT];
	const uint8_t *facts;      /* shm/facts.h of the entry, for the ring (ring_rec facts); */
	size_t facts_len;          /* 0 if they could not be built */
	struct render_cache *cache;
	void *priv;                /* scratch, private to render.c */
};

/* Zeroes out. render_out_fini frees what renders allocated. */
void render_out_init(struct render_out *out);
void render_out_fini(struct render_out *out);

/*
 * Renders e (decoded by leaf.h; e->index is cert_index) seen at `seen`
 * (Unix seconds). cert_link: RFC 6962 "<url>/ct/v1/get-entries?start=N&end=N";
 * static "<url>/tile/data/<N/256 as x001/234>" (the full data tile holding N).
 * chain is e->chain[0..nchain): a static entry whose fingerprints were
 * not resolved (leaf_resolve_chain) renders with "chain":[].
 * Returns 0, or -1 with err filled (a certificate OpenSSL cannot parse,
 * a chain member that cannot be parsed, out of memory); on -1 no text in
 * out is valid.
 */
int render_entry(const struct leaf_entry *e, const struct render_source *src,
    double seen, struct render_out *out, char *err, size_t errlen);

#endif
