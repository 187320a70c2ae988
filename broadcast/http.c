/*
 * HTTP/1.1 request-head parser (RFC 9112), strict on purpose: the workers
 * face the open internet and serve no request bodies, so anything a proxy
 * in front of us might read differently is refused rather than guessed at.
 *
 * Decisions:
 * - Lines end in CRLF. A bare LF or bare CR is refused (400): RFC 9112 §2.2
 *   lets a server accept a lone LF, but a front proxy that does not is how
 *   request smuggling starts, and every real client sends CRLF.
 * - Empty lines before the request line are skipped (RFC 9112 §2.2), at most
 *   a few; they count in head_len.
 * - Request line: token SP request-target SP HTTP/1.x, single spaces.
 *   HTTP/<d>.<d> other than 1.0/1.1 is BAD_VERSION (505); anything else
 *   that is not that shape is BAD. The target is origin-form ("/..."),
 *   absolute-form ("http://host/...", path taken after the authority) or
 *   "*"; a '#' is refused.
 * - Header names are tokens followed directly by ':' (no space, §5.1);
 *   values are VCHAR/obs-text with SP/HTAB inside, trimmed of OWS. A line
 *   starting with SP/HTAB (obs-fold) is refused. More than
 *   HTTP_MAX_HEADERS headers is TOO_LARGE (431), as is a head over max_len.
 * - Content-Length twice, as a list, or not plain digits; any
 *   Transfer-Encoding (we accept no body, and a chunked body left unread
 *   would be parsed as the next request); or both: SMUGGLE. A single valid
 *   Content-Length passes: the caller decides what a body on GET means.
 * - Host more than once is BAD; a missing Host is tolerated.
 */
#include "broadcast/http.h"

#include <string.h>
#include <strings.h>

#define HTTP_MAX_LEADING_CRLF 4

/* tchar per RFC 9110 §5.6.2 */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Bytes allowed in a header value (field-vchar, SP, HTAB, obs-text). */
static int
is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Bytes allowed in a request-target: visible ASCII, no '#'. */
static int
is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '#';
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int
str_ieq(const struct http_str *s, const char *lit)
{
	size_t n = strlen(lit);
	size_t i;

	if (s->len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s->p[i]) != lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Find the CRLF ending the line that starts at pos. Returns the offset of
 * the CR, -1 if the line is not complete yet, -2 on a bare CR or LF.
 */
static long
find_crlf(const char *buf, size_t len, size_t pos)
{
	size_t i;

	for (i = pos; i < len; i++) {
		if (buf[i] == '\n')
			return -2;
		if (buf[i] == '\r') {
			if (i + 1 == len)
				return -1;
			if (buf[i + 1] != '\n')
				return -2;
			return (long)i;
		}
	}
	return -1;
}

static enum http_parse_result
parse_version(const char *p, size_t n, int *minor)
{
	if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' ||
	    p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
		return HTTP_PARSE_BAD;
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return HTTP_PARSE_BAD_VERSION;
	*minor = p[7] - '0';
	return HTTP_PARSE_OK;
}

/* Split the target into path and query. */
static enum http_parse_result
split_target(struct http_request *req)
{
	const char *t = req->target.p;
	size_t n = req->target.len;
	size_t start = 0, i;

	if (n == 1 && t[0] == '*') {
		req->path = req->target;
		req->query.p = t + n;
		req->query.len = 0;
		return HTTP_PARSE_OK;
	}
	if (t[0] != '/') {
		/* absolute-form: scheme "://" authority [path] */
		size_t skip;

		if (n > 7 && strncasecmp(t, "http://", 7) == 0)
			skip = 7;
		else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
			skip = 8;
		else
			return HTTP_PARSE_BAD;
		for (start = skip; start < n && t[start] != '/' &&
		    t[start] != '?'; start++)
			;
		if (start == skip)
			return HTTP_PARSE_BAD;
	}
	for (i = start; i < n && t[i] != '?'; i++)
		;
	if (i == start) {
		/* "http://host" or "http://host?q": the path is "/" */
		req->path.p = "/";
		req->path.len = 1;
	} else {
		req->path.p = t + start;
		req->path.len = i - start;
	}
	if (i < n) {
		req->query.p = t + i + 1;
		req->query.len = n - i - 1;
	} else {
		req->query.p = t + n;
		req->query.len = 0;
	}
	return HTTP_PARSE_OK;
}

static enum http_parse_result
parse_request_line(const char *p, size_t n, struct http_request *req)
{
	enum http_parse_result r;
	size_t i = 0, m;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ' ')
		return HTTP_PARSE_BAD;
	req->method.p = p;
	req->method.len = i;
	m = ++i;
	while (i < n && is_target_char((unsigned char)p[i]))
		i++;
	if (i == m || i == n || p[i] != ' ')
		return HTTP_PARSE_BAD;
	req->target.p = p + m;
	req->target.len = i - m;
	i++;
	r = parse_version(p + i, n - i, &req->version_minor);
	if (r != HTTP_PARSE_OK)
		return r;
	return split_target(req);
}

