/*
 * Plain HTTP answers of a worker. Everything here reads the shared segment
 * (ring, stats written by other processes) and builds one response; nothing
 * here is on the streaming path.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "broadcast/endpoints.h"
#include "broadcast/static.h"
#include "broadcast/filter_sel.h"
#include "common/proc.h"
#include "shm/heads.h"
#include "shm/ring.h"

#define EP_LATEST_MAX 25

static const char *
ep_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* Status line, headers, then body[0..len) unless head_only. */
static int
ep_send(struct evbuffer *out, int status, const char *ctype,
    const void *body, size_t len, const char *extra, int head_only)
{
	if (evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Access-Control-Allow-Origin: *\r\n"
	    "Connection: close\r\n%s\r\n", status, ep_reason(status), ctype,
	    len, extra != NULL ? extra : "") < 0)
		return -1;
	if (!head_only && len > 0 && evbuffer_add(out, body, len) == -1)
		return -1;
	return status;
}

/* Move body into out behind a head. */
static int
ep_send_buf(struct evbuffer *out, int status, const char *ctype,
    struct evbuffer *body, const char *extra, int head_only)
{
	size_t len = evbuffer_get_length(body);

	if (evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Access-Control-Allow-Origin: *\r\n"
	    "Connection: close\r\n%s\r\n", status, ep_reason(status), ctype,
	    len, extra != NULL ? extra : "") < 0)
		return -1;
	if (!head_only && evbuffer_add_buffer(out, body) == -1)
		return -1;
	return status;
}

int
endpoints_error(struct evbuffer *out, int status, const char *msg,
    const char *extra, int head_only)
{
	json_object *o = json_object_new_object();
	const char *s;
	char *body = NULL;
	int rc = -1;

	if (o == NULL || json_object_object_add(o, "error",
	    json_object_new_string(msg)) != 0)
		goto cleanup;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (s == NULL || asprintf(&body, "%s\n", s) == -1) {
		body = NULL;
		goto cleanup;
	}
	rc = ep_send(out, status, "application/json", body, strlen(body),
	    extra, head_only);
cleanup:
	free(body);
	json_object_put(o);
	return rc;
}

/* Is process pid running? (0: unknown.) */
static int
ep_pid_alive(uint32_t pid)
{
	if (pid == 0)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static int
ep_ingest_alive(const struct shm_seg *seg)
{
	return atomic_load(&seg->ingest->alive) &&
	    ep_pid_alive(atomic_load(&seg->ingest->pid));
}

static int
ep_worker_alive(const struct shm_seg *seg, uint32_t i)
{
	return atomic_load(&seg->workers[i].alive) &&
	    ep_pid_alive(atomic_load(&seg->workers[i].pid));
}

static uint32_t
ep_nworkers(const struct shm_seg *seg)
{
	uint32_t n = seg->hdr->nworkers;

	return n > SHM_MAX_WORKERS ? SHM_MAX_WORKERS : n;
}

/* Has no watched log succeeded for longer than max_log_silence_secs? (No
 * logs at all, as with the replay source: not silent.) */
static int
ep_logs_silent(const struct wctx *w)
{
	const struct shm_seg *seg = w->seg;
	int64_t newest = 0, now = (int64_t)time(NULL);
	int limit = w->cfg->server.max_log_silence_secs, any = 0;
	uint32_t i;

	if (limit <= 0)
		return 0;
	for (i = 0; i < SHM_MAX_LOGS; i++) {
		const struct shm_log_status *l = &seg->logs[i];
		int64_t t;

		if (!atomic_load(&l->in_use))
			continue;
		any = 1;
		t = atomic_load(&l->last_success_unix);
		if (t > newest)
			newest = t;
	}
	if (!any)
		return 0;
	/* Before any success, count from the daemon's start. */
	if (newest == 0)
		newest = seg->hdr->created_unix;
	return now - newest > limit;
}

/* 2 healthy, 1 degraded, 0 unhealthy. */
static int
ep_health(const struct wctx *w)
{
	const struct shm_seg *seg = w->seg;
	uint32_t i, n = ep_nworkers(seg), up = 0;
	int degraded = 0;

	for (i = 0; i < n; i++)
		up += ep_worker_alive(seg, i) ? 1u : 0u;
	if (!ep_ingest_alive(seg) || up == 0 || ep_logs_silent(w))
		return 0;
	if (seg->hdr->master_pid != 0 && !ep_pid_alive(seg->hdr->master_pid))
		return 0;
	if (up < n || atomic_load(&seg->ingest->nats) == SHM_NATS_DOWN)
		degraded = 1;
	for (i = 0; i < SHM_MAX_LOGS; i++) {
		const struct shm_log_status *l = &seg->logs[i];

		if (atomic_load(&l->in_use) && atomic_load(&l->state) == 2)
			degraded = 1;
	}
	return degraded ? 1 : 2;
}

/* One log's ingest delay histogram, read once: per-bucket counts (the
 * segment keeps them so), their total, the sum and the last delay. */
struct ep_delay {
	uint64_t bucket[SHM_DELAY_BUCKETS], total, sum_ms, last_ms;
};

static void
ep_delay_read(const struct shm_log_status *l, struct ep_delay *d)
{
	int k;

	d->total = 0;
	for (k = 0; k < SHM_DELAY_BUCKETS; k++) {
		d->bucket[k] = atomic_load(&l->delay_bucket[k]);
		d->total += d->bucket[k];
	}
	d->sum_ms = atomic_load(&l->delay_sum_ms);
	d->last_ms = atomic_load(&l->delay_last_ms);
}

/* The q-quantile in ms, estimated from the buckets as Prometheus's
 * histogram_quantile does: linear within the bucket it falls in, and the
 * highest finite bound when it falls in +Inf (a lower bound then). */
static uint64_t
ep_delay_quantile(const struct ep_delay *d, double q)
{
	double rank = q * (double)d->total, cum = 0, lo = 0, hi;
	int k;

	for (k = 0; k < SHM_DELAY_BUCKETS - 1; k++) {
		hi = (double)shm_delay_bounds_s[k] * 1000.0;
		if (d->bucket[k] > 0 && cum + (double)d->bucket[k] >= rank)
			return (uint64_t)(lo + (hi - lo) * (rank - cum) /
			    (double)d->bucket[k]);
		cum += (double)d->bucket[k];
		lo = hi;
	}
	return (uint64_t)lo;
}

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

static int
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

static int
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

static const char *const ep_stream_names[RV_COUNT] = { "lite", "full", "domains" };
static const char *const ep_proto_names[SP_COUNT] = { "websocket", "sse" };
static const char *const ep_log_states[] = { "ok", "lagging", "failing", "stopped" };

static const char *
ep_log_state(uint32_t s)
{
	return s < sizeof(ep_log_states) / sizeof(ep_log_states[0]) ?
	    ep_log_states[s] : "unknown";
}

/* A NUL-terminated copy of a fixed char field another process writes. */
static void
ep_field(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n - 1] = '\0';
}

