/*
 * The facts of one certificate_update message (shm/facts.h), taken from
 * its JSON: the one place the ingest derives them, for live rendering
 * (render.c, from the text it has just built) and for a replayed feed
 * (replay.c, at load), so both sources give the same facts.
 */
#ifndef INGEST_FACTS_JSON_H
#define INGEST_FACTS_JSON_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* A growable output buffer, reused from message to message. */
struct factsj_buf {
	uint8_t *p;
	size_t len, cap;
};

void factsj_buf_fini(struct factsj_buf *b);

/*
 * msg: a certificate_update (data.update_type, data.leaf_cert.issuer.CN
 * and .O, data.leaf_cert.all_domains, data.source.url, .name, .operator;
 * missing members count as empty). Fills b. Returns 0, or -1 (msg is not
 * a certificate_update object, or out of memory).
 */
int factsj_from_message(struct json_object *msg, struct factsj_buf *b);

/*
 * The same from the pieces the renderer holds, without parsing the whole
 * message: type (FACTS_*), the leaf_cert object's text (its issuer member
 * is parsed), the all_domains array's text, and the log's URL, name and
 * operator (NULL as empty).
 */
int factsj_from_parts(int type, const char *leaf, size_t leaf_len,
    const char *doms, size_t doms_len, const char *const log[3],
    struct factsj_buf *b);

/* The same from JSON text (len bytes). */
int factsj_from_text(const char *text, size_t len, struct factsj_buf *b);

#endif
