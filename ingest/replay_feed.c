/*
 * A replay feed: the NDJSON file read once, each record rendered then by
 * the render library, kept ready to publish with only its seen digits left
 * to stamp. A record whose certificate does not render is refused.
 */
#include "ingest/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/base64.h"
#include "ingest/leaf.h"
#include "ingest/render/render.h"

#define SEEN_KEY "\"seen\":"
#define SEEN_PATTERN SEEN_KEY REPLAY_SEEN_PLACEHOLDER
/* render_entry writes seen as "%.6f": this value gives the placeholder */
#define SEEN_PLACEHOLDER_S 1e9

_Static_assert(sizeof(REPLAY_SEEN_PLACEHOLDER) - 1 == REPLAY_SEEN_LEN,
    "placeholder width");

void
replay_seen_format(char out[REPLAY_SEEN_LEN], int64_t seen_us)
{
	char tmp[32];
	int64_t secs, frac;
	int n;

	if (seen_us < 0)
		seen_us = 0;
	secs = seen_us / 1000000;
	frac = seen_us % 1000000;
	if (secs > 9999999999LL) {      /* year 2286: keep the width */
		secs = 9999999999LL;
		frac = 999999;
	}
	n = snprintf(tmp, sizeof(tmp), "%" PRId64 ".%06" PRId64, secs, frac);
	/* Fewer second digits: pad the fraction, the value is unchanged. */
	while (n < REPLAY_SEEN_LEN)
		tmp[n++] = '0';
	memcpy(out, tmp, REPLAY_SEEN_LEN);
}

/* obj's member key if it has json-c type `type`, else NULL. */
static struct json_object *
replay_json_get(struct json_object *obj, const char *key, int type)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, (enum json_type)type))
		return NULL;
	return v;
}

static int
feed_reserve(struct replay_feed *f, size_t more)
{
	size_t ncap;
	char *nbuf;

	if (f->cap - f->used >= more)
		return 0;
	ncap = f->cap ? f->cap : 65536;
	while (ncap - f->used < more)
		ncap *= 2;
	if ((nbuf = realloc(f->buf, ncap)) == NULL)
		return -1;
	f->buf = nbuf;
	f->cap = ncap;
	return 0;
}

/* Append form v (JSON text holding the seen placeholder exactly once) to
 * the record being built. 0, or -1 with err filled. */
static int
replay_feed_put_form(struct replay_feed *f, struct replay_rec *rec, int v,
    const char *s, size_t len, char *err, size_t errlen)
{
	const char *hit, *again;

	hit = strstr(s, SEEN_PATTERN);
	again = hit ? strstr(hit + 1, SEEN_PATTERN) : NULL;
	if (hit == NULL || again != NULL) {
		snprintf(err, errlen, "cannot place seen in the message");
		return -1;
	}
	if (len > UINT32_MAX) {
		snprintf(err, errlen, "message too large (%zu bytes)", len);
		return -1;
	}
	if (feed_reserve(f, len) == -1) {
		snprintf(err, errlen, "out of memory (%zu bytes)", len);
		return -1;
	}
	memcpy(f->buf + f->used, s, len);
	rec->off[v] = f->used;
	rec->len[v] = (uint32_t)len;
	rec->seen_at[v] = (uint32_t)(hit - s + strlen(SEEN_KEY));
	f->used += len;
	return 0;
}

static int
replay_feed_put_facts(struct replay_feed *f, struct replay_rec *rec,
    const void *p, size_t len, char *err, size_t errlen)
{
	if (len == 0 || len > UINT32_MAX || feed_reserve(f, len) == -1) {
		snprintf(err, errlen, "out of memory building facts");
		return -1;
	}
	memcpy(f->buf + f->used, p, len);
	rec->foff = f->used;
	rec->flen = (uint32_t)len;
	f->used += len;
	return 0;
}

