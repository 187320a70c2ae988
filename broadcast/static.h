/*
 * The index page's files (broadcast/www/), compiled into the binary by
 * scripts/embed-www.sh, and their answers: Content-Type, ETag (a 304 to a
 * matching If-None-Match) and the page's strict Content-Security-Policy.
 */
#ifndef BROADCAST_STATIC_H
#define BROADCAST_STATIC_H

#include <stddef.h>

#include "broadcast/http.h"

struct evbuffer;

struct static_file {
	const char *path;           /* "/app.js"; "/" is served index.html */
	const char *ctype;
	const char *etag;           /* quoted, as sent */
	const unsigned char *data;
	size_t len;
};

/* Generated: build/gen/www.c. */
extern const struct static_file static_files[];
extern const unsigned static_nfiles;

/* The file served at the normalised path, or NULL. */
const struct static_file *static_find(const char *path);

/* The whole response for f (200, or 304 when the request's If-None-Match
 * names its ETag), appended to out; no body when head_only. Returns the
 * status, or -1 (no memory). */
int static_respond(const struct static_file *f, const struct http_request *req,
    struct evbuffer *out, int head_only);

#endif