#define JADD(o, k, v) json_object_object_add((o), (k), (v))

/* The ingest's NATS side: /health/deep's ingest.nats. */
static json_object *
ep_nats_json(const struct shm_ingest_stats *in)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	JADD(o, "connected", json_object_new_boolean(
	    atomic_load(&in->nats) == SHM_NATS_UP));
	JADD(o, "acked", json_object_new_int64((int64_t)
	    atomic_load(&in->nats_acked)));
	JADD(o, "pending", json_object_new_int64((int64_t)
	    atomic_load(&in->nats_pending)));
	JADD(o, "received", json_object_new_int64((int64_t)
	    atomic_load(&in->nats_received)));
	JADD(o, "skipped", json_object_new_int64((int64_t)
	    atomic_load(&in->nats_skipped)));
	JADD(o, "seq", json_object_new_int64((int64_t)
	    atomic_load(&in->nats_seq)));
	return o;
}

static int
ep_health_deep(struct wctx *w, struct evbuffer *out, int head_only)
{
	const struct shm_seg *seg = w->seg;
	static const char *const names[] = { "unhealthy", "degraded", "healthy" };
	json_object *root, *conns, *workers, *ing, *ring, *logs, *o;
	uint64_t sum[RV_COUNT][SP_COUNT], total = 0, head, tail;
	uint32_t i, n = ep_nworkers(seg);
	const char *s;
	int health, st, p, rc = -1;

	memset(sum, 0, sizeof(sum));
	health = ep_health(w);
	root = json_object_new_object();
	conns = json_object_new_object();
	workers = json_object_new_array();
	ing = json_object_new_object();
	ring = json_object_new_object();
	logs = json_object_new_array();
	if (root == NULL || conns == NULL || workers == NULL || ing == NULL ||
	    ring == NULL || logs == NULL) {
		json_object_put(conns);
		json_object_put(workers);
		json_object_put(ing);
		json_object_put(ring);
		json_object_put(logs);
		goto cleanup;
	}
	JADD(root, "status", json_object_new_string(names[health]));
	JADD(root, "uptime_secs", json_object_new_int64(
	    (int64_t)time(NULL) - seg->hdr->created_unix));
	JADD(root, "version", json_object_new_string(CERTSTREAM_VERSION));

	for (i = 0; i < n; i++) {
		const struct shm_worker_stats *ws = &seg->workers[i];

		for (st = 0; st < RV_COUNT; st++)
			for (p = 0; p < SP_COUNT; p++)
				sum[st][p] += atomic_load(&ws->conns[st][p]);
		o = json_object_new_object();
		if (o == NULL)
			continue;
		JADD(o, "id", json_object_new_int((int)i));
		JADD(o, "pid", json_object_new_int64(atomic_load(&ws->pid)));
		JADD(o, "clients", json_object_new_int64(
		    atomic_load(&ws->clients)));
		JADD(o, "alive", json_object_new_boolean(ep_worker_alive(seg, i)));
		JADD(o, "restarts", json_object_new_int64(
		    atomic_load(&ws->restarts)));
		JADD(o, "messages_sent", json_object_new_int64((int64_t)
		    atomic_load(&ws->messages_sent)));
		json_object_array_add(workers, o);
	}
	for (p = 0; p < SP_COUNT; p++) {
		o = json_object_new_object();
		if (o == NULL)
			continue;
		for (st = 0; st < RV_COUNT; st++) {
			JADD(o, ep_stream_names[st],
			    json_object_new_int64((int64_t)sum[st][p]));
			total += sum[st][p];
		}
		JADD(conns, ep_proto_names[p], o);
	}
	JADD(conns, "total", json_object_new_int64((int64_t)total));
	JADD(root, "connections", conns);
	JADD(root, "workers", workers);

	JADD(ing, "alive", json_object_new_boolean(ep_ingest_alive(seg)));
	JADD(ing, "pid", json_object_new_int64(atomic_load(&seg->ingest->pid)));
	JADD(ing, "certificates_per_second", json_object_new_double(
	    w->ingest_rate));
	JADD(ing, "records", json_object_new_int64((int64_t)
	    atomic_load(&seg->ingest->records)));
	JADD(ing, "parse_failures", json_object_new_int64((int64_t)
	    atomic_load(&seg->ingest->parse_failures)));
	JADD(ing, "duplicates", json_object_new_int64((int64_t)
	    atomic_load(&seg->ingest->duplicates)));
	if (atomic_load(&seg->ingest->nats) != SHM_NATS_OFF)
		JADD(ing, "nats", ep_nats_json(seg->ingest));
	JADD(root, "ingest", ing);

	head = ring_head(seg);
	tail = ring_tail(seg);
	JADD(ring, "capacity", json_object_new_int64((int64_t)seg->hdr->nslots));
	JADD(ring, "head", json_object_new_int64((int64_t)head));
	JADD(ring, "oldest", json_object_new_int64((int64_t)tail));
	JADD(ring, "records", json_object_new_int64((int64_t)(head - tail)));
	JADD(ring, "bytes", json_object_new_int64((int64_t)seg->data_size));
	JADD(root, "ring", ring);

	for (i = 0; i < SHM_MAX_LOGS; i++) {
		const struct shm_log_status *l = &seg->logs[i];
		char name[SHM_LOG_NAME_MAX], url[SHM_LOG_URL_MAX];
		char err[SHM_LOG_ERR_MAX];
		uint64_t size, next;
		int64_t ok;

		if (!atomic_load(&l->in_use))
			continue;
		o = json_object_new_object();
		if (o == NULL)
			continue;
		ep_field(name, l->name, sizeof(name));
		ep_field(url, l->url, sizeof(url));
		ep_field(err, l->last_error, sizeof(err));
		size = atomic_load(&l->tree_size);
		next = atomic_load(&l->next_index);
		ok = atomic_load(&l->last_success_unix);
		JADD(o, "name", json_object_new_string(name));
		JADD(o, "url", json_object_new_string(url));
		JADD(o, "type", json_object_new_string(l->type == 1 ? "static" :
		    "rfc6962"));
		JADD(o, "state", json_object_new_string(
		    ep_log_state(atomic_load(&l->state))));
		JADD(o, "tree_size", json_object_new_int64((int64_t)size));
		JADD(o, "next_index", json_object_new_int64((int64_t)next));
		/* the head proven (signature and consistency), which may
		 * trail tree_size, the newest one whose signature verified */
		{
			uint64_t vsize;
			uint8_t vroot[HEADS_HASH_LEN];

			JADD(o, "verified_size", heads_get(l, &vsize, vroot) ==
			    0 ? json_object_new_int64((int64_t)vsize) : NULL);
		}
		JADD(o, "lag_entries", json_object_new_int64(size > next ?
		    (int64_t)(size - next) : 0));
		JADD(o, "last_success", ok > 0 ? json_object_new_int64(ok) : NULL);
		JADD(o, "last_error", err[0] != '\0' ?
		    json_object_new_string(err) : NULL);
		JADD(o, "errors", json_object_new_int64((int64_t)
		    atomic_load(&l->errors)));
		JADD(o, "skipped_entries", json_object_new_int64((int64_t)
		    atomic_load(&l->skipped_entries)));
		{
			struct ep_delay d;
			json_object *dj = json_object_new_object();

			ep_delay_read(l, &d);
			if (dj != NULL && d.total > 0) {
				JADD(dj, "count", json_object_new_int64(
				    (int64_t)d.total));
				JADD(dj, "last", json_object_new_int64(
				    (int64_t)d.last_ms));
				JADD(dj, "mean", json_object_new_int64(
				    (int64_t)(d.sum_ms / d.total)));
				JADD(dj, "p50", json_object_new_int64(
				    (int64_t)ep_delay_quantile(&d, 0.5)));
				JADD(dj, "p99", json_object_new_int64(
				    (int64_t)ep_delay_quantile(&d, 0.99)));
			} else if (dj != NULL) {
				JADD(dj, "count", json_object_new_int64(0));
				JADD(dj, "last", NULL);
				JADD(dj, "mean", NULL);
				JADD(dj, "p50", NULL);
				JADD(dj, "p99", NULL);
			}
			JADD(o, "ingest_delay_ms", dj);
		}
		json_object_array_add(logs, o);
	}
	JADD(root, "logs", logs);

	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL)
		goto cleanup;
	rc = ep_send(out, health > 0 ? 200 : 503, "application/json", s,
	    strlen(s), NULL, head_only);
