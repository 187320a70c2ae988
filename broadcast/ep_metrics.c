/*
 * /metrics: the Prometheus text exposition of every worker's, the ingest's
 * and each log's counters in the shared segment. Each is a statistic,
 * read relaxed (shm_stat, shm/atomics.h).
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
#include "shm/ring.h"

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

		s->accepted += shm_stat(&ws->accepted);
		s->messages += shm_stat(&ws->messages_sent);
		s->bytes += shm_stat(&ws->bytes_sent);
		s->lapped += shm_stat(&ws->lapped);
		s->skipped += shm_stat(&ws->skipped);
		s->torn += shm_stat(&ws->torn_closed);
		s->requests += shm_stat(&ws->http_requests);
		s->errors += shm_stat(&ws->http_errors);
		s->auth += shm_stat(&ws->auth_failures);
		s->limits += shm_stat(&ws->limit_rejects);
		s->heartbeats += shm_stat(&ws->heartbeats);
		s->clients += shm_stat(&ws->clients);
		s->restarts += shm_stat(&ws->restarts);
		s->alive += ep_worker_alive(seg, i) ? 1u : 0u;
		for (k = 0; k < SHM_LAT_BUCKETS; k++)
			s->lat[k] += shm_stat(&ws->lat_bucket[k]);
		s->lat_sum_us += shm_stat(&ws->lat_sum_us);
		s->lat_count += shm_stat(&ws->lat_count);
		for (k = 0; k < RV_COUNT; k++)
			for (p = 0; p < SP_COUNT; p++) {
				s->conns[k][p] += shm_stat(&ws->conns[k][p]);
				s->smsgs[k][p] +=
				    shm_stat(&ws->stream_msgs[k][p]);
				s->sbytes[k][p] +=
				    shm_stat(&ws->stream_bytes[k][p]);
				s->zbytes[k][p] +=
				    shm_stat(&ws->stream_zbytes[k][p]);
				s->zplain[k][p] +=
				    shm_stat(&ws->stream_zplain[k][p]);
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
		per[i] = shm_stat(&seg->workers[i].messages_sent);
	r |= ep_per_worker(b, "certstream_worker_messages_sent_total",
	    "counter", "Certificate messages written to clients, per worker.",
	    per, n);
	for (i = 0; i < n; i++)
		per[i] = shm_stat(&seg->workers[i].clients);
	r |= ep_per_worker(b, "certstream_worker_clients", "gauge",
	    "Streaming clients per worker.", per, n);
	for (i = 0; i < n; i++)
		per[i] = shm_stat(&seg->workers[i].rss_bytes);
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
	    "Records published to the ring by ingest.", shm_stat(&in->records));
	r |= ep_metric(b, "certstream_parse_failures_total", "counter",
	    "Log entries that could not be parsed.",
	    shm_stat(&in->parse_failures));
	r |= ep_metric(b, "certstream_duplicates_filtered_total", "counter",
	    "Duplicate certificates filtered by dedup.",
	    shm_stat(&in->duplicates));
	r |= ep_metric(b, "certstream_dedup_cache_size", "gauge",
	    "Current dedup cache entries.", shm_stat(&in->dedup_cache_size));
	r |= ep_metric(b, "certstream_signature_failures_total", "counter",
	    "Tree heads or checkpoints whose signature did not verify.",
	    shm_stat(&in->sig_failures));
	r |= ep_metric(b, "certstream_ct_http_requests_total", "counter",
	    "HTTP requests made to CT logs.", shm_stat(&in->http_requests));
	r |= ep_metric(b, "certstream_ct_http_errors_total", "counter",
	    "HTTP requests to CT logs that failed.",
	    shm_stat(&in->http_errors));
	r |= ep_metric(b, "certstream_static_ct_tiles_fetched_total", "counter",
	    "Total tiles fetched from static CT logs.",
	    shm_stat(&in->tiles_fetched));
	r |= ep_metric(b, "certstream_issuer_cache_size", "gauge",
	    "Cached issuer certificates.", shm_stat(&in->issuer_cache_size));
	r |= ep_metric(b, "certstream_ingest_rss_bytes", "gauge",
	    "Resident memory of the ingest process.",
	    shm_stat(&in->rss_bytes));
	r |= ep_metric(b, "certstream_ingest_held_bytes", "gauge",
	    "Bytes of CT log answers the ingest holds or is receiving.",
	    shm_stat(&in->held_bytes));
	r |= ep_metric(b, "certstream_ingest_restarts_total", "counter",
	    "Ingest processes restarted by the master.",
	    (uint64_t)shm_stat(&in->restarts));
	r |= ep_metric(b, "certstream_nats_connected", "gauge",
	    "1 when NATS is used and connected.",
	    shm_stat(&in->nats) == SHM_NATS_UP);
	r |= ep_metric(b, "certstream_nats_acked_total", "counter",
	    "Records the JetStream stream acknowledged (ingest node).",
	    shm_stat(&in->nats_acked));
	r |= ep_metric(b, "certstream_nats_pending", "gauge",
	    "Records published to NATS and not acknowledged yet.",
	    shm_stat(&in->nats_pending));
	r |= ep_metric(b, "certstream_nats_received_total", "counter",
	    "Records an edge took from the stream.",
	    shm_stat(&in->nats_received));
	r |= ep_metric(b, "certstream_nats_skipped_total", "counter",
	    "Stream sequence numbers an edge never received (gone from the stream).",
	    shm_stat(&in->nats_skipped));
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
		/* acquire: pairs with in_use's release in ct.c */
		if (!shm_load(&seg->logs[i].in_use, acquire))
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
		int64_t is = shm_stat(&seg->ingest->started_unix);

		r |= ep_family(b, fam[f][0], "gauge", fam[f][1]);
		r |= evbuffer_add_printf(b, "%s{role=\"master\"} %lld\n",
		    fam[f][0], f == 0 ? (long long)ep_rss(seg->hdr->master_pid) :
		    (long long)(f == 1 ? ms : now - ms)) < 0;
		if (ep_ingest_alive(seg))
			r |= evbuffer_add_printf(b,
			    "%s{role=\"ingest\"} %lld\n", fam[f][0], f == 0 ?
			    (long long)shm_stat(&seg->ingest->rss_bytes) :
			    (long long)(f == 1 ? is : now - is)) < 0;
		for (i = 0; i < n; i++) {
			const struct shm_worker_stats *ws = &seg->workers[i];
			int64_t s = shm_stat(&ws->started_unix);

			if (!ep_worker_alive(seg, i))
				continue;
			r |= evbuffer_add_printf(b, "%s{role=\"worker\","
			    "worker=\"%u\"} %lld\n", fam[f][0], i, f == 0 ?
			    (long long)shm_stat(&ws->rss_bytes) :
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

			/* acquire: pairs with in_use's release in ct.c */
			if (!shm_load(&l->in_use, acquire))
				continue;
			ep_field(name, l->name, sizeof(name));
			ep_label(label, sizeof(label), name);
			size = shm_stat(&l->tree_size);
			next = shm_stat(&l->next_index);
			state = shm_stat(&l->state);
			switch (f) {
			case 0: v = size; break;
			case 1: v = next; break;
			case 2: v = size > next ? size - next : 0; break;
			case 3: v = shm_stat(&l->entries); break;
			case 4: v = shm_stat(&l->errors); break;
			case 5: v = shm_stat(&l->sig_failures); break;
			case 6: v = (uint64_t)shm_stat(&l->last_success_unix);
				break;
			case 7: v = shm_stat(&l->skipped_entries); break;
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

		/* acquire: pairs with in_use's release in ct.c */
		if (!shm_load(&l->in_use, acquire))
			continue;
		ep_field(name, l->name, sizeof(name));
		ep_label(label, sizeof(label), name);
		ep_field(err, l->last_error, sizeof(err));
		ep_label(reason, sizeof(reason), err);
		if (evbuffer_add_printf(b, "certstream_ct_log_state{log=\"%s\","
		    "state=\"%s\",reason=\"%s\"} 1\n", label,
		    ep_log_state(shm_stat(&l->state)), reason) < 0)
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

		/* acquire: pairs with in_use's release in ct.c */
		if (!shm_load(&l->in_use, acquire))
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

int
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

int
ep_metrics_respond(struct wctx *w, const struct http_request *req,
    struct evbuffer *out, int head_only)
{
	(void)req;
	return ep_metrics(w, out, head_only);
}
