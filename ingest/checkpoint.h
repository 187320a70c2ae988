/*
 * static-ct-api checkpoints: a C2SP signed note whose body is a tlog
 * checkpoint (origin, tree size, root hash, optional extension lines), signed
 * with an RFC6962NoteSignature: key ID (4) || timestamp (8) || TLS
 * DigitallySigned over the RFC 6962 TreeHeadSignature.
 *
 * The key name is the origin; the key ID is the first 4 bytes of
 * SHA-256(origin || 0x0A || 0x05 || log ID), the log ID being SHA-256 of the
 * DER SPKI (as the real rome2024h1 verifier key 78f4abae shows). Helpers never log: 0/-1 and err.
 */
#ifndef INGEST_CHECKPOINT_H
#define INGEST_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/sth.h"

#define CHECKPOINT_ORIGIN_MAX 256
#define CHECKPOINT_MAX_BYTES 65536

struct checkpoint {
	char origin[CHECKPOINT_ORIGIN_MAX];
	uint64_t size;
	uint8_t root_hash[STH_HASH_LEN];
	uint64_t timestamp;         /* ms, from the verified signature */
};

/* The 4-byte key ID of an RFC6962NoteSignature key named origin. */
void checkpoint_key_id(const char *origin, const uint8_t log_id[STH_HASH_LEN],
    uint8_t out[4]);

/*
 * Parse the signed note text and verify it: it must carry a signature by
 * key name origin (the checkpoint's own first line) with the key ID of key,
 * and that signature must verify. If expect_origin is not NULL the origin
 * must equal it. Unknown signatures (witnesses) are skipped. out is filled
 * only on success.
 */
int checkpoint_verify(const char *text, size_t len, const struct sth_key *key,
    const char *expect_origin, struct checkpoint *out, char *err,
    size_t errlen);

/* Parse the note's body only, signatures unchecked: for a log configured
 * without a key (reported as unverified). */
int checkpoint_parse(const char *text, size_t len, struct checkpoint *out,
    char *err, size_t errlen);

#endif
