/* RFC 6962 get-entries bodies to entries: the JSON, the base64 of each
 * entry's two fields, the leaf decoder (see ct_rfc6962.h). */
#include "ingest/ct_rfc6962.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"

/* Grow a scratch buffer and base64-decode s into it. */
static long
decode_b64(json_object *o, const char *key, uint8_t **buf, size_t *cap)
{
	json_object *v;
	const char *s;
	size_t len, need;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	need = len / 4 * 3 + 3;
	if (need > *cap) {
		uint8_t *nb = realloc(*buf, need);

		if (nb == NULL)
			return -1;
		*buf = nb;
		*cap = need;
	}
	return base64_decode(s, len, *buf, *cap);
}

long
ct_rfc6962_b64_append(json_object *o, const char *key, uint8_t **buf, size_t *len,
    size_t *cap)
{
	json_object *v;
	size_t n, need;
	long r;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	n = (size_t)json_object_get_string_len(v);
	need = *len + n / 4 * 3 + 3;
	if (need > *cap) {
		size_t nc = *cap * 2 > need ? *cap * 2 : need;
		uint8_t *nb = realloc(*buf, nc);

		if (nb == NULL)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	r = base64_decode(json_object_get_string(v), n, *buf + *len,
	    *cap - *len);
	if (r >= 0)
		*len += (size_t)r;
	return r;
}

int
ct_rfc6962_parse(const char *body, size_t len, json_object **root,
    json_object **entries)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o = NULL, *arr;

	*root = *entries = NULL;
	if (tok == NULL || len > INT32_MAX)
		goto fail;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o == NULL || json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "entries", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		goto fail;
	json_tokener_free(tok);
	*root = o;
	*entries = arr;
	return 0;
fail:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return -1;
}

int
ct_rfc6962_decode(json_object *ent, struct ct_rfc6962_scratch *s,
    struct leaf_entry *e, long *leaf_len)
{
	long ll, el;

	ll = decode_b64(ent, "leaf_input", &s->leaf, &s->leaf_cap);
	if (leaf_len != NULL)
		*leaf_len = ll;
	el = decode_b64(ent, "extra_data", &s->extra, &s->extra_cap);
	if (ll < 0 || el < 0)
		return LEAF_ETRUNC;
	return leaf_decode_rfc6962(s->leaf, (size_t)ll, s->extra, (size_t)el, e);
}

int
ct_rfc6962_decode_with_leaf(json_object *ent, struct ct_rfc6962_scratch *s,
    const uint8_t *leaf, long leaf_len, struct leaf_entry *e)
{
	long el = decode_b64(ent, "extra_data", &s->extra, &s->extra_cap);

	if (leaf_len < 0 || el < 0)
		return LEAF_ETRUNC;
	return leaf_decode_rfc6962(leaf, (size_t)leaf_len, s->extra,
	    (size_t)el, e);
}

void
ct_rfc6962_scratch_fini(struct ct_rfc6962_scratch *s)
{
	free(s->leaf);
	free(s->extra);
	memset(s, 0, sizeof(*s));
}