cleanup:
	json_object_put(root);
	return rc;
}

/* Prometheus label value: \ " and newline escaped. */
static void
ep_label(char *dst, size_t dstlen, const char *src)
{
	size_t j = 0;

	for (; *src != '\0' && j + 3 < dstlen; src++) {
		if (*src == '\\' || *src == '"') {
			dst[j++] = '\\';
			dst[j++] = *src;
		} else if (*src == '\n') {
			dst[j++] = '\\';
			dst[j++] = 'n';
		} else {
			dst[j++] = *src;
		}
	}
	dst[j] = '\0';
}

static int
ep_metric(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	return evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n",
	    name, help, name, type, name, (unsigned long long)v) < 0 ? -1 : 0;
}

static int
ep_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	return evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name,
	    help, name, type) < 0 ? -1 : 0;
}

struct ep_sums {
	uint64_t accepted, messages, bytes, lapped, skipped, torn, requests;
	uint64_t errors, auth, limits, heartbeats, clients, alive, restarts;
	uint64_t lat[SHM_LAT_BUCKETS], lat_sum_us, lat_count;
	uint64_t conns[RV_COUNT][SP_COUNT];
	uint64_t smsgs[RV_COUNT][SP_COUNT], sbytes[RV_COUNT][SP_COUNT];
	uint64_t zbytes[RV_COUNT][SP_COUNT], zplain[RV_COUNT][SP_COUNT];
};

