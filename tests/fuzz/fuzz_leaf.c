/*
 * Fuzz target: RFC 6962 entry decoding, then rendering of what decodes.
 * Input: 2 bytes big-endian leaf length L, L bytes of leaf_input, the rest
 * extra_data (each copied to a buffer of exactly its size, so any read
 * past it is an ASan report). Invariants beyond "no crash":
 * - a decoded entry's spans lie inside the two inputs;
 * - the structure is exact: the leaf or extra_data minus its last byte
 *   never decodes;
 * - render_entry either fails with no text, or gives three NUL-terminated
 *   messages of the lengths it says.
 */
#include <string.h>

#include "ingest/leaf.h"
#include "ingest/render/render.h"
#include "tests/fuzz/fuzz.h"

static int
inside(const struct leaf_span *s, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen)
{
	if (s->len == 0)
		return 1;
	return (s->p >= a && s->p + s->len <= a + alen) ||
	    (b != NULL && s->p >= b && s->p + s->len <= b + blen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct render_out ro;
	static int ro_ready;
	struct render_source src = { "https://ct.example/", "fuzz", "op", "rfc6962" };
	struct leaf_entry e, e2;
	uint8_t *leaf, *extra;
	size_t ll, el, i;
	char err[256];
	int rc, v;

	if (size < 2)
		return 0;
	ll = ((size_t)data[0] << 8) | data[1];
	if (ll > size - 2)
		ll = size - 2;
	el = size - 2 - ll;
	leaf = malloc(ll ? ll : 1);
	extra = malloc(el ? el : 1);
	FUZZ_CHECK(leaf != NULL && extra != NULL);
	memcpy(leaf, data + 2, ll);
	memcpy(extra, data + 2 + ll, el);

	rc = leaf_decode_rfc6962(leaf, ll, extra, el, &e);
	FUZZ_CHECK(rc <= 0 && rc >= LEAF_EARG);
	if (rc == 0) {
		FUZZ_CHECK(inside(&e.te, leaf, ll, NULL, 0));
		FUZZ_CHECK(e.leaf.p == leaf && e.leaf.len == ll);
		FUZZ_CHECK(inside(&e.signed_entry, leaf, ll, NULL, 0));
		FUZZ_CHECK(inside(&e.extensions, leaf, ll, NULL, 0));
		FUZZ_CHECK(e.cert.len > 0 && inside(&e.cert, leaf, ll, extra, el));
		FUZZ_CHECK(e.nchain <= LEAF_MAX_CHAIN);
		for (i = 0; i < e.nchain; i++)
			FUZZ_CHECK(e.chain[i].len > 0 && inside(&e.chain[i], extra, el, NULL, 0));
		FUZZ_CHECK(leaf_decode_rfc6962(leaf, ll - 1, extra, el, &e2) != 0);
		if (el > 0)
			FUZZ_CHECK(leaf_decode_rfc6962(leaf, ll, extra, el - 1, &e2) != 0);
		if (!ro_ready) {
			render_out_init(&ro);
			ro_ready = 1;
		}
		e.index = 7;
		if (render_entry(&e, &src, 1.0, &ro, err, sizeof(err)) == 0) {
			for (v = 0; v < RV_COUNT; v++)
				FUZZ_CHECK(ro.len[v] > 0 && strlen(ro.json[v]) == ro.len[v]);
		} else {
			for (v = 0; v < RV_COUNT; v++)
				FUZZ_CHECK(ro.len[v] == 0);
			FUZZ_CHECK(err[0] != '\0');
		}
	}
	free(leaf);
	free(extra);
	return 0;
}