static int
replay_feed_push(struct replay_feed *f, const struct replay_rec *rec,
    char *err, size_t errlen)
{
	if (f->n == f->nalloc) {
		size_t nn = f->nalloc ? f->nalloc * 2 : 256;
		struct replay_rec *nr = realloc(f->recs, nn * sizeof(*nr));

		if (nr == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		f->recs = nr;
		f->nalloc = nn;
	}
	f->recs[f->n++] = *rec;
	return 0;
}

/* The forms render_entry just wrote to ro (seen: the placeholder) and
 * their facts, as the feed's next record. 1, or -1 with err filled. */
static int
feed_add_rendered(struct replay_feed *f, const struct render_out *ro,
    char *err, size_t errlen)
{
	struct replay_rec rec;
	size_t mark = f->used;

	memset(&rec, 0, sizeof(rec));
	for (int v = 0; v < RV_COUNT; v++) {
		if (replay_feed_put_form(f, &rec, v, ro->json[v], ro->len[v], err,
		    errlen) == -1)
			goto fail;
	}
	if (replay_feed_put_facts(f, &rec, ro->facts, ro->facts_len, err,
	    errlen) == -1 || replay_feed_push(f, &rec, err, errlen) == -1)
		goto fail;
	return 1;
fail:
	f->used = mark;
	return -1;
}

/* The certificates a recorded message carries, decoded for rendering. */
struct msg_der {
	uint8_t *buf[1 + LEAF_MAX_CHAIN];
	int n;
};

static void
msg_der_free(struct msg_der *d)
{
	while (d->n > 0)
		free(d->buf[--d->n]);
}

/* The base64 string member as_der of obj, decoded into d; NULL if none. */
static const uint8_t *
der_of(struct json_object *obj, struct msg_der *d, size_t *len)
{
	struct json_object *s = replay_json_get(obj, "as_der", json_type_string);

	if (s == NULL || json_object_get_string_len(s) == 0 ||
	    (d->buf[d->n] = base64_decode_alloc(json_object_get_string(s),
	    len)) == NULL)
		return NULL;
	return d->buf[d->n++];
}

static const char *
str_of(struct json_object *obj, const char *key)
{
	struct json_object *s = replay_json_get(obj, key, json_type_string);

	return s != NULL ? json_object_get_string(s) : NULL;
}

/*
 * The CT entry a recorded message was rendered from: its certificate and
 * chain (DER), and what the log said of it (index, update_type,
 * submission_timestamp, the log's URL, name, operator and type). 0, or -1
 * with why filled when the message does not hold them.
 */
static int
msg_entry(struct json_object *msg, struct msg_der *d, struct leaf_entry *e,
    struct render_source *src, char *why, size_t whylen)
{
	struct json_object *data, *leaf, *chain, *ix, *ts, *s;
	const char *ut;
	size_t n;

	memset(e, 0, sizeof(*e));
	memset(src, 0, sizeof(*src));
	if ((data = replay_json_get(msg, "data", json_type_object)) == NULL ||
	    (leaf = replay_json_get(data, "leaf_cert", json_type_object)) == NULL ||
	    (e->cert.p = der_of(leaf, d, &e->cert.len)) == NULL) {
		snprintf(why, whylen, "no leaf_cert.as_der");
		return -1;
	}
	if ((chain = replay_json_get(data, "chain", json_type_array)) == NULL ||
	    (n = json_object_array_length(chain)) > LEAF_MAX_CHAIN) {
		snprintf(why, whylen, "no chain of at most %d", LEAF_MAX_CHAIN);
		return -1;
	}
	for (e->nchain = 0; e->nchain < n; e->nchain++) {
		struct leaf_span *c = &e->chain[e->nchain];

		if ((c->p = der_of(json_object_array_get_idx(chain, e->nchain), d,
		    &c->len)) == NULL) {
			snprintf(why, whylen, "no chain[%zu].as_der", e->nchain);
			return -1;
		}
	}
	ut = str_of(data, "update_type");
	if (ut != NULL && strcmp(ut, "PrecertLogEntry") == 0)
		e->type = LEAF_PRECERT;
	else if (ut == NULL || strcmp(ut, "X509LogEntry") != 0) {
		snprintf(why, whylen, "no update_type");
		return -1;
	}
	if ((ix = replay_json_get(data, "cert_index", json_type_int)) == NULL ||
	    json_object_get_int64(ix) < 0 ||
	    ((ts = replay_json_get(data, "submission_timestamp",
	    json_type_double)) == NULL &&
	    (ts = replay_json_get(data, "submission_timestamp",
	    json_type_int)) == NULL) || json_object_get_double(ts) < 0 ||
	    (s = replay_json_get(data, "source", json_type_object)) == NULL) {
		snprintf(why, whylen, "no cert_index, submission_timestamp or "
		    "source");
		return -1;
	}
	e->index = (uint64_t)json_object_get_int64(ix);
	e->timestamp_ms = (uint64_t)llround(json_object_get_double(ts) * 1000);
	src->url = str_of(s, "url");
	src->name = str_of(s, "name");
	src->operator_name = str_of(s, "operator");
	src->type = str_of(s, "type");
	e->is_static = src->type != NULL && strcmp(src->type, "static") == 0;
	return 0;
}

/* Is line the rendered text r, seen's value aside? The render wrote the
 * placeholder; a recording holds the time it was seen. */
static int
same_but_seen(const char *line, size_t len, const char *r, size_t rlen)
{
	const char *a = memmem(line, len, SEEN_KEY, strlen(SEEN_KEY));
	const char *b = strstr(r, SEEN_PATTERN);
	size_t at, end, rend;

	if (a == NULL || b == NULL || (at = (size_t)(a - line)) != (size_t)(b - r) ||
	    memcmp(line, r, at) != 0)
		return 0;
	end = at + strlen(SEEN_KEY);
	while (end < len && line[end] != '\0' && strchr("0123456789.eE+-",
	    line[end]) != NULL)
		end++;
	rend = at + strlen(SEEN_PATTERN);
	return len - end == rlen - rend && memcmp(line + end, r + rend,
	    len - end) == 0;
}

/*
 * A recorded certificate_update (line, as parsed into msg), rendered from
 * its certificate by the render library, as live ingest renders: what is
 * streamed is what the render writes, whatever else the line says (a
 * line whose text differs is counted, the first one kept for the log).
 * A message without a certificate that renders is refused. 1, or -1 with
 * err filled.
 */
static int
feed_add_message(struct replay_feed *f, struct render_out *ro,
    struct json_object *msg, const char *line, size_t len, char *err,
    size_t errlen)
{
	struct msg_der d = { .n = 0 };
	struct render_source src;
	struct leaf_entry e;
	char why[160];
	int rc = -1;

	if (msg_entry(msg, &d, &e, &src, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	if (render_entry(&e, &src, SEEN_PLACEHOLDER_S, ro, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "its certificate does not render: %s", why);
		goto out;
	}
	if (!same_but_seen(line, len, ro->json[RV_FULL], ro->len[RV_FULL]) &&
	    f->differs++ == 0)
		f->differs_line = f->lines;
	rc = feed_add_rendered(f, ro, err, errlen);
out:
	msg_der_free(&d);
	return rc;
}

/* One {"leaf_input","extra_data"[,"index"]} through the live rendering
 * path. */
static int
feed_add_entry(struct replay_feed *f, struct render_out *ro,
    struct json_object *o, char *err, size_t errlen)
{
	struct json_object *li, *xd, *ix;
	struct render_source src;
	struct leaf_entry e;
	uint8_t *leaf = NULL, *extra = NULL;
	size_t ll = 0, xl = 0;
	uint64_t index = f->next_index;
	char url[300], why[256];
	int rc = -1, lrc;

	if (!json_object_is_type(o, json_type_object) ||
	    (li = replay_json_get(o, "leaf_input", json_type_string)) == NULL ||
	    (xd = replay_json_get(o, "extra_data", json_type_string)) == NULL) {
		snprintf(err, errlen, "entry %" PRIu64 ": no leaf_input and "
		    "extra_data strings", index);
		return -1;
	}
	if ((ix = replay_json_get(o, "index", json_type_int)) != NULL)
		index = (uint64_t)json_object_get_int64(ix);
	f->next_index = index + 1;
	/* No entry has an empty field: refused as bad base64. */
	if (json_object_get_string_len(li) == 0 ||
	    json_object_get_string_len(xd) == 0 ||
	    (leaf = base64_decode_alloc(json_object_get_string(li), &ll)) == NULL ||
	    (extra = base64_decode_alloc(json_object_get_string(xd), &xl)) == NULL) {
		snprintf(err, errlen, "entry %" PRIu64 ": bad base64", index);
		goto out;
	}
	if ((lrc = leaf_decode_rfc6962(leaf, ll, extra, xl, &e)) != 0) {
		snprintf(err, errlen, "entry %" PRIu64 ": %s", index,
		    leaf_strerror(lrc));
		goto out;
	}
	e.index = index;
	/* A dump does not say which log it came from: its file does. */
	snprintf(url, sizeof(url), "replay://%s/", f->origin[0] ? f->origin : "feed");
	src.url = url;
	src.name = f->origin[0] ? f->origin : "replay";
	src.operator_name = "";
	src.type = "rfc6962";
	if (render_entry(&e, &src, SEEN_PLACEHOLDER_S, ro, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "entry %" PRIu64 ": %s", index, why);
		goto out;
	}
	rc = feed_add_rendered(f, ro, err, errlen);
out:
	free(leaf);
	free(extra);
	return rc;
}

/*
 * A raw CT entry, or a get-entries body ({"entries":[...]}, one line).
 * Entries without an "index" continue from the previous one. A body with
 * bad entries keeps its good ones and reports the first bad one.
 */
static int
feed_add_raw(struct replay_feed *f, struct render_out *ro,
    struct json_object *obj, char *err, size_t errlen)
{
	struct json_object *entries;
	size_t n, bad = 0;
	char why[256];
	int added = 0;

	if ((entries = replay_json_get(obj, "entries", json_type_array)) == NULL)
		return feed_add_entry(f, ro, obj, err, errlen);
	n = json_object_array_length(entries);
	for (size_t i = 0; i < n; i++) {
		if (feed_add_entry(f, ro, json_object_array_get_idx(entries, i),
		    why, sizeof(why)) == -1) {
			if (bad++ == 0)
				snprintf(err, errlen, "%s", why);
		} else {
			added++;
		}
	}
	if (bad > 0) {
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, " (%zu of %zu entries skipped)", bad, n);
		return -1;
	}
	return added;
}

int
replay_feed_add_line(struct replay_feed *f, const char *line, size_t len,
    char *err, size_t errlen)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL, *mt;
	size_t end;
	int rc = -1;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
	    line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0) {
		f->skipped++;
		return 0;
	}
	if (len > INT32_MAX) {
		snprintf(err, errlen, "line too long");
		return -1;
	}
	if ((tok = json_tokener_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, line, (int)len);
	if (obj == NULL) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		snprintf(err, errlen, "invalid JSON: %s",
		    e == json_tokener_continue ? "truncated" : json_tokener_error_desc(e));
		goto out;
	}
	end = json_tokener_get_parse_end(tok);
	while (end < len && (line[end] == ' ' || line[end] == '\t'))
		end++;
	if (end != len) {
		snprintf(err, errlen, "trailing bytes after the JSON value");
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	if (f->ro == NULL) {
		/* kept from line to line: the chain cache serves the feed */
		if ((f->ro = malloc(sizeof(*f->ro))) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		render_out_init(f->ro);
	}
	if ((mt = replay_json_get(obj, "message_type", json_type_string)) != NULL) {
		const char *t = json_object_get_string(mt);

		if (strcmp(t, "heartbeat") == 0) {
			f->skipped++;
			rc = 0;
		} else if (strcmp(t, "certificate_update") == 0) {
			rc = feed_add_message(f, f->ro, obj, line, len, err,
			    errlen);
		} else {
			snprintf(err, errlen, "message_type \"%.40s\" is not "
			    "certificate_update", t);
		}
		goto out;
	}
	if (json_object_object_get_ex(obj, "leaf_input", NULL) ||
	    json_object_object_get_ex(obj, "entries", NULL)) {
		rc = feed_add_raw(f, f->ro, obj, err, errlen);
		goto out;
	}
	snprintf(err, errlen, "neither a certstream message nor a CT entry");
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

static void
feed_render_free(struct replay_feed *f)
{
	if (f->ro != NULL) {
		render_out_fini(f->ro);
		free(f->ro);
		f->ro = NULL;
	}
}

/* replay_feed_load, or with first_only just up to its first record. */
static int
feed_load(struct replay_feed *f, const char *path, replay_bad_fn bad,
    void *arg, int first_only, char *err, size_t errlen)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	char why[256];
	int rc = -1;

	memset(f, 0, sizeof(*f));
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "replay.file is not set");
		return -1;
	}
	{
		const char *base = strrchr(path, '/');

		snprintf(f->origin, sizeof(f->origin), "%s", base ? base + 1 : path);
	}
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((!first_only || f->n == 0) &&
	    (n = getline(&line, &cap, fp)) != -1) {
		f->lines++;
		if (replay_feed_add_line(f, line, (size_t)n, why, sizeof(why)) == -1) {
			f->bad++;
			if (bad)
				bad(arg, (unsigned long)f->lines, why);
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	if (f->n == 0) {
		snprintf(err, errlen, "%s: no usable record (%" PRIu64 " lines, %"
		    PRIu64 " bad)", path, f->lines, f->bad);
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(fp);
	feed_render_free(f);    /* loaded: the rest is the feed's buffer */
	if (rc == -1)
		replay_feed_free(f);
	return rc;
}

int
replay_feed_load(struct replay_feed *f, const char *path, replay_bad_fn bad,
    void *arg, char *err, size_t errlen)
{
	return feed_load(f, path, bad, arg, 0, err, errlen);
}

void
replay_feed_free(struct replay_feed *f)
{
	feed_render_free(f);
	free(f->buf);
	free(f->recs);
	memset(f, 0, sizeof(*f));
}

int
replay_feed_check(const char *path, char *err, size_t errlen)
{
	struct replay_feed f;

	/* One usable record is enough to start: rendering the whole feed
	 * here would only be done again by the ingest. */
	if (feed_load(&f, path, NULL, NULL, 1, err, errlen) == -1)
		return -1;
	replay_feed_free(&f);
	return 0;
}

void
replay_feed_stamp(struct replay_feed *f, size_t i, int64_t seen_us,
    struct iovec json[RV_COUNT])
{
	struct replay_rec *rec = &f->recs[i];
	char digits[REPLAY_SEEN_LEN];

	replay_seen_format(digits, seen_us);
	for (int v = 0; v < RV_COUNT; v++) {
		char *p = f->buf + rec->off[v];

		memcpy(p + rec->seen_at[v], digits, REPLAY_SEEN_LEN);
		json[v].iov_base = p;
		json[v].iov_len = rec->len[v];
	}
}
