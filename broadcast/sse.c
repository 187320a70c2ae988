/*
 * Server-Sent Events helpers: everything a worker writes on an SSE stream
 * besides the record bytes themselves, which go out of shared memory.
 */
#include "broadcast/sse.h"

#include <stdio.h>
#include <string.h>

int
sse_parse_last_event_id(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || len == 0 || len > 20)
		return -1;
	if (s[0] == '0' && len > 1)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* snprintf that reports 0 instead of a truncated length. */
static size_t
fit(int n, size_t outlen)
{
	if (n < 0 || (size_t)n >= outlen)
		return 0;
	return (size_t)n;
}

size_t
sse_event_prefix(char *out, size_t outlen, uint64_t id)
{
	return fit(snprintf(out, outlen, "id: %llu\ndata: ",
	    (unsigned long long)id), outlen);
}

size_t
sse_skipped_comment(char *out, size_t outlen, uint64_t n)
{
	return fit(snprintf(out, outlen, ": skipped %llu records\n\n",
	    (unsigned long long)n), outlen);
}

size_t
sse_gap_json(char *out, size_t outlen, const char *prefix, uint64_t n,
    uint64_t from, uint64_t to)
{
	return fit(snprintf(out, outlen, "%s\"skipped\":%llu,\"from_id\":%llu,"
	    "\"to_id\":%llu}", prefix, (unsigned long long)n,
	    (unsigned long long)from, (unsigned long long)to), outlen);
}

size_t
sse_gap_event(char *out, size_t outlen, uint64_t n, uint64_t from,
    uint64_t to)
{
	size_t pre = sizeof("event: gap\ndata: ") - 1, len;

	/* room for the "\n\n" and a NUL after the JSON */
	if (outlen < pre + 3)
		return 0;
	memcpy(out, "event: gap\ndata: ", pre);
	len = sse_gap_json(out + pre, outlen - pre - 2, "{", n, from, to);
	if (len == 0)
		return 0;
	memcpy(out + pre + len, "\n\n", 3);
	return pre + len + 2;
}

/*
 * No Content-Length and no chunking: the stream ends when the connection
 * does, which HTTP/1.0 and 1.1 clients both read (RFC 9112 §6.3).
 * X-Accel-Buffering stops nginx in front of us from holding events back.
 */
size_t
sse_response_head(char *out, size_t outlen, unsigned retry_ms)
{
	static const char head[] =
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/event-stream; charset=utf-8\r\n"
	    "Cache-Control: no-cache\r\n"
	    "Access-Control-Allow-Origin: *\r\n"
	    "X-Accel-Buffering: no\r\n"
	    "Connection: close\r\n"
	    "\r\n";

	if (retry_ms > 0)
		return fit(snprintf(out, outlen, "%sretry: %u\n\n", head,
		    retry_ms), outlen);
	return fit(snprintf(out, outlen, "%s", head), outlen);
}
