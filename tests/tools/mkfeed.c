/*
 * mkfeed: writes a replay feed of real certificates (tests/tools/feedgen.c)
 * to stdout, one certificate_update per line, for the tests that replay a
 * feed of their own.
 *
 *   mkfeed -n COUNT [-s FIRST] [-d PATTERN]... [-u URL] [-N NAME]
 *          [-O OPERATOR] [-t rfc6962|static] [-c]
 *     COUNT records with cert_index FIRST.. (default 0); each PATTERN is a
 *     SAN, "%d" in it replaced by the record's cert_index (default
 *     "m%d.example"); -c: each with its CA as chain (else "chain":[]).
 *   mkfeed -j
 *     one record per stdin line, a JSON object: {"domains":[...],
 *     "index":N, "issuer_cn", "issuer_o", "precert":bool, "url", "name",
 *     "operator", "type", "chain":bool} (all but domains and index
 *     optional).
 *
 * Exit 0, or 1 with the reason on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tests/tools/feedgen.h"

#define MAX_SANS 64

static int
emit(struct feedgen *g, const struct feedgen_rec *r)
{
	const char *line;
	size_t len;
	char err[256];

	if (feedgen_line(g, r, &line, &len, err, sizeof(err)) == -1) {
		fprintf(stderr, "mkfeed: %s\n", err);
		return -1;
	}
	if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF) {
		fprintf(stderr, "mkfeed: write: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* pattern with each "%d" replaced by n. */
static void
expand(const char *pattern, uint64_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = pattern; *p != '\0' && o + 1 < outlen; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			int k = snprintf(out + o, outlen - o, "%" PRIu64, n);

			o += k > 0 ? (size_t)k : 0;
			if (o >= outlen)
				o = outlen - 1;
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
from_json(struct feedgen *g, const struct render_source *dflt)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long ln = 0;
	int rc = 0;

	while (rc == 0 && getline(&line, &cap, stdin) != -1) {
		struct json_object *o = json_tokener_parse(line), *d, *v;
		const char *sans[MAX_SANS];
		struct feedgen_rec r;

		ln++;
		memset(&r, 0, sizeof(r));
		if (o == NULL || !json_object_object_get_ex(o, "domains", &d) ||
		    !json_object_is_type(d, json_type_array) ||
		    json_object_array_length(d) == 0 ||
		    json_object_array_length(d) > MAX_SANS ||
		    !json_object_object_get_ex(o, "index", &v)) {
			fprintf(stderr, "mkfeed: stdin:%lu: not {\"domains\":[...],"
			    "\"index\":N,...}\n", ln);
			json_object_put(o);
			rc = -1;
			break;
		}
		r.ndomains = json_object_array_length(d);
		for (size_t i = 0; i < r.ndomains; i++)
			sans[i] = json_object_get_string(json_object_array_get_idx(d, i));
		r.domains = sans;
		r.index = (uint64_t)json_object_get_int64(v);
		r.issuer_cn = jstr(o, "issuer_cn");
		r.issuer_o = jstr(o, "issuer_o");
		r.precert = json_object_object_get_ex(o, "precert", &v) &&
		    json_object_get_boolean(v);
		r.with_chain = json_object_object_get_ex(o, "chain", &v) &&
		    json_object_get_boolean(v);
		r.src = *dflt;
		if (jstr(o, "url"))
			r.src.url = jstr(o, "url");
		if (jstr(o, "name"))
			r.src.name = jstr(o, "name");
		if (jstr(o, "operator"))
			r.src.operator_name = jstr(o, "operator");
		if (jstr(o, "type"))
			r.src.type = jstr(o, "type");
		rc = emit(g, &r);
		json_object_put(o);
	}
	free(line);
	return rc;
}

int
main(int argc, char **argv)
{
	struct render_source src = { "https://log.example/", "feedgen test log",
	    "Feedgen", "rfc6962" };
	const char *pats[MAX_SANS];
	char names[MAX_SANS][256], err[256];
	const char *sans[MAX_SANS];
	struct feedgen *g;
	uint64_t count = 0, first = 0;
	int npat = 0, json = 0, chain = 0, c, rc = 0;

	while ((c = getopt(argc, argv, "n:s:d:u:N:O:t:jc")) != -1) {
		switch (c) {
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 's': first = strtoull(optarg, NULL, 10); break;
		case 'd':
			if (npat == MAX_SANS)
				goto usage;
			pats[npat++] = optarg;
			break;
		case 'u': src.url = optarg; break;
		case 'N': src.name = optarg; break;
		case 'O': src.operator_name = optarg; break;
		case 't': src.type = optarg; break;
		case 'j': json = 1; break;
		case 'c': chain = 1; break;
		default: goto usage;
		}
	}
	if (optind != argc || (!json && count == 0))
		goto usage;
	if (npat == 0)
		pats[npat++] = "m%d.example";
	if ((g = feedgen_new(err, sizeof(err))) == NULL) {
		fprintf(stderr, "mkfeed: %s\n", err);
		return 1;
	}
	if (json)
		rc = from_json(g, &src);
	for (uint64_t i = 0; !json && rc == 0 && i < count; i++) {
		struct feedgen_rec r;

		memset(&r, 0, sizeof(r));
		for (int k = 0; k < npat; k++) {
			expand(pats[k], first + i, names[k], sizeof(names[k]));
			sans[k] = names[k];
		}
		r.domains = sans;
		r.ndomains = (size_t)npat;
		r.index = first + i;
		r.with_chain = chain;
		r.src = src;
		rc = emit(g, &r);
	}
	feedgen_free(g);
	if (rc == 0 && fflush(stdout) == EOF) {
		fprintf(stderr, "mkfeed: write: %s\n", strerror(errno));
		rc = -1;
	}
	return rc == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: mkfeed -n COUNT [-s FIRST] [-d PATTERN]... "
	    "[-u URL] [-N NAME] [-O OPERATOR] [-t TYPE] [-c]\n"
	    "       mkfeed -j < records.ndjson\n");
	return 1;
}