static void
ep_sum(const struct shm_seg *seg, struct ep_sums *s)
{
	uint32_t i, n = ep_nworkers(seg);
	int k, p;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++) {
		const struct shm_worker_stats *ws = &seg->workers[i];

		s->accepted += atomic_load(&ws->accepted);
		s->messages += atomic_load(&ws->messages_sent);
		s->bytes += atomic_load(&ws->bytes_sent);
		s->lapped += atomic_load(&ws->lapped);
		s->skipped += atomic_load(&ws->skipped);
		s->torn += atomic_load(&ws->torn_closed);
		s->requests += atomic_load(&ws->http_requests);
		s->errors += atomic_load(&ws->http_errors);
		s->auth += atomic_load(&ws->auth_failures);
		s->limits += atomic_load(&ws->limit_rejects);
		s->heartbeats += atomic_load(&ws->heartbeats);
		s->clients += atomic_load(&ws->clients);
		s->restarts += atomic_load(&ws->restarts);
		s->alive += ep_worker_alive(seg, i) ? 1u : 0u;
		for (k = 0; k < SHM_LAT_BUCKETS; k++)
			s->lat[k] += atomic_load(&ws->lat_bucket[k]);
		s->lat_sum_us += atomic_load(&ws->lat_sum_us);
		s->lat_count += atomic_load(&ws->lat_count);
		for (k = 0; k < RV_COUNT; k++)
			for (p = 0; p < SP_COUNT; p++) {
				s->conns[k][p] += atomic_load(&ws->conns[k][p]);
				s->smsgs[k][p] +=
				    atomic_load(&ws->stream_msgs[k][p]);
				s->sbytes[k][p] +=
				    atomic_load(&ws->stream_bytes[k][p]);
				s->zbytes[k][p] +=
				    atomic_load(&ws->stream_zbytes[k][p]);
				s->zplain[k][p] +=
				    atomic_load(&ws->stream_zplain[k][p]);
			}
	}
}

/* One family labelled by stream and protocol. */
static int
ep_by_stream(struct evbuffer *b, const char *name, const char *type,
    const char *help, const uint64_t v[RV_COUNT][SP_COUNT])
{
	int k, p, r = ep_family(b, name, type, help);

	for (k = 0; k < RV_COUNT; k++)
		for (p = 0; p < SP_COUNT; p++)
			r |= evbuffer_add_printf(b, "%s{stream=\"%s\","
			    "protocol=\"%s\"} %llu\n", name, ep_stream_names[k],
			    ep_proto_names[p], (unsigned long long)v[k][p]) < 0;
	return r ? -1 : 0;
}

/* One family labelled by worker. */
static int
ep_per_worker(struct evbuffer *b, const char *name, const char *type,
    const char *help, const uint64_t *v, uint32_t n)
{
	int r = ep_family(b, name, type, help);
	uint32_t i;

	for (i = 0; i < n; i++)
		r |= evbuffer_add_printf(b, "%s{worker=\"%u\"} %llu\n", name, i,
		    (unsigned long long)v[i]) < 0;
	return r ? -1 : 0;
}

