/*
 * Replay source: a recorded feed, parsed once at start, published on a timer.
 */
#include "ingest/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "common/base64.h"
#include "common/log.h"
#include "ingest/facts_json.h"
#include "ingest/leaf.h"
#include "ingest/render.h"

/* Publishing 'as fast as possible' yields to the loop after this many
 * records, so signals and the timer of a rate change are still handled. */
#define REPLAY_BATCH 512
/* A rate-driven tick never publishes more than this: a stalled process does
 * not burst its whole debt into the ring at once. */
#define REPLAY_MAX_DUE 4096

/* The value `seen` carries until a record is stamped; its width is the
 * width of every stamp. */
#define SEEN_PLACEHOLDER "1000000000.000000"
#define SEEN_PATTERN "\"seen\":" SEEN_PLACEHOLDER
#define SERIALIZE_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

_Static_assert(sizeof(SEEN_PLACEHOLDER) - 1 == REPLAY_SEEN_LEN, "placeholder width");

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

/* Serialize obj as variant v of rec, remembering where its seen digits are. */
static int
feed_put_variant(struct replay_feed *f, struct replay_rec *rec, int v,
    struct json_object *obj, char *err, size_t errlen)
{
	const char *s, *hit, *again;
	size_t len;

	s = json_object_to_json_string_length(obj, SERIALIZE_FLAGS, &len);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory serializing");
		return -1;
	}
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
	rec->seen_at[v] = (uint32_t)(hit - s + strlen("\"seen\":"));
	f->used += len;
	return 0;
}

/* The message's facts for filters, once per feed record. */
static int
feed_put_facts(struct replay_feed *f, struct replay_rec *rec,
    struct json_object *msg, char *err, size_t errlen)
{
	struct factsj_buf fb = { NULL, 0, 0 };
	int rc = -1;

	if (factsj_from_message(msg, &fb) == -1 || fb.len > UINT32_MAX ||
	    feed_reserve(f, fb.len) == -1) {
		snprintf(err, errlen, "out of memory building facts");
		goto out;
	}
	memcpy(f->buf + f->used, fb.p, fb.len);
	rec->foff = f->used;
	rec->flen = (uint32_t)fb.len;
	f->used += fb.len;
	rc = 0;
out:
	factsj_buf_fini(&fb);
	return rc;
}

