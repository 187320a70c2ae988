/*
 * /latest.json and /example.json: the newest records of the ring (or the
 * bundled example before the first one), through the streams' filters.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "broadcast/endpoints_priv.h"
#include "shm/ring.h"

#define EP_LATEST_MAX 25

/* A copy of variant v of seq, NUL-terminated, in *buf (grown as needed).
 * Returns its length, or -1 if the record is gone. */
static long
ep_copy(const struct shm_seg *seg, uint64_t seq, enum ring_variant v,
    char **buf, size_t *cap)
{
	struct iovec iov;
	long n;

	if (ring_peek(seg, seq, v, 0, &iov, NULL) == -1)
		return -1;
	if (iov.iov_len + 1 > *cap) {
		char *nb = realloc(*buf, iov.iov_len + 1);

		if (nb == NULL)
			return -1;
		*buf = nb;
		*cap = iov.iov_len + 1;
	}
	n = ring_copy(seg, seq, v, *buf, *cap);
	return n < 0 ? -1 : n;
}

int
ep_example(struct wctx *w, struct filter_sel *f, struct evbuffer *out,
    int head_only)
{
	const struct shm_seg *seg = w->seg;
	uint64_t head = ring_head(seg), tail = ring_tail(seg), seq;
	json_object *o = NULL;
	const char *s;
	char *buf = NULL;
	size_t cap = 0;
	int rc = -1, tries = 0;

	/* The newest record (wanted by the filter); if it is being
	 * overwritten, the one before. */
	for (seq = head; seq > tail && tries < 4 && o == NULL; seq--) {
		int want = filter_sel_wants(f, seg, seq - 1);

		if (ring_flags(seg, seq - 1) > 0 &&
		    (ring_flags(seg, seq - 1) & RING_F_NOTICE))
			continue;       /* not a certificate */
		if (want == 0)
			continue;
		tries++;
		if (want == 1 && ep_copy(seg, seq - 1, RV_LITE, &buf, &cap) >= 0)
			o = json_tokener_parse(buf);
	}
	if (o == NULL && f->g != NULL) {
		rc = endpoints_error(out, 404, "no record in the ring matches "
		    "the filter", NULL, head_only);
		goto cleanup;
	}
	if (o == NULL)
		o = json_tokener_parse(endpoints_example_json);
	if (o == NULL) {
		rc = endpoints_error(out, 500, "no example available", NULL,
		    head_only);
		goto cleanup;
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL)
		goto cleanup;
	rc = ep_send(out, 200, "application/json", s, strlen(s), NULL,
	    head_only);
cleanup:
	json_object_put(o);
	free(buf);
	return rc;
}

int
ep_latest(struct wctx *w, struct filter_sel *f, struct evbuffer *out,
    int head_only)
{
	const struct shm_seg *seg = w->seg;
	uint64_t head = ring_head(seg), tail = ring_tail(seg), seq;
	struct evbuffer *body = evbuffer_new();
	char *buf = NULL;
	size_t cap = 0;
	int n = 0, rc = -1;

	if (body == NULL || evbuffer_add(body, "{\"messages\":[", 13) == -1)
		goto cleanup;
	for (seq = head; seq > tail && n < EP_LATEST_MAX; seq--) {
		int want, notice = ring_flags(seg, seq - 1);
		long len;

		if (notice > 0 && (notice & RING_F_NOTICE))
			continue;       /* not a certificate */
		want = filter_sel_wants(f, seg, seq - 1);
		len = want == 1 ? ep_copy(seg, seq - 1, RV_LITE, &buf, &cap) : 0;
		if (want == 0)
			continue;
		if (want == -1 || len < 0)
			break;  /* older ones are gone too */
		if ((n > 0 && evbuffer_add(body, ",", 1) == -1) ||
		    evbuffer_add(body, buf, (size_t)len) == -1)
			goto cleanup;
		n++;
	}
	if (evbuffer_add(body, "]}\n", 3) == -1)
		goto cleanup;
	rc = ep_send_buf(out, 200, "application/json", body, NULL, head_only);
cleanup:
	free(buf);
	if (body != NULL)
		evbuffer_free(body);
	return rc;
}

/* Both take the streams' filters. */
int
ep_latest_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only)
{
	struct filter_sel f;
	int h;

	if ((h = filter_sel_open(&f, NULL, w->cfg, &req->query, out)) != 0)
		return h;
	h = ep_latest(w, &f, out, head_only);
	filter_sel_close(&f);
	return h;
}

int
ep_example_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only)
{
	struct filter_sel f;
	int h;

	if ((h = filter_sel_open(&f, NULL, w->cfg, &req->query, out)) != 0)
		return h;
	h = ep_example(w, &f, out, head_only);
	filter_sel_close(&f);
	return h;
}