static int
ep_metrics_workers(const struct shm_seg *seg, struct evbuffer *b)
{
	struct ep_sums s;
	uint64_t cum = 0, per[SHM_MAX_WORKERS] = { 0 };
	uint32_t i, n = ep_nworkers(seg);
	int k, r = 0;

	ep_sum(seg, &s);
	r |= ep_metric(b, "certstream_messages_sent_total", "counter",
	    "Certificate messages written to clients.", s.messages);
	r |= ep_metric(b, "certstream_bytes_sent_total", "counter",
	    "Bytes written to clients.", s.bytes);
	r |= ep_metric(b, "certstream_connections_accepted_total", "counter",
	    "Client connections accepted.", s.accepted);
	r |= ep_metric(b, "certstream_clients_lapped_total", "counter",
	    "Times a slow client was lapped by the ring and skipped forward.",
	    s.lapped);
	r |= ep_metric(b, "certstream_messages_skipped_total", "counter",
	    "Records lapped clients skipped (lost to them).", s.skipped);
	r |= ep_metric(b, "certstream_torn_closed_total", "counter",
	    "Clients closed because their record was reused mid-write.", s.torn);
	r |= ep_metric(b, "certstream_http_requests_total", "counter",
	    "HTTP requests answered (streams included).", s.requests);
	r |= ep_metric(b, "certstream_http_errors_total", "counter",
	    "HTTP requests answered with 4xx or 5xx.", s.errors);
	r |= ep_metric(b, "certstream_auth_failures_total", "counter",
	    "Requests refused for a missing or wrong token.", s.auth);
	r |= ep_metric(b, "certstream_connection_limit_rejects_total",
	    "counter", "Connections refused by the connection limits.",
	    s.limits);
	r |= ep_metric(b, "certstream_heartbeats_total", "counter",
	    "Heartbeats sent to clients.", s.heartbeats);
	r |= ep_metric(b, "certstream_worker_restarts_total", "counter",
	    "Worker processes restarted by the master.", s.restarts);
	r |= ep_metric(b, "certstream_clients", "gauge",
	    "Streaming clients connected now.", s.clients);
	r |= ep_metric(b, "certstream_workers_alive", "gauge",
	    "Worker processes alive.", s.alive);

	r |= ep_by_stream(b, "certstream_connections", "gauge",
	    "Streaming clients by stream and protocol.", s.conns);
	r |= ep_by_stream(b, "certstream_stream_messages_sent_total", "counter",
	    "Certificate messages written to clients, by stream and protocol.",
	    s.smsgs);
	r |= ep_by_stream(b, "certstream_stream_bytes_sent_total", "counter",
	    "Bytes streamed to clients, by stream and protocol.", s.sbytes);
	r |= ep_by_stream(b, "certstream_stream_compressed_bytes_sent_total",
	    "counter", "Of those, compressed (permessage-deflate) frames.",
	    s.zbytes);
	r |= ep_by_stream(b, "certstream_stream_compressed_plain_bytes_total",
	    "counter", "What the compressed frames sent would have been plain.",
	    s.zplain);
	for (i = 0; i < n; i++)
		per[i] = atomic_load(&seg->workers[i].messages_sent);
	r |= ep_per_worker(b, "certstream_worker_messages_sent_total",
	    "counter", "Certificate messages written to clients, per worker.",
	    per, n);
	for (i = 0; i < n; i++)
		per[i] = atomic_load(&seg->workers[i].clients);
	r |= ep_per_worker(b, "certstream_worker_clients", "gauge",
	    "Streaming clients per worker.", per, n);
	for (i = 0; i < n; i++)
		per[i] = atomic_load(&seg->workers[i].rss_bytes);
	r |= ep_per_worker(b, "certstream_worker_rss_bytes", "gauge",
	    "Resident memory of each worker.", per, n);

	r |= ep_family(b, "certstream_delivery_latency_seconds", "histogram",
	    "From the record's seen time to its write to a client.");
	for (k = 0; k < SHM_LAT_BUCKETS - 1; k++) {
		cum += s.lat[k];
		r |= evbuffer_add_printf(b, "certstream_delivery_latency_seconds"
		    "_bucket{le=\"%g\"} %llu\n", (double)(1u << k) / 1000.0,
		    (unsigned long long)cum) < 0;
	}
	cum += s.lat[SHM_LAT_BUCKETS - 1];
	r |= evbuffer_add_printf(b, "certstream_delivery_latency_seconds_bucket"
	    "{le=\"+Inf\"} %llu\n"
	    "certstream_delivery_latency_seconds_sum %.6f\n"
	    "certstream_delivery_latency_seconds_count %llu\n",
	    (unsigned long long)cum, (double)s.lat_sum_us / 1e6,
	    (unsigned long long)s.lat_count) < 0;
	return r ? -1 : 0;
}

