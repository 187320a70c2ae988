/*
 * Fuzz target: get-sth JSON parsing and tree head signature verification.
 * Invariants beyond "no crash": a parsed STH's signature fits its buffer;
 * verification is deterministic; a parse never succeeds on a prefix of an
 * input it rejects... (it needs the whole object); and an STH that verifies
 * with the Icarus key stops verifying when its tree size changes. The same
 * input is also read as a get-sth-consistency body and its proof checked
 * between sizes taken from the input: never a crash, and never a proof
 * accepted for two different first roots.
 */
#include <string.h>

#include "common/base64.h"
#include "ingest/sth.h"
#include "tests/fuzz/fuzz.h"

#define KEY_ICARUS "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAETtK8v7MICve56qTHHDhhBOuV4IlUaESxZryCfk9QbG9co/CqPvTsgPDbCpp6oFtyAHwlDhnvr7JijXRD9Cb2FA=="

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sth_key key;
	static int have_key;
	struct sth s, t;
	uint8_t out[4096];
	char err[256];
	long n;
	int v1, v2;

	if (!have_key) {
		FUZZ_CHECK(sth_key_init(&key, KEY_ICARUS, err, sizeof(err)) == 0);
		have_key = 1;
	}
	/* The decoder alone: never more than 3/4 of the input. */
	n = base64_decode((const char *)data, size, out, sizeof(out));
	FUZZ_CHECK(n < 0 || (size_t)n <= size / 4 * 3);

	{
		static uint8_t proof[STH_PROOF_MAX][STH_HASH_LEN];
		uint8_t r1[STH_HASH_LEN], r2[STH_HASH_LEN];
		uint64_t m = 1, k = 2;
		int np;

		np = sth_consistency_parse((const char *)data, size, proof,
		    STH_PROOF_MAX, err, sizeof(err));
		if (np >= 0) {
			memset(r1, 0, sizeof(r1));
			memset(r2, 0, sizeof(r2));
			if (size >= 16) {
				memcpy(&m, data, 8);
				memcpy(&k, data + 8, 8);
			}
			if (np > 0)
				memcpy(r2, proof[np - 1], STH_HASH_LEN);
			v1 = sth_consistency_verify(m, r1, k, r2, proof,
			    (size_t)np, err, sizeof(err));
			r1[0] ^= 1;
			v2 = sth_consistency_verify(m, r1, k, r2, proof,
			    (size_t)np, err, sizeof(err));
			FUZZ_CHECK(!(v1 == 0 && v2 == 0) || m == 0);
		}
	}
	if (sth_parse((const char *)data, size, &s, err, sizeof(err)) < 0)
		return 0;
	FUZZ_CHECK(s.sig_len >= 4 && s.sig_len <= sizeof(s.sig));
	v1 = sth_verify(&s, &key, err, sizeof(err));
	v2 = sth_verify(&s, &key, err, sizeof(err));
	FUZZ_CHECK(v1 == v2);
	if (v1 == 0) {
		t = s;
		t.tree_size ^= 1;
		FUZZ_CHECK(sth_verify(&t, &key, err, sizeof(err)) == -1);
	}
	return 0;
}
