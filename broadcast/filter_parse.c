/* Filter parameters of a stream request to a canonical filter_spec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast/filter_parse.h"
#include "broadcast/http.h"

static const char *const kind_names[FK_COUNT] = {
	"domain", "keyword", "regex", "issuer", "log", "operator", "type",
};

/* Parameters of other features: never filters, never refused. */
static const char *const passed_over[] = {
	"token", "stream", "since", "gaps", "unique", "lastEventId",
};

const char *
filter_kind_name(int kind)
{
	return kind >= 0 && kind < FK_COUNT ? kind_names[kind] : "?";
}

static int
fail(struct filter_err *err, int status, const char *param, size_t plen,
    const char *reason)
{
	err->status = status;
	if (plen >= sizeof(err->param))
		plen = sizeof(err->param) - 1;
	memcpy(err->param, param, plen);
	err->param[plen] = '\0';
	snprintf(err->reason, sizeof(err->reason), "%s", reason);
	return -1;
}

static void
lower(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + ('a' - 'A'));
}

/* One term of kind k, checked and normalised in place. NULL or why not. */
static const char *
term_check(int k, char *s, size_t *len)
{
	if (*len == 0)
		return "empty value";
	if (*len > FILTER_TERM_MAX)
		return "value longer than 1024 bytes";
	if (k != FK_REGEX)
		lower(s, *len);
	switch (k) {
	case FK_DOMAIN:
		if (s[*len - 1] == '.')
			s[--*len] = '\0';
		if (*len == 0 || s[0] == '.')
			return "not a domain name";
		if (strchr(s, '*') != NULL)
			return "a domain is a name, not a pattern: domain=example.com "
			    "already matches every name under it (keyword= and regex= "
			    "take patterns)";
		if (strpbrk(s, " /:?#@") != NULL)
			return "not a domain name";
		break;
	case FK_TYPE:
		if (strcmp(s, "cert") != 0 && strcmp(s, "precert") != 0)
			return "type is cert or precert";
		break;
	default:
		break;
	}
	return NULL;
}

int
filter_term_order(int ka, const char *sa, size_t la, int kb, const char *sb,
    size_t lb)
{
	size_t n = la < lb ? la : lb;
	int c;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	if ((c = memcmp(sa, sb, n)) != 0)
		return c;
	return la < lb ? -1 : la > lb;
}

static int
term_cmp(const void *a, const void *b)
{
	const struct filter_term *x = a, *y = b;

	return filter_term_order(x->kind, x->s, x->len, y->kind, y->s, y->len);
}

static int
add_term(struct filter_spec *spec, unsigned *cap, int k, const char *s,
    size_t n)
{
	struct filter_term *t;

	if (spec->n == *cap) {
		unsigned nc = *cap ? *cap * 2 : 8;

		if ((t = realloc(spec->t, nc * sizeof(*t))) == NULL)
			return -1;
		spec->t = t;
		*cap = nc;
	}
	t = &spec->t[spec->n];
	if ((t->s = malloc(n + 1)) == NULL)
		return -1;
	memcpy(t->s, s, n);
	t->s[n] = '\0';
	t->len = n;
	t->kind = k;
	spec->n++;
	spec->kinds |= 1u << k;
	return 0;
}

int
filter_parse(const char *q, size_t len, int enabled, unsigned max_terms,
    struct filter_spec *spec, struct filter_err *err)
{
	static char val[FILTER_TERM_MAX * 8 + 8];
	unsigned cap = 0, seen = 0, i, j;
	size_t at = 0;

