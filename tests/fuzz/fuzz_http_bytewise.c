/*
 * Fuzz target: the request head as the worker reads it from a client that
 * sends one byte per TCP segment, parsed by http_parse_resume() after
 * every byte. Invariants checked beyond "no crash":
 * - every answer is the one http_parse_request() gives for the same bytes
 *   (checked at every prefix of the first 256 bytes, at every step-th one
 *   after, and at the first answer that is not INCOMPLETE and the byte
 *   before it), with the same head_len and headers when OK;
 * - the work stays linear: at most 4 bytes looked at per byte of input.
 * Each input is fed twice: against a limit it exceeds and one it does not.
 */
#include <string.h>

#include "broadcast/http.h"
#include "tests/fuzz/fuzz.h"

static void
same_answer(const char *buf, size_t k, size_t max_len,
    enum http_parse_result got, const struct http_request *req)
{
	struct http_request once;
	enum http_parse_result want;

	want = http_parse_request(buf, k, max_len, &once);
	FUZZ_CHECK(got == want);
	if (got == HTTP_PARSE_OK)
		FUZZ_CHECK(req->head_len == once.head_len &&
		    req->nheaders == once.nheaders &&
		    req->target.len == once.target.len &&
		    req->target.p == once.target.p);
}

static void
feed(const char *buf, size_t size, size_t max_len)
{
	struct http_progress pg;
	struct http_request req;
	enum http_parse_result r = HTTP_PARSE_INCOMPLETE;
	size_t k, step = size / 64 + 1;

	memset(&pg, 0, sizeof(pg));
	for (k = 0; k <= size; k++) {
		r = http_parse_resume(&pg, buf, k, max_len, &req);
		FUZZ_CHECK(pg.work <= 4 * k + 16);
		if (r != HTTP_PARSE_INCOMPLETE)
			break;
		if (k < 256 || k % step == 0)
			same_answer(buf, k, max_len, r, &req);
	}
	if (k > size)
		k = size;
	same_answer(buf, k, max_len, r, &req);
	if (k > 0)
		same_answer(buf, k - 1, max_len, HTTP_PARSE_INCOMPLETE, &req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;

	feed(buf, size, size + 1);
	feed(buf, size, size > 16 ? size - 16 : 1);
	return 0;
}
