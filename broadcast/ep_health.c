/*
 * /health and /health/deep: is this daemon serving, read from the shared
 * segment (processes alive, logs polled, ingest delays, the streams'
 * clients and traffic). Also the readers of process and log state that
 * /metrics shares. Figures are statistics, read relaxed (shm_stat,
 * shm/atomics.h).
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
#include "common/proc.h"
#include "shm/atomics.h"
#include "shm/heads.h"
#include "shm/ring.h"

/* Is process pid running? (0: unknown.) */
static int
ep_pid_alive(uint32_t pid)
{
	if (pid == 0)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* acquire: pairs with the release of alive in ingest.c (worker.c for a
 * worker), so the pid read after it is the one stored before it. */
int
ep_ingest_alive(const struct shm_seg *seg)
{
	return shm_load(&seg->ingest->alive, acquire) &&
	    ep_pid_alive(shm_load(&seg->ingest->pid, relaxed));
}

int
ep_worker_alive(const struct shm_seg *seg, uint32_t i)
{
	return shm_load(&seg->workers[i].alive, acquire) &&
	    ep_pid_alive(shm_load(&seg->workers[i].pid, relaxed));
}

uint32_t
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

		/* acquire: pairs with in_use's release in ct.c */
		if (!shm_load(&l->in_use, acquire))
			continue;
		any = 1;
		t = shm_stat(&l->last_success_unix);
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
int
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
	if (up < n || shm_stat(&seg->ingest->nats) == SHM_NATS_DOWN)
		degraded = 1;
	for (i = 0; i < SHM_MAX_LOGS; i++) {
		const struct shm_log_status *l = &seg->logs[i];

		/* acquire: pairs with in_use's release in ct.c */
		if (shm_load(&l->in_use, acquire) && shm_stat(&l->state) == 2)
			degraded = 1;
	}
	return degraded ? 1 : 2;
}

void
ep_delay_read(const struct shm_log_status *l, struct ep_delay *d)
{
	int k;

	d->total = 0;
	for (k = 0; k < SHM_DELAY_BUCKETS; k++) {
		d->bucket[k] = shm_stat(&l->delay_bucket[k]);
		d->total += d->bucket[k];
	}
	d->sum_ms = shm_stat(&l->delay_sum_ms);
	d->last_ms = shm_stat(&l->delay_last_ms);
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

const char *const ep_stream_names[RV_COUNT] = { "lite", "full", "domains" };

const char *const ep_proto_names[SP_COUNT] = { "websocket", "sse" };

static const char *const ep_log_states[] = { "ok", "lagging", "failing", "stopped" };

const char *
ep_log_state(uint32_t s)
{
	return s < sizeof(ep_log_states) / sizeof(ep_log_states[0]) ?
	    ep_log_states[s] : "unknown";
}

/* A NUL-terminated copy of a fixed char field another process writes. */
void
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
	    shm_stat(&in->nats) == SHM_NATS_UP));
	JADD(o, "acked", json_object_new_int64((int64_t)
	    shm_stat(&in->nats_acked)));
	JADD(o, "pending", json_object_new_int64((int64_t)
	    shm_stat(&in->nats_pending)));
	JADD(o, "received", json_object_new_int64((int64_t)
	    shm_stat(&in->nats_received)));
	JADD(o, "skipped", json_object_new_int64((int64_t)
	    shm_stat(&in->nats_skipped)));
	JADD(o, "seq", json_object_new_int64((int64_t)
	    shm_stat(&in->nats_seq)));
	/* an edge whose stream was recreated: its ids are seq + id_shift */
	JADD(o, "recreated", json_object_new_int64((int64_t)
	    shm_stat(&in->nats_recreated)));
	JADD(o, "id_shift", json_object_new_int64((int64_t)
	    shm_stat(&in->nats_id_shift)));
	return o;
}

int
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
				sum[st][p] += shm_stat(&ws->conns[st][p]);
		o = json_object_new_object();
		if (o == NULL)
			continue;
		JADD(o, "id", json_object_new_int((int)i));
		JADD(o, "pid", json_object_new_int64(shm_stat(&ws->pid)));
		JADD(o, "clients", json_object_new_int64(
		    shm_stat(&ws->clients)));
		JADD(o, "alive", json_object_new_boolean(ep_worker_alive(seg, i)));
		JADD(o, "restarts", json_object_new_int64(
		    shm_stat(&ws->restarts)));
		JADD(o, "messages_sent", json_object_new_int64((int64_t)
		    shm_stat(&ws->messages_sent)));
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
	JADD(ing, "pid", json_object_new_int64(shm_stat(&seg->ingest->pid)));
	JADD(ing, "certificates_per_second", json_object_new_double(
	    w->ingest_rate));
	JADD(ing, "records", json_object_new_int64((int64_t)
	    shm_stat(&seg->ingest->records)));
	JADD(ing, "parse_failures", json_object_new_int64((int64_t)
	    shm_stat(&seg->ingest->parse_failures)));
	JADD(ing, "duplicates", json_object_new_int64((int64_t)
	    shm_stat(&seg->ingest->duplicates)));
	if (shm_stat(&seg->ingest->nats) != SHM_NATS_OFF)
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

		/* acquire: pairs with in_use's release in ct.c */
		if (!shm_load(&l->in_use, acquire))
			continue;
		o = json_object_new_object();
		if (o == NULL)
			continue;
		ep_field(name, l->name, sizeof(name));
		ep_field(url, l->url, sizeof(url));
		ep_field(err, l->last_error, sizeof(err));
		size = shm_stat(&l->tree_size);
		next = shm_stat(&l->next_index);
		ok = shm_stat(&l->last_success_unix);
		JADD(o, "name", json_object_new_string(name));
		JADD(o, "url", json_object_new_string(url));
		JADD(o, "type", json_object_new_string(l->type == 1 ? "static" :
		    "rfc6962"));
		JADD(o, "state", json_object_new_string(
		    ep_log_state(shm_stat(&l->state))));
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
		    shm_stat(&l->errors)));
		JADD(o, "skipped_entries", json_object_new_int64((int64_t)
		    shm_stat(&l->skipped_entries)));
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

int
ep_health_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only)
{
	int h = ep_health(w);

	(void)req;
	return h > 0 ?
	    ep_send(out, 200, "text/plain", "OK", 2, NULL, head_only) :
	    ep_send(out, 503, "text/plain", "unhealthy", 9, NULL, head_only);
}

int
ep_health_deep_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only)
{
	(void)req;
	return ep_health_deep(w, out, head_only);
}
