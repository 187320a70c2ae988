#include "tests/fakelog/fl_cosig.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
fl_cosig_init(struct fl_cosig *c, const struct fl_gen *g, int n, char *err,
    size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (n < 0 || n > FL_COSIG_MAX) {
		snprintf(err, errlen, "cosignatures: 0 to %d", FL_COSIG_MAX);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint8_t priv[32], h[32], kb[48 + 2 + 32];
		size_t plen = 32, nl;

		fl_gen_hash(g, "witness", (uint64_t)i, priv);
		c->key[i] = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
		    priv, sizeof(priv));
		if (c->key[i] == NULL ||
		    EVP_PKEY_get_raw_public_key(c->key[i], c->pub[i], &plen) != 1) {
			snprintf(err, errlen, "witness key %d failed", i);
			c->n = i + 1;
			fl_cosig_fini(c);
			return -1;
		}
		snprintf(c->name[i], sizeof(c->name[i]), "witness-%d.fakelog.test", i);
		/* Key ID: SHA-256(name || 0x0A || 0x04 || key)[:4], 0x04 being
		 * the cosignature/v1 type. */
		nl = strlen(c->name[i]);
		memcpy(kb, c->name[i], nl);
		kb[nl] = '\n';
		kb[nl + 1] = 0x04;
		memcpy(kb + nl + 2, c->pub[i], 32);
		SHA256(kb, nl + 2 + 32, h);
		memcpy(c->kid[i], h, 4);
	}
	c->n = n;
	return 0;
}

void
fl_cosig_fini(struct fl_cosig *c)
{
	for (int i = 0; i < c->n; i++)
		EVP_PKEY_free(c->key[i]);
	memset(c, 0, sizeof(*c));
}

int
fl_cosig_sign(const struct fl_cosig *c, const char *body, size_t blen,
    uint64_t ts_sec, struct fl_buf *out)
{
	struct fl_buf msg = { 0 };
	char head[64];
	int rc = -1;

	/* cosignature/v1 signs a header naming the time, then the note text. */
	snprintf(head, sizeof(head), "cosignature/v1\ntime %llu\n",
	    (unsigned long long)ts_sec);
	fl_buf_put(&msg, head, strlen(head));
	fl_buf_put(&msg, body, blen);
	if (msg.err)
		goto done;
	for (int i = 0; i < c->n; i++) {
		struct fl_buf sig = { 0 };
		uint8_t s[64];
		size_t slen = sizeof(s);
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		char *b64 = NULL;
		int ok;

		ok = m != NULL &&
		    EVP_DigestSignInit(m, NULL, NULL, NULL, c->key[i]) == 1 &&
		    EVP_DigestSign(m, s, &slen, msg.p, msg.len) == 1;
		EVP_MD_CTX_free(m);
		if (ok) {
			fl_buf_put(&sig, c->kid[i], 4);
			fl_buf_uint(&sig, ts_sec, 8);
			fl_buf_put(&sig, s, slen);
			ok = !sig.err && (b64 = fl_buf_b64(sig.p, sig.len)) != NULL;
		}
		if (ok) {
			fl_buf_put(out, "\xe2\x80\x94 ", 4);
			fl_buf_put(out, c->name[i], strlen(c->name[i]));
			fl_buf_put(out, " ", 1);
			fl_buf_put(out, b64, strlen(b64));
			fl_buf_put(out, "\n", 1);
		}
		free(b64);
		fl_buf_free(&sig);
		if (!ok)
			goto done;
	}
	rc = out->err ? -1 : 0;
done:
	fl_buf_free(&msg);
	return rc;
}