static enum http_parse_result
parse_header_line(const char *p, size_t n, struct http_header *h)
{
	size_t i = 0, vs, ve;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		return HTTP_PARSE_BAD;  /* obs-fold */
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ':')
		return HTTP_PARSE_BAD;
	h->name.p = p;
	h->name.len = i;
	for (vs = i + 1; vs < n && (p[vs] == ' ' || p[vs] == '\t'); vs++)
		;
	for (ve = n; ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'); ve--)
		;
	for (i = vs; i < ve; i++)
		if (!is_value_char((unsigned char)p[i]))
			return HTTP_PARSE_BAD;
	h->value.p = p + vs;
	h->value.len = ve - vs;
	return HTTP_PARSE_OK;
}

/* Content-Length must be 1*DIGIT, bounded; lists and signs are refused. */
static int
content_length_valid(const struct http_str *v)
{
	size_t i;

	if (v->len == 0 || v->len > 18)
		return 0;
	for (i = 0; i < v->len; i++)
		if (v->p[i] < '0' || v->p[i] > '9')
			return 0;
	return 1;
}

/* Framing checks on the whole header set. */
static enum http_parse_result
check_framing(const struct http_request *req)
{
	int ncl = 0, nte = 0, nhost = 0, i;

	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		if (str_ieq(&h->name, "content-length")) {
			if (++ncl > 1 || !content_length_valid(&h->value))
				return HTTP_PARSE_SMUGGLE;
		} else if (str_ieq(&h->name, "transfer-encoding")) {
			nte++;
		} else if (str_ieq(&h->name, "host")) {
			if (++nhost > 1)
				return HTTP_PARSE_BAD;
		}
	}
	if (nte > 0)
		return HTTP_PARSE_SMUGGLE;
	return HTTP_PARSE_OK;
}

/*
 * Validate the bytes of an unfinished line so garbage is refused at once
 * instead of after max_len bytes. Only bytes that can never appear in a
 * head are checked: controls other than HTAB/CR (LF is caught by
 * find_crlf).
 */
static int
partial_line_ok(const char *buf, size_t from, size_t len)
{
	size_t i;

	for (i = from; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return 0;
	}
	return 1;
}

enum http_parse_result
http_parse_request(const char *buf, size_t len, size_t max_len,
    struct http_request *req)
{
	size_t pos = 0, limit = len < max_len ? len : max_len;
	enum http_parse_result r;
	int leading = 0;
	long e;

	memset(req, 0, sizeof(*req));
	/* Skip empty lines before the request line. */
	while (limit - pos >= 2 && buf[pos] == '\r' && buf[pos + 1] == '\n') {
		if (++leading > HTTP_MAX_LEADING_CRLF)
			return HTTP_PARSE_BAD;
		pos += 2;
	}
	e = find_crlf(buf, limit, pos);
	if (e == -2)
		return HTTP_PARSE_BAD;
	if (e == -1)
		goto incomplete;
	r = parse_request_line(buf + pos, (size_t)e - pos, req);
	if (r != HTTP_PARSE_OK)
		return r;
	pos = (size_t)e + 2;
	for (;;) {
		e = find_crlf(buf, limit, pos);
		if (e == -2)
			return HTTP_PARSE_BAD;
		if (e == -1)
			goto incomplete;
		if ((size_t)e == pos)
			break;
		if (req->nheaders == HTTP_MAX_HEADERS)
			return HTTP_PARSE_TOO_LARGE;
		r = parse_header_line(buf + pos, (size_t)e - pos,
		    &req->headers[req->nheaders]);
		if (r != HTTP_PARSE_OK)
			return r;
		req->nheaders++;
		pos = (size_t)e + 2;
	}
	req->head_len = pos + 2;
	return check_framing(req);

incomplete:
	if (!partial_line_ok(buf, pos, limit))
		return HTTP_PARSE_BAD;
	/* A head that has not ended within max_len never will. */
	if (len >= max_len)
		return HTTP_PARSE_TOO_LARGE;
	return HTTP_PARSE_INCOMPLETE;
}

/*
 * Each line is scanned once for its end and checked once when it is
 * complete; the whole head is parsed once more at the blank line, by
 * http_parse_request() itself, so both give the same answer. A byte that
 * can never be in a head refuses an unfinished line at once, as there;
 * a complete line is judged by its parser (the 49th header is TOO_LARGE
 * whatever it holds).
 */