static int
ep_metrics_ingest(struct wctx *w, struct evbuffer *b)
{
	const struct shm_seg *seg = w->seg;
	const struct shm_ingest_stats *in = seg->ingest;
	uint64_t rfc = 0, stat = 0;
	int r = 0;
	uint32_t i;

	r |= ep_metric(b, "certstream_ingest_up", "gauge",
	    "1 if the ingest process is alive.", (uint64_t)ep_ingest_alive(seg));
	r |= ep_metric(b, "certstream_records_published_total", "counter",
	    "Records published to the ring by ingest.", atomic_load(&in->records));
	r |= ep_metric(b, "certstream_parse_failures_total", "counter",
	    "Log entries that could not be parsed.",
	    atomic_load(&in->parse_failures));
	r |= ep_metric(b, "certstream_duplicates_filtered_total", "counter",
	    "Duplicate certificates filtered by dedup.",
	    atomic_load(&in->duplicates));
	r |= ep_metric(b, "certstream_dedup_cache_size", "gauge",
	    "Current dedup cache entries.", atomic_load(&in->dedup_cache_size));
	r |= ep_metric(b, "certstream_signature_failures_total", "counter",
	    "Tree heads or checkpoints whose signature did not verify.",
	    atomic_load(&in->sig_failures));
	r |= ep_metric(b, "certstream_ct_http_requests_total", "counter",
	    "HTTP requests made to CT logs.", atomic_load(&in->http_requests));
	r |= ep_metric(b, "certstream_ct_http_errors_total", "counter",
	    "HTTP requests to CT logs that failed.",
	    atomic_load(&in->http_errors));
	r |= ep_metric(b, "certstream_static_ct_tiles_fetched_total", "counter",
	    "Total tiles fetched from static CT logs.",
	    atomic_load(&in->tiles_fetched));
	r |= ep_metric(b, "certstream_issuer_cache_size", "gauge",
	    "Cached issuer certificates.", atomic_load(&in->issuer_cache_size));
	r |= ep_metric(b, "certstream_ingest_rss_bytes", "gauge",
	    "Resident memory of the ingest process.",
	    atomic_load(&in->rss_bytes));
	r |= ep_metric(b, "certstream_ingest_held_bytes", "gauge",
	    "Bytes of CT log answers the ingest holds or is receiving.",
	    atomic_load(&in->held_bytes));
	r |= ep_metric(b, "certstream_ingest_restarts_total", "counter",
	    "Ingest processes restarted by the master.",
	    (uint64_t)atomic_load(&in->restarts));
	r |= ep_metric(b, "certstream_nats_connected", "gauge",
	    "1 when NATS is used and connected.",
	    atomic_load(&in->nats) == SHM_NATS_UP);
	r |= ep_metric(b, "certstream_nats_acked_total", "counter",
	    "Records the JetStream stream acknowledged (ingest node).",
	    atomic_load(&in->nats_acked));
	r |= ep_metric(b, "certstream_nats_pending", "gauge",
	    "Records published to NATS and not acknowledged yet.",
	    atomic_load(&in->nats_pending));
	r |= ep_metric(b, "certstream_nats_received_total", "counter",
	    "Records an edge took from the stream.",
	    atomic_load(&in->nats_received));
	r |= ep_metric(b, "certstream_nats_skipped_total", "counter",
	    "Stream sequence numbers an edge never received (gone from the stream).",
	    atomic_load(&in->nats_skipped));
	r |= ep_metric(b, "certstream_ring_capacity", "gauge",
	    "Records the ring holds.", seg->hdr->nslots);
	r |= ep_metric(b, "certstream_ring_bytes", "gauge",
	    "Bytes of the ring's data area.", seg->data_size);
	r |= ep_metric(b, "certstream_ring_head", "gauge",
	    "Sequence number of the next record.", ring_head(seg));
	r |= ep_metric(b, "certstream_ring_oldest", "gauge",
	    "Sequence number of the oldest record still readable.",
	    ring_tail(seg));
	r |= ep_family(b, "certstream_uptime_seconds", "gauge",
	    "Seconds since the daemon started.");
	r |= evbuffer_add_printf(b, "certstream_uptime_seconds %lld\n",
	    (long long)((int64_t)time(NULL) - seg->hdr->created_unix)) < 0;

	for (i = 0; i < SHM_MAX_LOGS; i++) {
		if (!atomic_load(&seg->logs[i].in_use))
			continue;
		if (seg->logs[i].type == 1)
			stat++;
		else
			rfc++;
	}
	r |= ep_metric(b, "certstream_ct_logs_monitored", "gauge",
	    "Number of RFC 6962 CT logs monitored.", rfc);
	r |= ep_metric(b, "certstream_static_ct_logs_monitored", "gauge",
	    "Number of static CT logs monitored.", stat);
	/* certstream-server-rust calls these certstream_ct_logs_count and
	 * certstream_static_ct_logs_count; promtool refuses a gauge named
	 * _count (histogram suffix), so the names differ here. */
	return r ? -1 : 0;
}

/* Resident bytes of pid (the master's), 0 if unknown or unreadable. */
static uint64_t
ep_rss(uint32_t pid)
{
	uint64_t rss = 0;

	if (pid == 0 || proc_rss((pid_t)pid, &rss) == -1)
		return 0;
	return rss;
}

