/*
 * Fuzz target: a get-entries response body as the RFC 6962 poller reads
 * it: the JSON, then each entry's base64 leaf_input and extra_data and the
 * leaf decoder. Invariants beyond "no crash": every span of a decoded
 * entry lies inside the decoded buffers, and the certificate shown is never
 * empty.
 */
#include <string.h>

#include "ingest/ct_rfc6962.h"
#include "tests/fuzz/fuzz.h"

static int
inside(const struct leaf_span *s, const struct ct_rfc6962_scratch *b)
{
	if (s->len == 0)
		return 1;
	return (s->p >= b->leaf && s->p + s->len <= b->leaf + b->leaf_cap) ||
	    (s->p >= b->extra && s->p + s->len <= b->extra + b->extra_cap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_rfc6962_scratch s;
	json_object *root, *arr;
	size_t i, n;

	if (ct_rfc6962_parse((const char *)data, size, &root, &arr) < 0)
		return 0;
	memset(&s, 0, sizeof(s));
	n = json_object_array_length(arr);
	for (i = 0; i < n && i < 64; i++) {
		struct leaf_entry e;
		size_t k;

		if (ct_rfc6962_decode(json_object_array_get_idx(arr, i), &s,
		    &e, NULL) != LEAF_OK)
			continue;
		FUZZ_CHECK(e.cert.len > 0 && inside(&e.cert, &s));
		FUZZ_CHECK(inside(&e.leaf, &s) && inside(&e.signed_entry, &s));
		FUZZ_CHECK(e.nchain <= LEAF_MAX_CHAIN);
		for (k = 0; k < e.nchain; k++)
			FUZZ_CHECK(inside(&e.chain[k], &s));
	}
	ct_rfc6962_scratch_fini(&s);
	json_object_put(root);
	return 0;
}