enum http_parse_result
http_parse_resume(struct http_progress *pg, const char *buf, size_t len,
    size_t max_len, struct http_request *req)
{
	size_t limit = len < max_len ? len : max_len, i;
	struct http_header h;
	enum http_parse_result r;
	int bad;

	for (;;) {
		if (pg->nlines == 0 && pg->scanned == pg->line) {
			while (limit - pg->line >= 2 && buf[pg->line] == '\r' &&
			    buf[pg->line + 1] == '\n') {
				if (++pg->leading > HTTP_MAX_LEADING_CRLF)
					return HTTP_PARSE_BAD;
				pg->line += 2;
				pg->work += 2;
			}
			pg->scanned = pg->line;
		}
		bad = 0;
		for (i = pg->scanned; i < limit; i++) {
			unsigned char c = (unsigned char)buf[i];

			pg->work++;
			if (c == '\n')
				return HTTP_PARSE_BAD;
			if (c == '\r')
				break;
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				bad = 1;
		}
		if (i + 1 >= limit) {
			/* no line end yet; a lone CR last is looked at again */
			pg->scanned = i;
			if (bad)
				return HTTP_PARSE_BAD;
			if (len >= max_len)
				return HTTP_PARSE_TOO_LARGE;
			return HTTP_PARSE_INCOMPLETE;
		}
		if (buf[i + 1] != '\n')
			return HTTP_PARSE_BAD;
		pg->work += i - pg->line;
		if (pg->nlines == 0) {
			r = parse_request_line(buf + pg->line, i - pg->line, req);
			if (r != HTTP_PARSE_OK)
				return r;
		} else if (i == pg->line) {
			/* the blank line: the head is complete */
			pg->work += i + 2;
			return http_parse_request(buf, len, max_len, req);
		} else {
			if (pg->nlines - 1 == HTTP_MAX_HEADERS)
				return HTTP_PARSE_TOO_LARGE;
			r = parse_header_line(buf + pg->line, i - pg->line, &h);
			if (r != HTTP_PARSE_OK)
				return r;
		}
		pg->nlines++;
		pg->line = pg->scanned = i + 2;
	}
}

const struct http_str *
http_header_get(const struct http_request *req, const char *name)
{
	int i;

	for (i = 0; i < req->nheaders; i++)
		if (str_ieq(&req->headers[i].name, name))
			return &req->headers[i].value;
	return NULL;
}

int
http_header_has_token(const struct http_str *value, const char *token)
{
	size_t i = 0, s, e;
	struct http_str t;

	if (value == NULL)
		return 0;
	while (i <= value->len) {
		s = i;
		while (i < value->len && value->p[i] != ',')
			i++;
		e = i;
		while (s < e && (value->p[s] == ' ' || value->p[s] == '\t'))
			s++;
		while (e > s && (value->p[e - 1] == ' ' ||
		    value->p[e - 1] == '\t'))
			e--;
		t.p = value->p + s;
		t.len = e - s;
		if (str_ieq(&t, token))
			return 1;
		i++;
	}
	return 0;
}

long
http_query_decode(const char *src, size_t n, char *out, size_t outlen,
    int no_ctl)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi << 4 | lo;
			if (c == 0)
				return -1;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if ((no_ctl && (c < 0x20 || c == 0x7f)) || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return (long)o;
}

long
http_query_get(const struct http_str *query, const char *name, char *out,
    size_t outlen)
{
	size_t nlen = strlen(name);
	size_t i = 0, s, e, eq;

	if (query == NULL)
		return -1;
	while (i < query->len) {
		s = i;
		while (i < query->len && query->p[i] != '&')
			i++;
		e = i++;
		for (eq = s; eq < e && query->p[eq] != '='; eq++)
			;
		if (eq - s != nlen || memcmp(query->p + s, name, nlen) != 0)
			continue;
		if (eq == e)
			return http_query_decode("", 0, out, outlen, 0);
		return http_query_decode(query->p + eq + 1, e - eq - 1, out,
		    outlen, 0);
	}
	return -1;
}

long
http_path_normalize(const struct http_str *path, char *out, size_t outlen)
{
	size_t i, n = 0, r, w, s;

	if (path == NULL || path->len == 0 || path->p[0] != '/' || outlen < 2)
		return -1;
	/* 1. percent-decode into out; controls (incl. NUL) are refused. */
	for (i = 0; i < path->len; i++) {
		int c = (unsigned char)path->p[i];

		if (c == '%') {
			int hi, lo;

			if (path->len - i < 3)
				return -1;
			hi = hexval((unsigned char)path->p[i + 1]);
			lo = hexval((unsigned char)path->p[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	/*
	 * 2. Resolve segments in place: the write index never passes the
	 * read index, since each written '/' stands for at least one read.
	 */
	r = 0;
	w = 0;
	while (r < n) {
		while (r < n && out[r] == '/')
			r++;
		if (r == n)
			break;
		s = r;
		while (r < n && out[r] != '/')
			r++;
		if (r - s == 1 && out[s] == '.')
			continue;
		if (r - s == 2 && out[s] == '.' && out[s + 1] == '.') {
			while (w > 0 && out[w - 1] != '/')
				w--;
			if (w > 0)
				w--;
			continue;
		}
		out[w++] = '/';
		memmove(out + w, out + s, r - s);
		w += r - s;
	}
	if (w == 0)
		out[w++] = '/';
	out[w] = '\0';
	return (long)w;
}
