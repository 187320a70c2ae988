/*
 * The RFC 6962 poller of one log: get-sth every poll interval (signature
 * verified, and once a head is known, each larger one proven to extend it
 * with get-sth-consistency) before anything is trusted, then get-entries
 * for the new range in
 * batch_size windows, fetch_concurrency windows in flight, published strictly
 * in index order. A short response continues from the last index received;
 * 429, 5xx, timeouts and bad bodies back off exponentially (Retry-After
 * honoured). A shrinking tree, a bad signature, a failed consistency proof
 * or a response with more entries than asked stops the log (ct_log_fail).
 */
#ifndef INGEST_CT_RFC6962_H
#define INGEST_CT_RFC6962_H

#include <json-c/json.h>

#include "ingest/ct.h"

/* Base64-decoded leaf_input and extra_data, reused entry to entry. */
struct ct_rfc6962_scratch {
	uint8_t *leaf, *extra;
	size_t leaf_cap, extra_cap;
};

/* Parse a get-entries body: 0 and *root (the caller puts it) with
 * *entries its "entries" array, or -1 if it is not that. */
int ct_rfc6962_parse(const char *body, size_t len, json_object **root,
    json_object **entries);

/* Decode one element of the entries array: 0, LEAF_E* from the decoder,
 * or LEAF_ETRUNC when a field is missing or not base64. e's spans point
 * into s. *leaf_len (if not NULL): the length of the decoded leaf_input in
 * s->leaf, or -1 when it is missing or not base64. */
int ct_rfc6962_decode(json_object *ent, struct ct_rfc6962_scratch *s,
    struct leaf_entry *e, long *leaf_len);
/* ct_rfc6962_decode with leaf_input already decoded (leaf, leaf_len; -1:
 * it was not base64): only extra_data is decoded here. */
int ct_rfc6962_decode_with_leaf(json_object *ent, struct ct_rfc6962_scratch *s,
    const uint8_t *leaf, long leaf_len, struct leaf_entry *e);

/* The base64 member key of o decoded and appended to *buf at *len (grown,
 * *cap its size); its decoded length, or -1 when missing or not base64. */
long ct_rfc6962_b64_append(json_object *o, const char *key, uint8_t **buf,
    size_t *len, size_t *cap);

void ct_rfc6962_scratch_fini(struct ct_rfc6962_scratch *s);

/* Start polling l (l->poller is set). 0 or -1. */
int ct_rfc6962_start(struct ct_log *l);

/* Cancel timers and requests, free l->poller. */
void ct_rfc6962_stop(struct ct_log *l);

#endif
