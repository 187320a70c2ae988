/*
 * A replayed message streamed as its file wrote it: the fallback for a
 * record whose certificate does not render to its text (a hand-written
 * feed: no DER, a placeholder DER, fields edited by hand). Every record
 * whose certificate renders to what the file holds is written by the
 * render library instead (replay.c); only these go through json-c.
 */
#include "ingest/replay_recorded.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ingest/facts_json.h"

#define SERIALIZE_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Serialize obj as form v of rec. */
static int
put_form(struct replay_feed *f, struct replay_rec *rec, int v,
    struct json_object *obj, char *err, size_t errlen)
{
	const char *s;
	size_t len;

	if ((s = json_object_to_json_string_length(obj, SERIALIZE_FLAGS,
	    &len)) == NULL) {
		snprintf(err, errlen, "out of memory serializing");
		return -1;
	}
	return replay_feed_put_form(f, rec, v, s, len, err, errlen);
}

static struct json_object *
seen_placeholder(void)
{
	return json_object_new_double_s(1e9, REPLAY_SEEN_PLACEHOLDER);
}

/* Add a field to obj; the new value is taken (freed on failure). */
static int
obj_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int
replay_recorded_add(struct replay_feed *f, struct json_object *msg, char *err,
    size_t errlen)
{
	struct json_object *data, *leaf, *idx, *src, *doms, *dom = NULL, *dsrc, *v;
	struct factsj_buf fb = { NULL, 0, 0 };
	struct replay_rec rec;
	size_t mark = f->used;
	int rc = -1;

	memset(&rec, 0, sizeof(rec));
	snprintf(err, errlen, "out of memory");   /* unless a reason below */
	if ((data = replay_json_get(msg, "data", json_type_object)) == NULL) {
		snprintf(err, errlen, "no data object");
		goto out;
	}
	if ((leaf = replay_json_get(data, "leaf_cert", json_type_object)) == NULL) {
		snprintf(err, errlen, "no data.leaf_cert object");
		goto out;
	}
	if ((idx = replay_json_get(data, "cert_index", json_type_int)) == NULL) {
		snprintf(err, errlen, "no integer data.cert_index");
		goto out;
	}
	if ((src = replay_json_get(data, "source", json_type_object)) == NULL) {
		snprintf(err, errlen, "no data.source object");
		goto out;
	}
	if (obj_add(data, "seen", seen_placeholder()) == -1)
		goto out;

	/* dns_entries: all_domains, cert_index, seen, source {url, name} */
	if ((dom = json_object_new_object()) == NULL ||
	    obj_add(dom, "message_type", json_object_new_string("dns_entries")) == -1)
		goto out;
	doms = replay_json_get(leaf, "all_domains", json_type_array);
	if (obj_add(dom, "data", doms ? json_object_get(doms) : json_object_new_array()) == -1 ||
	    obj_add(dom, "cert_index", json_object_get(idx)) == -1 ||
	    obj_add(dom, "seen", seen_placeholder()) == -1 ||
	    obj_add(dom, "source", dsrc = json_object_new_object()) == -1)
		goto out;
	if ((v = replay_json_get(src, "url", json_type_string)) != NULL &&
	    obj_add(dsrc, "url", json_object_get(v)) == -1)
		goto out;
	if ((v = replay_json_get(src, "name", json_type_string)) != NULL &&
	    obj_add(dsrc, "name", json_object_get(v)) == -1)
		goto out;

	if (factsj_from_message(msg, &fb) == -1) {
		snprintf(err, errlen, "out of memory building facts");
		goto out;
	}
	if (replay_feed_put_facts(f, &rec, fb.p, fb.len, err, errlen) == -1 ||
	    put_form(f, &rec, RV_FULL, msg, err, errlen) == -1 ||
	    put_form(f, &rec, RV_DOMAINS, dom, err, errlen) == -1)
		goto out;
	/* lite: the full message without the DER and the chain */
	json_object_object_del(leaf, "as_der");
	json_object_object_del(data, "chain");
	if (put_form(f, &rec, RV_LITE, msg, err, errlen) == -1 ||
	    replay_feed_push(f, &rec, err, errlen) == -1)
		goto out;
	rc = 1;
out:
	if (rc == -1)
		f->used = mark;     /* drop the forms already copied */
	factsj_buf_fini(&fb);
	json_object_put(dom);
	return rc;
}