/* One line per process: master, ingest, each worker. */
static int
ep_metrics_roles(const struct shm_seg *seg, struct evbuffer *b)
{
	static const char *const fam[3][2] = {
		{ "certstream_process_resident_memory_bytes",
		  "Resident memory of each certstreamd process, by role." },
		{ "certstream_process_start_time_seconds",
		  "Unix time each certstreamd process started, by role." },
		{ "certstream_process_uptime_seconds",
		  "Seconds each certstreamd process has run, by role." },
	};
	int64_t now = (int64_t)time(NULL);
	uint32_t i, n = ep_nworkers(seg);
	int f, r = 0;

	for (f = 0; f < 3; f++) {
		int64_t ms = seg->hdr->created_unix;
		int64_t is = atomic_load(&seg->ingest->started_unix);

		r |= ep_family(b, fam[f][0], "gauge", fam[f][1]);
		r |= evbuffer_add_printf(b, "%s{role=\"master\"} %lld\n",
		    fam[f][0], f == 0 ? (long long)ep_rss(seg->hdr->master_pid) :
		    (long long)(f == 1 ? ms : now - ms)) < 0;
		if (ep_ingest_alive(seg))
			r |= evbuffer_add_printf(b,
			    "%s{role=\"ingest\"} %lld\n", fam[f][0], f == 0 ?
			    (long long)atomic_load(&seg->ingest->rss_bytes) :
			    (long long)(f == 1 ? is : now - is)) < 0;
		for (i = 0; i < n; i++) {
			const struct shm_worker_stats *ws = &seg->workers[i];
			int64_t s = atomic_load(&ws->started_unix);

			if (!ep_worker_alive(seg, i))
				continue;
			r |= evbuffer_add_printf(b, "%s{role=\"worker\","
			    "worker=\"%u\"} %lld\n", fam[f][0], i, f == 0 ?
			    (long long)atomic_load(&ws->rss_bytes) :
			    (long long)(f == 1 ? s : now - s)) < 0;
		}
	}
	return r ? -1 : 0;
}

/* Per-log series, labelled by log name. */
static int
ep_metrics_logs(const struct shm_seg *seg, struct evbuffer *b)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "certstream_ct_log_tree_size", "gauge", "Latest tree size." },
		{ "certstream_ct_log_next_index", "gauge", "Next entry to stream." },
		{ "certstream_ct_log_lag_entries", "gauge",
		  "Entries logged but not streamed yet." },
		{ "certstream_ct_log_entries_total", "counter",
		  "Entries streamed from this log." },
		{ "certstream_ct_log_errors_total", "counter",
		  "Fetch or verification errors." },
		{ "certstream_ct_log_signature_failures_total", "counter",
		  "Tree heads or checkpoints whose signature did not verify." },
		{ "certstream_ct_log_last_success_timestamp_seconds", "gauge",
		  "Unix time of the last successful poll." },
		{ "certstream_ct_log_skipped_entries_total", "counter",
		  "Entries passed, never streamed: the log was more than "
		  "ct_log.max_catchup_lag behind." },
		{ "certstream_ct_log_up", "gauge",
		  "1 when the log's state is ok or lagging." },
	};
	size_t f;
	uint32_t i;

	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		if (ep_family(b, fam[f].name, fam[f].type, fam[f].help) == -1)
			return -1;
		for (i = 0; i < SHM_MAX_LOGS; i++) {
			const struct shm_log_status *l = &seg->logs[i];
			char name[SHM_LOG_NAME_MAX], label[2 * SHM_LOG_NAME_MAX];
			uint64_t size, next, v = 0;
			uint32_t state;

			if (!atomic_load(&l->in_use))
				continue;
			ep_field(name, l->name, sizeof(name));
			ep_label(label, sizeof(label), name);
			size = atomic_load(&l->tree_size);
			next = atomic_load(&l->next_index);
			state = atomic_load(&l->state);
			switch (f) {
			case 0: v = size; break;
			case 1: v = next; break;
			case 2: v = size > next ? size - next : 0; break;
			case 3: v = atomic_load(&l->entries); break;
			case 4: v = atomic_load(&l->errors); break;
			case 5: v = atomic_load(&l->sig_failures); break;
			case 6: v = (uint64_t)atomic_load(&l->last_success_unix);
				break;
			case 7: v = atomic_load(&l->skipped_entries); break;
			default: v = state <= 1; break;
			}
			if (evbuffer_add_printf(b, "%s{log=\"%s\"} %llu\n",
			    fam[f].name, label, (unsigned long long)v) < 0)
				return -1;
		}
	}
	/* The state in words and why, one series per log (the reason is the
	 * last error: it changes seldom, and an alert wants to show it). */
	if (ep_family(b, "certstream_ct_log_state", "gauge",
	    "1, labelled with the log's state and its last error.") == -1)
		return -1;
	for (i = 0; i < SHM_MAX_LOGS; i++) {
		const struct shm_log_status *l = &seg->logs[i];
		char name[SHM_LOG_NAME_MAX], label[2 * SHM_LOG_NAME_MAX];
		char err[SHM_LOG_ERR_MAX], reason[2 * SHM_LOG_ERR_MAX];

		if (!atomic_load(&l->in_use))
			continue;
		ep_field(name, l->name, sizeof(name));
		ep_label(label, sizeof(label), name);
		ep_field(err, l->last_error, sizeof(err));
		ep_label(reason, sizeof(reason), err);
		if (evbuffer_add_printf(b, "certstream_ct_log_state{log=\"%s\","
		    "state=\"%s\",reason=\"%s\"} 1\n", label,
		    ep_log_state(atomic_load(&l->state)), reason) < 0)
			return -1;
	}
	/* _count is the buckets' total, so it equals the +Inf bucket. */
	if (ep_family(b, "certstream_ct_log_ingest_delay_seconds", "histogram",
	    "From an entry's CT timestamp to its publication, per log.") == -1)
		return -1;
	for (i = 0; i < SHM_MAX_LOGS; i++) {
		const struct shm_log_status *l = &seg->logs[i];
		char name[SHM_LOG_NAME_MAX], label[2 * SHM_LOG_NAME_MAX];
		struct ep_delay d;
		uint64_t cum = 0;
		int k;

		if (!atomic_load(&l->in_use))
			continue;
		ep_field(name, l->name, sizeof(name));
		ep_label(label, sizeof(label), name);
		ep_delay_read(l, &d);
		for (k = 0; k < SHM_DELAY_BUCKETS - 1; k++) {
			cum += d.bucket[k];
			if (evbuffer_add_printf(b, "certstream_ct_log_ingest_delay"
			    "_seconds_bucket{log=\"%s\",le=\"%u\"} %llu\n", label,
			    shm_delay_bounds_s[k], (unsigned long long)cum) < 0)
				return -1;
		}
		if (evbuffer_add_printf(b, "certstream_ct_log_ingest_delay_seconds"
		    "_bucket{log=\"%s\",le=\"+Inf\"} %llu\n"
		    "certstream_ct_log_ingest_delay_seconds_sum{log=\"%s\"} %.3f\n"
		    "certstream_ct_log_ingest_delay_seconds_count{log=\"%s\"} "
		    "%llu\n", label, (unsigned long long)d.total, label,
		    (double)d.sum_ms / 1000.0, label,
		    (unsigned long long)d.total) < 0)
			return -1;
	}
	return 0;
}

