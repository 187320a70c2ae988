/*
 * Signed-note checkpoints (C2SP signed-note, tlog-checkpoint, static-ct-api).
 */
#include "ingest/checkpoint.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/base64.h"

#define NOTE_SIG_PREFIX "\xe2\x80\x94 "  /* U+2014 EM DASH, space */
#define NOTE_SIG_MAX 2048

void
checkpoint_key_id(const char *origin, const uint8_t log_id[STH_HASH_LEN],
    uint8_t out[4])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t md[EVP_MAX_MD_SIZE];
	static const uint8_t sep[2] = { 0x0a, 0x05 };  /* '\n', type RFC6962 */

	memset(out, 0, 4);  /* a zero ID matches nothing real */
	if (c == NULL)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, origin, strlen(origin)) == 1 &&
	    EVP_DigestUpdate(c, sep, sizeof(sep)) == 1 &&
	    EVP_DigestUpdate(c, log_id, STH_HASH_LEN) == 1 &&
	    EVP_DigestFinal_ex(c, md, NULL) == 1)
		memcpy(out, md, 4);
	EVP_MD_CTX_free(c);
}

/* Decimal without sign or leading zeros, as tlog-checkpoint requires. */
static int
parse_dec(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Body: origin, size, root hash lines (extension lines may follow). */
static int
parse_body(const char *body, size_t len, struct checkpoint *cp, char *err,
    size_t errlen)
{
	const char *line = body, *end = body + len, *nl;
	size_t n;
	int i;

	for (i = 0; i < 3; i++) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL) {
			snprintf(err, errlen, "checkpoint: body has %d lines", i);
			return -1;
		}
		n = (size_t)(nl - line);
		if (i == 0) {
			if (n == 0 || n >= sizeof(cp->origin) ||
			    memchr(line, '\0', n) != NULL) {
				snprintf(err, errlen, "checkpoint: bad origin");
				return -1;
			}
			memcpy(cp->origin, line, n);
			cp->origin[n] = '\0';
		} else if (i == 1) {
			if (parse_dec(line, n, &cp->size) < 0) {
				snprintf(err, errlen, "checkpoint: bad tree size");
				return -1;
			}
		} else if (base64_decode(line, n, cp->root_hash,
		    sizeof(cp->root_hash)) != STH_HASH_LEN) {
			snprintf(err, errlen, "checkpoint: bad root hash");
			return -1;
		}
		line = nl + 1;
	}
	return 0;
}

int
checkpoint_verify(const char *text, size_t len, const struct sth_key *key,
    const char *expect_origin, struct checkpoint *out, char *err,
    size_t errlen)
{
	struct checkpoint cp;
	const char *sep = NULL, *p, *end = text + len, *nl;
	uint8_t kid[4], sig[NOTE_SIG_MAX], tbs[STH_TBS_LEN];
	size_t i, namelen, plen = strlen(NOTE_SIG_PREFIX);
	int nsigs = 0, matched = 0;

	memset(&cp, 0, sizeof(cp));
	if (len > CHECKPOINT_MAX_BYTES || len < 2 || text[len - 1] != '\n') {
		snprintf(err, errlen, "checkpoint: not a signed note");
		return -1;
	}
	/* The body ends at the first blank line: "\n\n". */
	for (i = 0; i + 1 < len; i++) {
		if (text[i] == '\n' && text[i + 1] == '\n') {
			sep = text + i + 1;
			break;
		}
	}
	if (sep == NULL) {
		snprintf(err, errlen, "checkpoint: no signature block");
		return -1;
	}
	if (parse_body(text, (size_t)(sep - text), &cp, err, errlen) < 0)
		return -1;
	if (expect_origin != NULL && strcmp(cp.origin, expect_origin) != 0) {
		snprintf(err, errlen, "checkpoint: origin \"%.80s\" is not "
		    "\"%.80s\"", cp.origin, expect_origin);
		return -1;
	}
	checkpoint_key_id(cp.origin, key->log_id, kid);
	namelen = strlen(cp.origin);

	for (p = sep + 1; p < end; p = nl + 1) {
		const char *name, *b64;
		long n;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || (size_t)(nl - p) < plen ||
		    memcmp(p, NOTE_SIG_PREFIX, plen) != 0) {
			snprintf(err, errlen, "checkpoint: malformed signature line");
			return -1;
		}
		nsigs++;
		name = p + plen;
		b64 = memchr(name, ' ', (size_t)(nl - name));
		if (b64 == NULL) {
			snprintf(err, errlen, "checkpoint: malformed signature line");
			return -1;
		}
		b64++;
		if ((size_t)(b64 - 1 - name) != namelen ||
		    memcmp(name, cp.origin, namelen) != 0)
			continue;  /* a witness or another key */
		n = base64_decode(b64, (size_t)(nl - b64), sig, sizeof(sig));
		if (n < 4 || memcmp(sig, kid, 4) != 0)
			continue;  /* same name, different key */
		matched = 1;
		if (n < 4 + 8 + 4) {
			snprintf(err, errlen, "checkpoint: signature too short");
			return -1;
		}
		cp.timestamp = get_u64(sig + 4);
		sth_tbs(cp.timestamp, cp.size, cp.root_hash, tbs);
		if (sth_verify_ds(key, tbs, sizeof(tbs), sig + 12,
		    (size_t)n - 12, err, errlen) < 0)
			return -1;
		*out = cp;
		return 0;
	}
	if (nsigs == 0)
		snprintf(err, errlen, "checkpoint: no signatures");
	else if (!matched)
		snprintf(err, errlen, "checkpoint: no signature by the log key");
	return -1;
}

int
checkpoint_parse(const char *text, size_t len, struct checkpoint *out,
    char *err, size_t errlen)
{
	struct checkpoint cp;
	size_t i;

	memset(&cp, 0, sizeof(cp));
	if (len > CHECKPOINT_MAX_BYTES) {
		snprintf(err, errlen, "checkpoint: too large");
		return -1;
	}
	for (i = 0; i + 1 < len; i++)
		if (text[i] == '\n' && text[i + 1] == '\n')
			break;
	if (parse_body(text, i + 1 < len ? i + 1 : len, &cp, err, errlen) < 0)
		return -1;
	*out = cp;
	return 0;
}
