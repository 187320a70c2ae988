/*
 * Fuzz target: the HTTP request-head parser and what the workers do with a
 * parsed head (header lookup, tokens, query, path normalisation, the
 * WebSocket handshake check). Invariants checked beyond "no crash":
 * - head_len never exceeds the input or max_len;
 * - a complete head parses the same when cut at head_len, and every
 *   shorter cut is INCOMPLETE (never OK, never an error);
 * - an input that is not a complete valid head has no prefix that is;
 * - a normalised path starts with '/', holds no "//", "/./", "/../",
 *   no trailing '/' (unless "/"), no control bytes, and normalising it
 *   again (when it holds no '%') changes nothing.
 */
#include <string.h>

#include "broadcast/http.h"
#include "broadcast/ws.h"
#include "tests/fuzz/fuzz.h"

static void
check_path(const struct http_str *path)
{
	char out[8192], again[8192];
	struct http_str s;
	long n, m, i;

	n = http_path_normalize(path, out, sizeof(out));
	if (n < 0)
		return;
	FUZZ_CHECK(n >= 1 && (size_t)n == strlen(out) && out[0] == '/');
	FUZZ_CHECK((size_t)n <= path->len || n == 1);
	FUZZ_CHECK(n == 1 || out[n - 1] != '/');
	FUZZ_CHECK(strstr(out, "//") == NULL);
	FUZZ_CHECK(strstr(out, "/./") == NULL && strstr(out, "/../") == NULL);
	FUZZ_CHECK(strcmp(out, "/.") != 0 && strcmp(out, "/..") != 0);
	FUZZ_CHECK(n < 2 || strcmp(out + n - 2, "/.") != 0);
	FUZZ_CHECK(n < 3 || strcmp(out + n - 3, "/..") != 0);
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
	if (strchr(out, '%') != NULL)
		return;
	s.p = out;
	s.len = (size_t)n;
	m = http_path_normalize(&s, again, sizeof(again));
	FUZZ_CHECK(m == n && memcmp(out, again, (size_t)n) == 0);
}

static void
use_request(const struct http_request *req)
{
	char val[64], accept[32];
	long n;

	(void)http_header_has_token(http_header_get(req, "connection"),
	    "upgrade");
	n = http_query_get(&req->query, "stream", val, sizeof(val));
	FUZZ_CHECK(n < 0 || ((size_t)n < sizeof(val) &&
	    strlen(val) == (size_t)n));
	(void)http_query_get(&req->query, "lastEventId", val, sizeof(val));
	check_path(&req->path);
	if (ws_handshake_check(req, accept) == WS_HS_OK)
		FUZZ_CHECK(strlen(accept) == 28);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request req, cut;
	enum http_parse_result r, rc;
	size_t max_len = size > 16 ? size - 16 : size;
	size_t k, step = size / 32 + 1;

	/* the same input against a limit it exceeds and one it does not */
	r = http_parse_request(buf, size, max_len, &req);
	if (r == HTTP_PARSE_OK)
		FUZZ_CHECK(req.head_len <= max_len);
	r = http_parse_request(buf, size, size + 1, &req);
	FUZZ_CHECK(r != HTTP_PARSE_TOO_LARGE || req.nheaders == HTTP_MAX_HEADERS);
	if (r != HTTP_PARSE_OK) {
		/* a shorter cut may not be OK either */
		rc = http_parse_request(buf, size / 2, size + 1, &cut);
		FUZZ_CHECK(rc != HTTP_PARSE_OK);
		return 0;
	}
	FUZZ_CHECK(req.head_len > 0 && req.head_len <= size);
	FUZZ_CHECK(req.nheaders >= 0 && req.nheaders <= HTTP_MAX_HEADERS);
	rc = http_parse_request(buf, req.head_len, req.head_len, &cut);
	FUZZ_CHECK(rc == HTTP_PARSE_OK && cut.head_len == req.head_len &&
	    cut.nheaders == req.nheaders);
	/* The worker parses a growing buffer: a valid head cut anywhere
	 * must be INCOMPLETE, never an error, or a client whose request
	 * arrives in pieces would be refused. */
	for (k = 0; k < req.head_len; k += k < 64 ? 1 : step) {
		rc = http_parse_request(buf, k, size + 1, &cut);
		FUZZ_CHECK(rc == HTTP_PARSE_INCOMPLETE);
	}
	rc = http_parse_request(buf, req.head_len - 1, size + 1, &cut);
	FUZZ_CHECK(rc == HTTP_PARSE_INCOMPLETE);
	use_request(&req);
	return 0;
}
