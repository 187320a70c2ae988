/*
 * Fuzz target: static-ct-api checkpoints (signed notes). Invariants beyond
 * "no crash": a note that verifies also parses, to the same origin, size
 * and root; a parsed origin is one non-empty line; and a verified note no
 * longer verifies once any byte of its body changes.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/checkpoint.h"
#include "tests/fuzz/fuzz.h"

#define ROME_KEY "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAXM8Ld9qn64g1zVFDh5FtgxS3zj5sqQDwYMs3wrBV3MCBiFhK/iRLxdKF4YsAcJaEglMlu4Lewvzxs0xO2uwEw=="

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sth_key key;
	static int have_key;
	struct checkpoint a, b;
	const char *text = (const char *)data;
	char err[256];
	int parsed, verified;

	if (!have_key) {
		FUZZ_CHECK(sth_key_init(&key, ROME_KEY, err, sizeof(err)) == 0);
		have_key = 1;
	}
	parsed = checkpoint_parse(text, size, &a, err, sizeof(err)) == 0;
	if (parsed) {
		FUZZ_CHECK(a.origin[0] != '\0');
		FUZZ_CHECK(strchr(a.origin, '\n') == NULL);
	}
	verified = checkpoint_verify(text, size, &key, NULL, &b, err,
	    sizeof(err)) == 0;
	if (!verified)
		return 0;
	FUZZ_CHECK(parsed);
	FUZZ_CHECK(strcmp(a.origin, b.origin) == 0 && a.size == b.size &&
	    memcmp(a.root_hash, b.root_hash, sizeof(a.root_hash)) == 0);
	{
		/* flip one bit of the size line's last digit */
		char *t = malloc(size);
		size_t nl1 = strlen(b.origin) + 1;

		FUZZ_CHECK(t != NULL);
		memcpy(t, data, size);
		for (size_t i = nl1; i < size && t[i] != '\n'; i++)
			if (i + 1 < size && t[i + 1] == '\n')
				t[i] = t[i] == '1' ? '2' : '1';
		FUZZ_CHECK(checkpoint_verify(t, size, &key, NULL, &b, err,
		    sizeof(err)) == -1);
		free(t);
	}
	return 0;
}