static struct json_object *
seen_placeholder(void)
{
	return json_object_new_double_s(1e9, SEEN_PLACEHOLDER);
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

static struct json_object *
obj_get(struct json_object *obj, const char *key, enum json_type type)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/*
 * msg is a full certificate_update (modified here: seen is replaced, then
 * as_der and chain are removed for lite). Returns 1, or -1 with err.
 */
static int
feed_add_message(struct replay_feed *f, struct json_object *msg, char *err,
    size_t errlen)
{
	struct json_object *data, *leaf, *idx, *src, *doms, *dom = NULL, *dsrc, *v;
	struct replay_rec rec;
	size_t mark = f->used;
	int rc = -1;

	memset(&rec, 0, sizeof(rec));
	snprintf(err, errlen, "out of memory");   /* unless a reason below */
	if ((data = obj_get(msg, "data", json_type_object)) == NULL) {
		snprintf(err, errlen, "no data object");
		goto out;
	}
	if ((leaf = obj_get(data, "leaf_cert", json_type_object)) == NULL) {
		snprintf(err, errlen, "no data.leaf_cert object");
		goto out;
	}
	if ((idx = obj_get(data, "cert_index", json_type_int)) == NULL) {
		snprintf(err, errlen, "no integer data.cert_index");
		goto out;
	}
	if ((src = obj_get(data, "source", json_type_object)) == NULL) {
		snprintf(err, errlen, "no data.source object");
		goto out;
	}
	if (obj_add(data, "seen", seen_placeholder()) == -1)
		goto out;

	/* dns_entries: all_domains, cert_index, seen, source {url, name} */
	if ((dom = json_object_new_object()) == NULL ||
	    obj_add(dom, "message_type", json_object_new_string("dns_entries")) == -1)
		goto out;
	doms = obj_get(leaf, "all_domains", json_type_array);
	if (obj_add(dom, "data", doms ? json_object_get(doms) : json_object_new_array()) == -1 ||
	    obj_add(dom, "cert_index", json_object_get(idx)) == -1 ||
	    obj_add(dom, "seen", seen_placeholder()) == -1 ||
	    obj_add(dom, "source", dsrc = json_object_new_object()) == -1)
		goto out;
	if ((v = obj_get(src, "url", json_type_string)) != NULL &&
	    obj_add(dsrc, "url", json_object_get(v)) == -1)
		goto out;
	if ((v = obj_get(src, "name", json_type_string)) != NULL &&
	    obj_add(dsrc, "name", json_object_get(v)) == -1)
		goto out;

	if (feed_put_facts(f, &rec, msg, err, errlen) == -1 ||
	    feed_put_variant(f, &rec, RV_FULL, msg, err, errlen) == -1 ||
	    feed_put_variant(f, &rec, RV_DOMAINS, dom, err, errlen) == -1)
		goto out;
	/* lite: the full message without the DER and the chain */
	json_object_object_del(leaf, "as_der");
	json_object_object_del(data, "chain");
	if (feed_put_variant(f, &rec, RV_LITE, msg, err, errlen) == -1)
		goto out;

	if (f->n == f->nalloc) {
		size_t nn = f->nalloc ? f->nalloc * 2 : 256;
		struct replay_rec *nr = realloc(f->recs, nn * sizeof(*nr));

		if (nr == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		f->recs = nr;
		f->nalloc = nn;
	}
	f->recs[f->n++] = rec;
	rc = 1;
out:
	if (rc == -1)
		f->used = mark;     /* drop the variants already copied */
	json_object_put(dom);
	return rc;
}

/* One {"leaf_input","extra_data"[,"index"]} through the live rendering
 * path; the rendered full message then goes the way of a recorded one. */
static int
feed_add_entry(struct replay_feed *f, struct render_out *ro,
    struct json_object *o, char *err, size_t errlen)
{
	struct json_object *li, *xd, *ix, *msg = NULL;
	struct render_source src;
	struct leaf_entry e;
	uint8_t *leaf = NULL, *extra = NULL;
	size_t ll = 0, xl = 0;
	uint64_t index = f->next_index;
	char url[300], why[256];
	int rc = -1, lrc;

	if (!json_object_is_type(o, json_type_object) ||
	    (li = obj_get(o, "leaf_input", json_type_string)) == NULL ||
	    (xd = obj_get(o, "extra_data", json_type_string)) == NULL) {
		snprintf(err, errlen, "entry %" PRIu64 ": no leaf_input and "
		    "extra_data strings", index);
		return -1;
	}
	if ((ix = obj_get(o, "index", json_type_int)) != NULL)
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
	if (render_entry(&e, &src, 0, ro, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "entry %" PRIu64 ": %s", index, why);
		goto out;
	}
	if ((msg = json_tokener_parse(ro->json[RV_FULL])) == NULL) {
		snprintf(err, errlen, "entry %" PRIu64 ": rendered text is not JSON",
		    index);
		goto out;
	}
	rc = feed_add_message(f, msg, err, errlen);
out:
	json_object_put(msg);
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
feed_add_raw(struct replay_feed *f, struct json_object *obj, char *err,
    size_t errlen)
{
	struct json_object *entries;
	struct render_out ro;
	size_t n, bad = 0;
	char why[256];
	int added = 0, rc;

	render_out_init(&ro);
	if ((entries = obj_get(obj, "entries", json_type_array)) == NULL) {
		rc = feed_add_entry(f, &ro, obj, err, errlen);
		goto out;
	}
	n = json_object_array_length(entries);
	for (size_t i = 0; i < n; i++) {
		if (feed_add_entry(f, &ro, json_object_array_get_idx(entries, i),
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
		rc = -1;
	} else {
		rc = added;
	}
out:
	render_out_fini(&ro);
	return rc;
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
	if ((mt = obj_get(obj, "message_type", json_type_string)) != NULL) {
		const char *t = json_object_get_string(mt);

		if (strcmp(t, "heartbeat") == 0) {
			f->skipped++;
			rc = 0;
		} else if (strcmp(t, "certificate_update") == 0) {
			rc = feed_add_message(f, obj, err, errlen);
		} else {
			snprintf(err, errlen, "message_type \"%.40s\" is not "
			    "certificate_update", t);
		}
		goto out;
	}
	if (json_object_object_get_ex(obj, "leaf_input", NULL) ||
	    json_object_object_get_ex(obj, "entries", NULL)) {
		rc = feed_add_raw(f, obj, err, errlen);
		goto out;
	}
	snprintf(err, errlen, "neither a certstream message nor a CT entry");
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

int
replay_feed_load(struct replay_feed *f, const char *path, replay_bad_fn bad,
    void *arg, char *err, size_t errlen)
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
	while ((n = getline(&line, &cap, fp)) != -1) {
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
	if (rc == -1)
		replay_feed_free(f);
	return rc;
}

void
replay_feed_free(struct replay_feed *f)
{
	free(f->buf);
	free(f->recs);
	memset(f, 0, sizeof(*f));
}

int
replay_feed_check(const char *path, char *err, size_t errlen)
{
	struct replay_feed f;

	if (replay_feed_load(&f, path, NULL, NULL, err, errlen) == -1)
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

/* ---- the timer that publishes ---- */

struct replay {
	struct event_base *base;
	struct event *ev;
	struct shm_seg *seg;
	struct ring_writer *w;
	struct replay_feed feed;
	double rate;
	int loop;
	int done;
	int warned_big;
	size_t next;                /* next record of the feed */
	uint64_t published;
	struct timespec t0;         /* rate clock origin (monotonic) */
	uint64_t sent_since_t0;
};

static double
elapsed_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static int64_t
realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Publish up to max records; returns how many went out. */
static uint64_t
replay_publish_some(struct replay *r, uint64_t max)
{
	struct ring_rec rr;
	uint64_t sent = 0;

	/* Bounded by attempts, not successes: a feed of records too large for
	 * the ring must not spin. */
	for (uint64_t tries = 0; tries < max && !r->done; tries++) {
		int64_t seen = realtime_us();
		struct replay_rec *rec = &r->feed.recs[r->next];

		memset(&rr, 0, sizeof(rr));
		replay_feed_stamp(&r->feed, r->next, seen, rr.json);
		rr.facts.iov_base = r->feed.buf + rec->foff;
		rr.facts.iov_len = rec->flen;
		rr.seen_us = seen;
		rr.log = RING_NO_LOG;
		if (ring_publish_rec(r->w, &rr) == UINT64_MAX) {
			if (!r->warned_big) {
				log_warnx("replay: record %zu (%u bytes) does not fit "
				    "the ring (buffer_bytes): skipped", r->next,
				    rec->len[RV_FULL]);
				r->warned_big = 1;
			}
		} else {
			sent++;
		}
		if (++r->next == r->feed.n) {
			r->next = 0;
			if (!r->loop) {
				r->done = 1;
				log_info("replay: end of feed, %" PRIu64 " records "
				    "published; idle", r->published + sent);
			}
		}
	}
	if (sent > 0) {
		r->published += sent;
		atomic_fetch_add(&r->seg->ingest->records, sent);
		ring_wake(r->w);
	}
	return sent;
}

static void
replay_arm(struct replay *r)
{
	struct timeval tv = { 0, 0 };

	if (r->done)
		return;
	if (r->rate > 0) {
		/* One tick per record at low rates, 1 ms ticks at high ones,
		 * 10 ms at most so the flow stays smooth. */
		double period = 1.0 / r->rate;

		if (period < 0.001)
			period = 0.001;
		if (period > 0.010)
			period = 0.010;
		tv.tv_usec = (suseconds_t)(period * 1e6);
	}
	event_add(r->ev, &tv);
}

static void
replay_tick(evutil_socket_t fd, short what, void *arg)
{
	struct replay *r = arg;
	uint64_t due;

	(void)fd;
	(void)what;
	if (r->rate <= 0) {
		replay_publish_some(r, REPLAY_BATCH);
	} else {
		double should = elapsed_since(&r->t0) * r->rate;

		due = should > (double)r->sent_since_t0 ?
		    (uint64_t)should - r->sent_since_t0 : 0;
		if (due > REPLAY_MAX_DUE) {
			/* Behind (stopped, or the rate is beyond us): forget
			 * the debt rather than burst it. */
			r->sent_since_t0 += due - REPLAY_MAX_DUE;
			due = REPLAY_MAX_DUE;
		}
		replay_publish_some(r, due);
		r->sent_since_t0 += due;
	}
	replay_arm(r);
}

struct bad_ctx {
	const char *path;
	struct shm_seg *seg;
};

/* Each bad line is logged once, here, and counted for /metrics. */
static void
replay_bad_line(void *arg, unsigned long line, const char *why)
{
	struct bad_ctx *b = arg;

	log_warnx("replay: %s:%lu: %s: line skipped", b->path, line, why);
	atomic_fetch_add(&b->seg->ingest->parse_failures, 1);
}

/*
 * A replaced ingest (the old one crashed or was killed) continues the feed
 * after the last record the ring holds, so clients see the feed go on
 * rather than start over. The record is found by its domains form, which
 * is byte for byte the feed's apart from the seen digits. Returns the index
 * of the record after it (n: the feed had ended), or 0 if none matches.
 */
static size_t
replay_resume_point(const struct replay *r)
{
	const struct replay_feed *f = &r->feed;
	uint64_t head = ring_head(r->seg);
	size_t max = 0, at = 0;
	char *buf;
	long n;

	if (head == 0)
		return 0;
	for (size_t i = 0; i < f->n; i++)
		if (f->recs[i].len[RV_DOMAINS] > max)
			max = f->recs[i].len[RV_DOMAINS];
	if ((buf = malloc(max + 33)) == NULL)
		return 0;
	n = ring_copy(r->seg, head - 1, RV_DOMAINS, buf, max + 33);
	if (n > 0) {
		/* Compare the text as it was published, without its id. */
		size_t k = ring_id_len(buf, (size_t)n);

		if (k > 0) {
			memmove(buf + 1, buf + k + 1, (size_t)n - k - 1);
			n -= (long)k;
			buf[n] = '\0';
		}
	}
	for (size_t i = 0; n > 0 && i < f->n; i++) {
		const struct replay_rec *rec = &f->recs[i];
		const char *p = f->buf + rec->off[RV_DOMAINS];
		size_t sa = rec->seen_at[RV_DOMAINS], tail = sa + REPLAY_SEEN_LEN;

		if (rec->len[RV_DOMAINS] == (size_t)n && memcmp(p, buf, sa) == 0 &&
		    memcmp(p + tail, buf + tail, (size_t)n - tail) == 0) {
			at = i + 1;
			break;
		}
	}
	free(buf);
	return at;
}

struct replay *
replay_start(struct event_base *base, const struct config *cfg,
    struct shm_seg *seg, struct ring_writer *w)
{
	struct replay *r;
	struct bad_ctx bc = { cfg->replay.file, seg };
	char err[512];

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	r->base = base;
	r->seg = seg;
	r->w = w;
	if (replay_feed_load(&r->feed, cfg->replay.file, replay_bad_line, &bc, err,
	    sizeof(err)) == -1) {
		log_error("replay: %s", err);
		goto fail;
	}
	if ((r->ev = event_new(base, -1, 0, replay_tick, r)) == NULL) {
		log_warnx("%s: event_new", __func__);
		goto fail;
	}
	log_info("replay: %s: %zu records (%" PRIu64 " lines, %" PRIu64
	    " bad), rate %g/s%s", cfg->replay.file, r->feed.n, r->feed.lines,
	    r->feed.bad, cfg->replay.rate, cfg->replay.loop ? ", looping" : "");
	if ((r->next = replay_resume_point(r)) != 0) {
		log_info("replay: resuming after record %zu of the feed", r->next);
		if (r->next == r->feed.n) {
			r->next = 0;
			/* a feed played to its end is not played again */
			r->done = !cfg->replay.loop;
		}
	}
	replay_reconfigure(r, cfg->replay.rate, cfg->replay.loop);
	return r;
fail:
	replay_stop(r);
	return NULL;
}

void
replay_reconfigure(struct replay *r, double rate, int loop)
{
	r->rate = rate > 0 ? rate : 0;
	r->loop = loop;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->sent_since_t0 = 0;
	if (r->done && loop)
		r->done = 0;    /* looping again: resume from the start */
	event_del(r->ev);
	replay_arm(r);
}

uint64_t
replay_published(const struct replay *r)
{
	return r->published;
}

int
replay_done(const struct replay *r)
{
	return r->done;
}

void
replay_stop(struct replay *r)
{
	if (r == NULL)
		return;
	if (r->ev)
		event_free(r->ev);
	replay_feed_free(&r->feed);
	free(r);
}
