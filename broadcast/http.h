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

/* Case-insensitive header lookup; NULL if absent. */
const struct http_str *http_header_get(const struct http_request *req,
    const char *name);

/* Does a comma-separated header value contain token (case-insensitive)? */
int http_header_has_token(const struct http_str *value, const char *token);

/* Find query parameter name; percent-decodes into out (NUL-terminated).
 * Returns decoded length, or -1 if absent or too long for outlen. */
long http_query_get(const struct http_str *query, const char *name,
    char *out, size_t outlen);

/* Normalise the path for routing: percent-decoding, collapsing "//",
 * resolving "." and ".." (never above root), dropping one trailing '/'
 * (except for "/"). Returns length, or -1 if invalid (encoded NUL, bad %). */
long http_path_normalize(const struct http_str *path, char *out, size_t outlen);

#endif
