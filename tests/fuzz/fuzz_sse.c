/*
 * Fuzz target: SSE resume. The input is used as a Last-Event-ID header
 * value, as a query string holding lastEventId=, and inside a request head
 * parsed the way the worker parses it. Invariants:
 * - an accepted id is canonical: printing it back gives the input;
 * - the event prefix and skipped comment always fit their _MAX buffers.
 */
#include <stdio.h>
#include <string.h>

#include "broadcast/http.h"
#include "broadcast/sse.h"
#include "tests/fuzz/fuzz.h"

static void
check_id(const char *s, size_t len)
{
	char prefix[SSE_PREFIX_MAX], text[32], skipped[SSE_SKIPPED_MAX];
	uint64_t id;
	int n;

	if (sse_parse_last_event_id(s, len, &id) != 0)
		return;
	n = snprintf(text, sizeof(text), "%llu", (unsigned long long)id);
	FUZZ_CHECK(n > 0 && (size_t)n == len && memcmp(text, s, len) == 0);
	FUZZ_CHECK(sse_event_prefix(prefix, sizeof(prefix), id) ==
	    (size_t)n + strlen("id: \ndata: "));
	FUZZ_CHECK(sse_skipped_comment(skipped, sizeof(skipped), id) > 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char head[8192];
	const char *s = (const char *)data;
	struct http_request req;
	const struct http_str *h;
	struct http_str q;
	char val[64];
	long n;
	int len;

	check_id(s, size);
	q.p = s;
	q.len = size;
	n = http_query_get(&q, "lastEventId", val, sizeof(val));
	if (n >= 0)
		check_id(val, (size_t)n);
	/* The same bytes as a header value: only where they cannot end the
	 * line or the head early (the parser would rightly stop there). */
	if (size > 4096 || memchr(s, '\r', size) != NULL ||
	    memchr(s, '\n', size) != NULL)
		return 0;
	len = snprintf(head, sizeof(head), "GET /sse?stream=full&%.*s "
	    "HTTP/1.1\r\nLast-Event-ID: %.*s\r\n\r\n", (int)size, s,
	    (int)size, s);
	if (len < 0 || (size_t)len >= sizeof(head))
		return 0;
	if (http_parse_request(head, (size_t)len, sizeof(head), &req) !=
	    HTTP_PARSE_OK)
		return 0;
	h = http_header_get(&req, "last-event-id");
	FUZZ_CHECK(h != NULL);
	check_id(h->p, h->len);
	n = http_query_get(&req.query, "lastEventId", val, sizeof(val));
	if (n >= 0)
		check_id(val, (size_t)n);
	return 0;
}
