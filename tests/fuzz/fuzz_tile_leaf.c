/*
 * Fuzz target: static-ct-api data tiles (TileLeaf records back to back).
 * Issuers are looked up through a callback that knows fingerprints whose
 * first byte is even. Invariants beyond "no crash":
 * - each decoded leaf advances the offset, never past the end;
 * - its spans lie inside the tile; it carries a leaf_index;
 * - a resolved chain has one issuer per fingerprint; an unknown issuer
 *   leaves the offset where it was;
 * - the same leaf decodes the same without the lookup (nchain 0).
 */
#include <string.h>

#include "ingest/leaf.h"
#include "tests/fuzz/fuzz.h"

static const uint8_t fake_issuer[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

static int
lookup(void *arg, const uint8_t fp[LEAF_FP_LEN], const uint8_t **der, size_t *len)
{
	(void)arg;
	if (fp[0] & 1)
		return -1;
	*der = fake_issuer;
	*len = sizeof(fake_issuer);
	return 0;
}

static int
inside(const struct leaf_span *s, const uint8_t *a, size_t alen)
{
	return s->len == 0 || (s->p >= a && s->p + s->len <= a + alen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0;
	int n = 0;

	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data, size);
	while (off < size && n < 4096) {
		struct leaf_entry e, e2;
		size_t before = off, off2 = off;
		int rc = leaf_decode_tile(buf, size, &off, lookup, NULL, &e);

		if (rc == LEAF_EISSUER) {
			FUZZ_CHECK(off == before);
			/* without a lookup it decodes, and names what to fetch */
			FUZZ_CHECK(leaf_decode_tile(buf, size, &off2, NULL, NULL, &e2) == 0);
			FUZZ_CHECK(e2.nchain == 0 && e2.nchain_fp > 0);
			off = off2;
			n++;
			continue;
		}
		if (rc != 0) {
			FUZZ_CHECK(off == before);
			break;
		}
		FUZZ_CHECK(off > before && off <= size);
		FUZZ_CHECK(e.is_static && e.has_index);
		FUZZ_CHECK(inside(&e.te, buf, size) && e.te.p == buf + before);
		FUZZ_CHECK(inside(&e.cert, buf, size) && e.cert.len > 0);
		FUZZ_CHECK(inside(&e.extensions, buf, size));
		FUZZ_CHECK(e.nchain == e.nchain_fp && e.nchain <= LEAF_MAX_CHAIN);
		FUZZ_CHECK(e.chain_fp == NULL || (e.chain_fp >= buf &&
		    e.chain_fp + e.nchain_fp * LEAF_FP_LEN <= buf + size));
		FUZZ_CHECK(leaf_decode_tile(buf, size, &off2, NULL, NULL, &e2) == 0);
		FUZZ_CHECK(off2 == off && e2.index == e.index && e2.nchain == 0);
		n++;
	}
	free(buf);
	return 0;
}
