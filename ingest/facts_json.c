/* Facts (shm/facts.h) of a certificate_update message, from its JSON. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ingest/facts_json.h"
#include "shm/facts.h"

/* Domains beyond this are not matched on (no certificate comes near). */
#define FACTSJ_MAX_DOMAINS 4096

void
factsj_buf_fini(struct factsj_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static struct json_object *
member(struct json_object *o, const char *key, enum json_type t)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, t))
		return NULL;
	return v;
}

static void
field(struct facts_in *in, int f, struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key, json_type_string);

	in->field[f] = v != NULL ? json_object_get_string(v) : NULL;
	in->field_len[f] = v != NULL ? (size_t)json_object_get_string_len(v) : 0;
}

/* in's type and log fields are set: the issuer's and the names from
 * their JSON (either may be NULL), then encode into b. */
static int
build(struct facts_in *in, struct json_object *iss, struct json_object *doms,
    struct factsj_buf *b)
{
	static const char *dom[FACTSJ_MAX_DOMAINS];
	static size_t dlen[FACTSJ_MAX_DOMAINS];
	size_t i, n = 0, need;
	long len;

	field(in, FF_ISSUER_CN, iss, "CN");
	field(in, FF_ISSUER_O, iss, "O");
	if (doms != NULL && json_object_is_type(doms, json_type_array)) {
		size_t total = json_object_array_length(doms);

		for (i = 0; i < total && n < FACTSJ_MAX_DOMAINS; i++) {
			struct json_object *d = json_object_array_get_idx(doms, i);

			if (!json_object_is_type(d, json_type_string))
				continue;
			dom[n] = json_object_get_string(d);
			dlen[n++] = (size_t)json_object_get_string_len(d);
		}
	}
	in->domains = dom;
	in->domain_len = dlen;
	in->ndomains = n;
	need = facts_size(in);
	if (need > b->cap) {
		uint8_t *np = realloc(b->p, need);

		if (np == NULL)
			return -1;
		b->p = np;
		b->cap = need;
	}
	if ((len = facts_encode(in, b->p, b->cap)) < 0)
		return -1;
	b->len = (size_t)len;
	return 0;
}

int
factsj_from_message(struct json_object *msg, struct factsj_buf *b)
{
	struct json_object *data, *leaf, *src, *t;
	struct facts_in in;

	memset(&in, 0, sizeof(in));
	if ((data = member(msg, "data", json_type_object)) == NULL)
		return -1;
	leaf = member(data, "leaf_cert", json_type_object);
	src = member(data, "source", json_type_object);
	t = member(data, "update_type", json_type_string);
	in.type = t != NULL && strcmp(json_object_get_string(t),
	    "PrecertLogEntry") == 0 ? FACTS_PRECERT : FACTS_CERT;
	field(&in, FF_LOG_URL, src, "url");
	field(&in, FF_LOG_NAME, src, "name");
	field(&in, FF_LOG_OPERATOR, src, "operator");
	return build(&in, member(leaf, "issuer", json_type_object),
	    member(leaf, "all_domains", json_type_array), b);
}

/* The JSON value that starts at p[0..n): parsed alone, NULL if none. */
static struct json_object *
value_at(struct json_tokener *tok, const char *p, size_t n)
{
	json_tokener_reset(tok);
	return json_tokener_parse_ex(tok, p, (int)n);
}

int
factsj_from_parts(int type, const char *leaf, size_t leaf_len,
    const char *doms, size_t doms_len, const char *const log[3],
    struct factsj_buf *b)
{
	static const char key[] = ",\"issuer\":";
	struct json_tokener *tok = json_tokener_new();
	struct json_object *iss = NULL, *d = NULL;
	struct facts_in in;
	const char *at;
	int rc = -1;

	if (tok == NULL)
		return -1;
	memset(&in, 0, sizeof(in));
	in.type = type;
	for (int i = 0; i < 3; i++) {
		in.field[FF_LOG_URL + i] = log[i];
		in.field_len[FF_LOG_URL + i] = log[i] != NULL ? strlen(log[i]) : 0;
	}
	/* A quote inside a JSON string is escaped: the first unescaped
	 * ,"issuer": is the key. The parse stops at the end of its object. */
	at = memmem(leaf, leaf_len, key, sizeof(key) - 1);
	if (at != NULL)
		iss = value_at(tok, at + sizeof(key) - 1,
		    leaf_len - (size_t)(at + sizeof(key) - 1 - leaf));
	d = value_at(tok, doms, doms_len);
	rc = build(&in, json_object_is_type(iss, json_type_object) ? iss : NULL,
	    d, b);
	json_object_put(iss);
	json_object_put(d);
	json_tokener_free(tok);
	return rc;
}

int
factsj_from_text(const char *text, size_t len, struct factsj_buf *b)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL;
	int rc = -1;

	if (tok == NULL)
		return -1;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success)
		rc = factsj_from_message(o, b);
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}
