/*
 * Serving the index page's files from the arrays scripts/embed-www.sh made
 * of broadcast/www/. Each answer carries the page's Content-Security-Policy
 * (its scripts and styles come only from here, it talks only to its own
 * origin) and an ETag, so a reload costs a 304 per file.
 */
#include <string.h>

#include <event2/buffer.h>

#include "broadcast/static.h"

/* Strict: the page loads only its own script, style and icon and talks
 * only to its own origin (ws: and wss: to the same host are 'self' in
 * CSP 3, so the streams are allowed and nothing else is). */
#define STATIC_CSP "Content-Security-Policy: default-src 'none'; " \
	"script-src 'self'; style-src 'self'; connect-src 'self'; " \
	"img-src 'self'; object-src 'none'; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors 'none'\r\n" \
	"X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"

const struct static_file *
static_find(const char *path)
{
	unsigned i;

	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (i = 0; i < static_nfiles; i++)
		if (strcmp(static_files[i].path, path) == 0)
			return &static_files[i];
	return NULL;
}

/* Does If-None-Match (a list of entity tags, or "*") name etag? Weak tags
 * (W/"...") match too: the comparison is the weak one (RFC 9110 13.1.2). */
static int
static_etag_match(const struct http_str *h, const char *etag)
{
	size_t n = strlen(etag), i = 0;

	while (i < h->len) {
		size_t j;

		while (i < h->len && (h->p[i] == ' ' || h->p[i] == '\t' ||
		    h->p[i] == ','))
			i++;
		if (i + 2 <= h->len && h->p[i] == 'W' && h->p[i + 1] == '/')
			i += 2;
		for (j = i; j < h->len && h->p[j] != ','; j++)
			;
		while (j > i && (h->p[j - 1] == ' ' || h->p[j - 1] == '\t'))
			j--;
		if ((j - i == 1 && h->p[i] == '*') ||
		    (j - i == n && memcmp(h->p + i, etag, n) == 0))
			return 1;
		i = j + 1;
	}
	return 0;
}

int
static_respond(const struct static_file *f, const struct http_request *req,
    struct evbuffer *out, int head_only)
{
	const struct http_str *inm = http_header_get(req, "if-none-match");
	int fresh = inm != NULL && static_etag_match(inm, f->etag);

	/* no-cache: kept, but asked again each time (a new daemon may serve a
	 * new page under the same name). A 304's Content-Length is the 200's
	 * (RFC 9110 8.6), with no body. */
	if (evbuffer_add_printf(out, "HTTP/1.1 %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\nETag: %s\r\n"
	    "Cache-Control: no-cache\r\n%sConnection: close\r\n\r\n",
	    fresh ? "304 Not Modified" : "200 OK", f->ctype,
	    f->len, f->etag, STATIC_CSP) < 0)
		return -1;
	if (fresh)
		return 304;
	if (!head_only && evbuffer_add(out, f->data, f->len) == -1)
		return -1;
	return 200;
}
