/* Token checks for streams, their data, health and metrics (auth.*). */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "broadcast/auth.h"

/* Constant time in the token's bytes: no early exit on the first mismatch. */
static int
auth_match(const struct config *cfg, const char *tok, size_t len)
{
	int ok = 0, i;

	if (len == 0)
		return 0;
	for (i = 0; i < cfg->auth.ntokens; i++) {
		const char *t = cfg->auth.tokens[i];

		if (strlen(t) == len && CRYPTO_memcmp(t, tok, len) == 0)
			ok = 1;
	}
	return ok;
}

int
auth_allowed(const struct config *cfg, const struct http_request *req,
    enum auth_scope scope)
{
	const struct http_str *h;
	char q[sizeof(cfg->auth.tokens[0])];
	long n;

	if (!cfg->auth.enabled || scope == AUTH_OPEN ||
	    (scope == AUTH_DATA && !cfg->auth.protect_data) ||
	    (scope == AUTH_HEALTH && !cfg->auth.protect_health) ||
	    (scope == AUTH_METRICS && !cfg->auth.protect_metrics))
		return 1;
	h = http_header_get(req, cfg->auth.header_name[0] != '\0' ?
	    cfg->auth.header_name : "authorization");
	if (h != NULL) {
		const char *p = h->p;
		size_t len = h->len;

		if (len > 7 && strncasecmp(p, "Bearer ", 7) == 0) {
			p += 7;
			len -= 7;
		}
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		if (auth_match(cfg, p, len))
			return 1;
	}
	n = http_query_get(&req->query, "token", q, sizeof(q));
	return n > 0 && auth_match(cfg, q, (size_t)n);
}
