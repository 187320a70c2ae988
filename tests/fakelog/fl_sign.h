/*
 * A log's signing key and what it signs: RFC 6962 §3.5 tree head
 * signatures (DigitallySigned, SHA-256 + ECDSA) and static-ct-api
 * checkpoints (c2sp signed note with an RFC6962NoteSignature), plus the
 * verifier for such notes.
 */
#ifndef FAKELOG_FL_SIGN_H
#define FAKELOG_FL_SIGN_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/fakelog/fl_buf.h"

struct fl_key {
	EVP_PKEY *pkey;
	uint8_t spki[256];          /* SubjectPublicKeyInfo DER */
	size_t spki_len;
	uint8_t log_id[32];         /* SHA-256 of spki */
	char spki_b64[400];
	char log_id_b64[48];
};

/* A P-256 key derived from seed and name: the same log list every run. */
int fl_sign_key_derive(struct fl_key *k, const uint8_t seed[32], const char *name,
    char *err, size_t errlen);
/* A PEM private key (P-256) from a file. */
int fl_sign_key_load(struct fl_key *k, const char *path, char *err, size_t errlen);
void fl_sign_key_fini(struct fl_key *k);

/* The TreeHeadSignature struct of RFC 6962 §3.5 (50 bytes). */
void fl_sign_sth_tbs(uint64_t ts, uint64_t size, const uint8_t root[32],
    uint8_t out[50]);
/* DigitallySigned(sha256, ecdsa) over fl_sign_sth_tbs, appended to out. */
int fl_sign_sth(const struct fl_key *k, uint64_t ts, uint64_t size,
    const uint8_t root[32], struct fl_buf *out);
/* A complete checkpoint: note text plus one signature line. */
int fl_sign_note(const struct fl_key *k, const char *origin, uint64_t size,
    const uint8_t root[32], uint64_t ts, struct fl_buf *out);
/* Verifies a checkpoint's RFC6962NoteSignature by the key whose name is
 * the note's origin. Returns 0 if one signature line verifies. */
int fl_sign_note_verify(const char *note, size_t len, const uint8_t *spki,
    size_t spki_len, char *err, size_t errlen);

#endif