static int
ep_metrics(struct wctx *w, struct evbuffer *out, int head_only)
{
	struct evbuffer *b = evbuffer_new();
	int rc = -1;

	if (b == NULL)
		return -1;
	if (ep_metrics_workers(w->seg, b) == -1 ||
	    ep_metrics_ingest(w, b) == -1 || ep_metrics_logs(w->seg, b) == -1 ||
	    ep_metrics_roles(w->seg, b) == -1 ||
	    ep_family(b, "certstream_build_info", "gauge",
	    "Version of the running daemon.") == -1 ||
	    evbuffer_add_printf(b, "certstream_build_info{version=\"%s\"} 1\n",
	    CERTSTREAM_VERSION) < 0)
		goto cleanup;
	rc = ep_send_buf(out, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b, NULL, head_only);
cleanup:
	evbuffer_free(b);
	return rc;
}

static int
ep_is(const struct http_str *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->p, lit, n) == 0;
}

int
endpoints_respond(struct wctx *w, const struct http_request *req,
    const char *path, struct evbuffer *out)
{
	const struct config *cfg = w->cfg;
	int get = ep_is(&req->method, "GET"), head = ep_is(&req->method, "HEAD");
	const struct static_file *page = static_find(path);
	struct filter_sel f;
	int known, h;

	known = page != NULL ||
	    ((strcmp(path, "/full-stream") == 0 ||
	    strcmp(path, "/domains-only") == 0) && cfg->protocols.websocket) ||
	    (strcmp(path, "/sse") == 0 && cfg->protocols.sse) ||
	    ((strcmp(path, "/health") == 0 || strcmp(path, "/health/deep") == 0) &&
	    cfg->protocols.health) ||
	    (strcmp(path, "/metrics") == 0 && cfg->protocols.metrics) ||
	    ((strcmp(path, "/example.json") == 0 ||
	    strcmp(path, "/latest.json") == 0) && cfg->protocols.example_json);
	if (!known)
		return endpoints_error(out, 404, "not found", NULL, head);
	if (ep_is(&req->method, "OPTIONS"))
		return ep_send(out, 200, "text/plain", NULL, 0,
		    "Allow: GET, HEAD, OPTIONS\r\n"
		    "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"
		    "Access-Control-Allow-Headers: *\r\n"
		    "Access-Control-Max-Age: 86400\r\n", 1);
	if (!get && !head)
		return endpoints_error(out, 405, "method not allowed",
		    "Allow: GET, HEAD, OPTIONS\r\n", 0);

	if (page != NULL)   /* the index page's files (static.c) */
		return static_respond(page, req, out, head);
	if (strcmp(path, "/full-stream") == 0 ||
	    strcmp(path, "/domains-only") == 0)
		return endpoints_error(out, 426, "WebSocket upgrade required",
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Version: 13\r\n", head);
	if (strcmp(path, "/sse") == 0)      /* HEAD: GET was routed before */
		return endpoints_error(out, 405, "method not allowed",
		    "Allow: GET\r\n", head);
	if (strcmp(path, "/health") == 0) {
		h = ep_health(w);
		return h > 0 ?
		    ep_send(out, 200, "text/plain", "OK", 2, NULL, head) :
		    ep_send(out, 503, "text/plain", "unhealthy", 9, NULL, head);
	}
	if (strcmp(path, "/health/deep") == 0)
		return ep_health_deep(w, out, head);
	if (strcmp(path, "/metrics") == 0)
		return ep_metrics(w, out, head);
	/* /latest.json and /example.json take the streams' filters */
	if ((h = filter_sel_open(&f, NULL, cfg, &req->query, out)) != 0)
		return h;
	h = strcmp(path, "/example.json") == 0 ? ep_example(w, &f, out, head) :
	    ep_latest(w, &f, out, head);
	filter_sel_close(&f);
	return h;
}
