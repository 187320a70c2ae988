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

int
factsj_from_message(struct json_object *msg, struct factsj_buf *b)
{
	static const char *dom[FACTSJ_MAX_DOMAINS];
	static size_t dlen[FACTSJ_MAX_DOMAINS];
	struct json_object *data, *leaf, *iss, *src, *doms, *t;
	struct facts_in in;
	size_t i, n = 0, need;
	long len;

	memset(&in, 0, sizeof(in));
	if ((data = member(msg, "data", json_type_object)) == NULL)
		return -1;
	leaf = member(data, "leaf_cert", json_type_object);
	iss = member(leaf, "issuer", json_type_object);
	src = member(data, "source", json_type_object);
	t = member(data, "update_type", json_type_string);
	in.type = t != NULL && strcmp(json_object_get_string(t),
	    "PrecertLogEntry") == 0 ? FACTS_PRECERT : FACTS_CERT;
	field(&in, FF_ISSUER_CN, iss, "CN");
	field(&in, FF_ISSUER_O, iss, "O");
	field(&in, FF_LOG_URL, src, "url");
	field(&in, FF_LOG_NAME, src, "name");
	field(&in, FF_LOG_OPERATOR, src, "operator");
	if ((doms = member(leaf, "all_domains", json_type_array)) != NULL) {
		size_t total = json_object_array_length(doms);

		for (i = 0; i < total && n < FACTSJ_MAX_DOMAINS; i++) {
			struct json_object *d = json_object_array_get_idx(doms, i);

			if (!json_object_is_type(d, json_type_string))
				continue;
			dom[n] = json_object_get_string(d);
			dlen[n++] = (size_t)json_object_get_string_len(d);
		}
	}
	in.domains = dom;
	in.domain_len = dlen;
	in.ndomains = n;
	need = facts_size(&in);
	if (need > b->cap) {
		uint8_t *np = realloc(b->p, need);

		if (np == NULL)
			return -1;
		b->p = np;
		b->cap = need;
	}
	if ((len = facts_encode(&in, b->p, b->cap)) < 0)
		return -1;
	b->len = (size_t)len;
	return 0;
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