	memset(spec, 0, sizeof(*spec));
	while (at < len) {
		const char *p = q + at, *eq, *amp;
		size_t plen, nlen, k;
		int kind = -1;
		long vlen;

		amp = memchr(p, '&', len - at);
		plen = amp != NULL ? (size_t)(amp - p) : len - at;
		at += plen + 1;
		if (plen == 0)
			continue;
		eq = memchr(p, '=', plen);
		nlen = eq != NULL ? (size_t)(eq - p) : plen;
		for (k = 0; k < sizeof(passed_over) / sizeof(passed_over[0]); k++)
			if (strlen(passed_over[k]) == nlen &&
			    memcmp(passed_over[k], p, nlen) == 0)
				break;
		if (k < sizeof(passed_over) / sizeof(passed_over[0]))
			continue;
		for (k = 0; k < FK_COUNT; k++)
			if (strlen(kind_names[k]) == nlen &&
			    memcmp(kind_names[k], p, nlen) == 0)
				kind = (int)k;
		if (kind < 0) {
			fail(err, 400, p, nlen, "unknown parameter");
			goto bad;
		}
		if (!enabled) {
			fail(err, 400, p, nlen, "filters are disabled on this "
			    "server");
			goto bad;
		}
		vlen = eq != NULL ? http_query_decode(eq + 1, plen - nlen - 1, val,
		    sizeof(val), 1) : 0;
		if (eq == NULL)
			val[0] = '\0';
		if (vlen < 0) {
			fail(err, 400, p, nlen, "bad percent-encoding, a control "
			    "character or a value too long");
			goto bad;
		}
		/* regex and issuer values may hold commas: never split. */
		for (char *s = val, *e;; s = e + 1) {
			size_t n;
			const char *why;

			e = (kind == FK_REGEX || kind == FK_ISSUER) ? NULL :
			    strchr(s, ',');
			n = e != NULL ? (size_t)(e - s) : strlen(s);
			if (e != NULL)
				*e = '\0';
			if ((why = term_check(kind, s, &n)) != NULL) {
				fail(err, 400, p, nlen, why);
				goto bad;
			}
			if (++seen > max_terms) {
				char m[96];

				snprintf(m, sizeof(m), "more than %u filter terms "
				    "(filters.max_terms)", max_terms);
				fail(err, 400, p, nlen, m);
				goto bad;
			}
			if (add_term(spec, &cap, kind, s, n) == -1) {
				fail(err, 503, p, nlen, "out of memory");
				goto bad;
			}
			if (e == NULL)
				break;
		}
	}
	if (spec->n > 1)
		qsort(spec->t, spec->n, sizeof(spec->t[0]), term_cmp);
	for (i = j = 0; i < spec->n; i++) {
		if (j > 0 && term_cmp(&spec->t[j - 1], &spec->t[i]) == 0) {
			free(spec->t[i].s);
			continue;
		}
		spec->t[j++] = spec->t[i];
	}
	spec->n = j;
	return 0;
bad:
	filter_spec_fini(spec);
	return -1;
}

void
filter_spec_fini(struct filter_spec *spec)
{
	for (unsigned i = 0; i < spec->n; i++)
		free(spec->t[i].s);
	free(spec->t);
	memset(spec, 0, sizeof(*spec));
}

int
filter_spec_equal(const struct filter_spec *a, const struct filter_spec *b)
{
	if (a->n != b->n)
		return 0;
	for (unsigned i = 0; i < a->n; i++)
		if (term_cmp(&a->t[i], &b->t[i]) != 0)
			return 0;
	return 1;
}

unsigned long
filter_spec_hash(const struct filter_spec *s)
{
	unsigned long h = 1469598103934665603UL;

	for (unsigned i = 0; i < s->n; i++) {
		h = (h ^ (unsigned long)s->t[i].kind) * 1099511628211UL;
		for (size_t k = 0; k < s->t[i].len; k++)
			h = (h ^ (unsigned char)s->t[i].s[k]) * 1099511628211UL;
		h = (h ^ 0xffUL) * 1099511628211UL;
	}
	return h;
}

/* JSON string body of s (no quotes) into o; returns the new end or NULL. */
static char *
json_esc(char *o, char *end, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (end - o < 8)
			return NULL;
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			/* bytes as sent may not be UTF-8: escape them */
			o += snprintf(o, (size_t)(end - o), "\\u%04x", c);
		} else {
			*o++ = (char)c;
		}
	}
	return o;
}

size_t
filter_err_response(const struct filter_err *err, char *buf, size_t buflen)
{
	char body[600], *o = body, *end = body + sizeof(body);
	int n;

	o += snprintf(o, (size_t)(end - o),
	    "{\"error\":\"bad filter\",\"parameter\":\"");
	if ((o = json_esc(o, end, err->param)) == NULL ||
	    end - o < 16)
		return 0;
	o += snprintf(o, (size_t)(end - o), "\",\"reason\":\"");
	if ((o = json_esc(o, end, err->reason)) == NULL || end - o < 4)
		return 0;
	o += snprintf(o, (size_t)(end - o), "\"}\n");
	n = snprintf(buf, buflen, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Access-Control-Allow-Origin: *\r\n"
	    "Connection: close\r\n\r\n%s", err->status,
	    err->status == 400 ? "Bad Request" : "Service Unavailable",
	    (size_t)(o - body), body);
	return n > 0 && (size_t)n < buflen ? (size_t)n : 0;
}
