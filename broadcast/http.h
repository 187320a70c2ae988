/*
 * HTTP/1.1 request-head parser for the workers. Pure: no I/O, no logging,
 * no allocation (the request points into the caller's buffer).
 */
#ifndef BROADCAST_HTTP_H
#define BROADCAST_HTTP_H

#include <stddef.h>

#define HTTP_MAX_HEADERS 48

struct http_str {
	const char *p;
	size_t len;
};

struct http_header {
	struct http_str name;
	struct http_str value;
};

struct http_request {
	struct http_str method;
	struct http_str target;     /* raw request-target */
	struct http_str path;       /* percent-decoded? no: raw path, no query */
	struct http_str query;      /* after '?', without it; len 0 if none */
	int version_minor;          /* HTTP/1.x */
	struct http_header headers[HTTP_MAX_HEADERS];
	int nheaders;
	size_t head_len;            /* bytes consumed through the blank line */
};

enum http_parse_result {
	HTTP_PARSE_OK = 0,          /* complete head parsed */
	HTTP_PARSE_INCOMPLETE = 1,  /* need more bytes */
	HTTP_PARSE_BAD = -1,        /* malformed: 400 */
	HTTP_PARSE_TOO_LARGE = -2,  /* head over max_len or too many headers: 431 */
	HTTP_PARSE_BAD_VERSION = -3,/* not HTTP/1.0 or 1.1: 505 */
	HTTP_PARSE_SMUGGLE = -4,    /* conflicting Content-Length / Transfer-Encoding: 400 */
};

/* Parse the request head in buf[0..len). max_len bounds the head. */
enum http_parse_result http_parse_request(const char *buf, size_t len,
    size_t max_len, struct http_request *req);

/*
 * Where the last call left an unfinished head, so that the next one resumes
 * there: parsing from byte 0 on every read costs O(n^2) for a head that
 * comes one byte per TCP segment. Zero it for each new request.
 */
struct http_progress {
	size_t line;        /* start of the first line not complete yet */
	size_t scanned;     /* [line, scanned) holds no line end */
	int nlines;         /* complete lines from the request line on */
	int leading;        /* empty lines skipped before the request line */
	size_t work;        /* bytes looked at in all calls (for the tests) */
};

/*
 * http_parse_request() on a head that grows between calls: buf[0..len) keeps
 * the bytes of the earlier calls (it may move), max_len stays the same.
 * Each byte is looked at a bounded number of times in all. The result is
 * the one http_parse_request(buf, len, max_len, req) gives; after anything
 * but HTTP_PARSE_INCOMPLETE the request is done with.
 */
enum http_parse_result http_parse_resume(struct http_progress *pg,
    const char *buf, size_t len, size_t max_len, struct http_request *req);

/* Case-insensitive header lookup; NULL if absent. */
const struct http_str *http_header_get(const struct http_request *req,
    const char *name);

/* Does a comma-separated header value contain token (case-insensitive)? */
int http_header_has_token(const struct http_str *value, const char *token);

/* Find query parameter name; percent-decodes into out (NUL-terminated).
 * Returns decoded length, or -1 if absent or too long for outlen. */
long http_query_get(const struct http_str *query, const char *name,
    char *out, size_t outlen);

/* Percent-decode src[0..n) into out (NUL-terminated); '+' is a space.
 * Returns the length, or -1 on a bad escape, an encoded NUL, a control
 * byte if no_ctl, or no room (outlen includes the NUL). */
long http_query_decode(const char *src, size_t n, char *out, size_t outlen,
    int no_ctl);

/* Normalise the path for routing: percent-decoding, collapsing "//",
 * resolving "." and ".." (never above root), dropping one trailing '/'
 * (except for "/"). Returns length, or -1 if invalid (encoded NUL, bad %). */
long http_path_normalize(const struct http_str *path, char *out, size_t outlen);

#endif
