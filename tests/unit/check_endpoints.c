/* Unit tests: the plain answers (broadcast/endpoints.c and ep_*.c, chosen by
 * routes.c; answers built from a segment's stats and ring, no sockets). */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "broadcast/endpoints.h"
#include "broadcast/worker_ctx.h"
#include "shm/ring.h"
#include "tests/unit/fixture.h"

static struct wctx *w;
static struct shm_seg seg;
static struct config *cfg;

static void
setup(void)
{
	w = fixture_wctx_new(&seg);
	cfg = w->cfg;
	atomic_store(&seg.ingest->pid, (uint32_t)getpid());
	atomic_store(&seg.ingest->alive, 1);
	atomic_store(&seg.workers[0].pid, (uint32_t)getpid());
	atomic_store(&seg.workers[0].alive, 1);
}

static void
teardown(void)
{
	fixture_wctx_free(w, &seg);
}

/* Answer "METHOD path" into a string: status, and the body after the head. */
static int
answer_with(const char *method, const char *target, const char *headers,
    char **head, char **body)
{
	struct http_request req;
	struct evbuffer *out = evbuffer_new();
	char raw[512], path[256];
	size_t len;
	char *all, *sep;
	int status;

	snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n",
	    method, target, headers);
	ck_assert_int_eq(http_parse_request(raw, strlen(raw), sizeof(raw), &req),
	    HTTP_PARSE_OK);
	ck_assert_int_ge(http_path_normalize(&req.path, path, sizeof(path)), 0);
	status = endpoints_respond(w, &req, path, out);
	len = evbuffer_get_length(out);
	all = malloc(len + 1);
	ck_assert_ptr_nonnull(all);
	evbuffer_remove(out, all, len);
	all[len] = '\0';
	evbuffer_free(out);
	sep = strstr(all, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	*body = strdup(sep + 4);
	sep[2] = '\0';
	*head = all;
	return status;
}

static int
answer(const char *method, const char *target, char **head, char **body)
{
	return answer_with(method, target, "", head, body);
}

static void
publish(struct ring_writer *rw, int n)
{
	char lite[128], full[128], dom[128];
	struct iovec iov[RV_COUNT];

	for (int i = 0; i < n; i++) {
		snprintf(lite, sizeof(lite), "{\"message_type\":\"certificate_update\","
		    "\"data\":{\"cert_index\":%d}}", i);
		snprintf(full, sizeof(full), "{\"message_type\":\"certificate_update\","
		    "\"data\":{\"cert_index\":%d,\"chain\":[]}}", i);
		snprintf(dom, sizeof(dom), "{\"message_type\":\"dns_entries\","
		    "\"cert_index\":%d}", i);
		iov[RV_LITE] = (struct iovec){ lite, strlen(lite) };
		iov[RV_FULL] = (struct iovec){ full, strlen(full) };
		iov[RV_DOMAINS] = (struct iovec){ dom, strlen(dom) };
		ck_assert(ring_publish(rw, iov, 1) != UINT64_MAX);
	}
}

START_TEST(metrics_sum_workers_and_escape_labels)
{
	struct shm_log_status *l = &seg.logs[3];
	char *head, *body;

	atomic_store(&seg.workers[0].messages_sent, 10);
	atomic_store(&seg.workers[1].messages_sent, 32);
	atomic_store(&seg.workers[1].skipped, 7);
	atomic_store(&seg.workers[0].conns[RV_FULL][SP_SSE], 2);
	atomic_store(&seg.workers[1].conns[RV_FULL][SP_SSE], 1);
	atomic_store(&seg.workers[0].lat_bucket[0], 5);
	atomic_store(&seg.workers[1].lat_bucket[3], 2);
	atomic_store(&seg.workers[0].lat_count, 7);
	atomic_store(&seg.ingest->duplicates, 4);
	strcpy(l->name, "Log \"A\" \\ 2026");
	atomic_store(&l->tree_size, 100);
	atomic_store(&l->next_index, 60);
	atomic_store(&l->in_use, 1);

	ck_assert_int_eq(answer("GET", "/metrics", &head, &body), 200);
	ck_assert_ptr_nonnull(strstr(head, "Content-Type: text/plain; version=0.0.4"));
	ck_assert_ptr_nonnull(strstr(body, "\ncertstream_messages_sent_total 42\n"));
	ck_assert_ptr_nonnull(strstr(body, "\ncertstream_messages_skipped_total 7\n"));
	ck_assert_ptr_nonnull(strstr(body,
	    "\ncertstream_connections{stream=\"full\",protocol=\"sse\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(body, "\ncertstream_duplicates_filtered_total 4\n"));
	ck_assert_ptr_nonnull(strstr(body,
	    "# TYPE certstream_duplicates_filtered_total counter\n"));
	/* histogram buckets are cumulative */
	ck_assert_ptr_nonnull(strstr(body,
	    "certstream_delivery_latency_seconds_bucket{le=\"0.001\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(body,
	    "certstream_delivery_latency_seconds_bucket{le=\"0.008\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(body,
	    "certstream_delivery_latency_seconds_bucket{le=\"+Inf\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(body,
	    "certstream_ct_log_lag_entries{log=\"Log \\\"A\\\" \\\\ 2026\"} 40\n"));
	free(head);
	free(body);
}
END_TEST

START_TEST(health_deep_reports_and_fails)
{
	struct shm_log_status *l = &seg.logs[0];
	json_object *o, *v, *a;
	char *head, *body;

	strcpy(l->name, "Example");
	strcpy(l->url, "https://ct.example/");
	strcpy(l->last_error, "HTTP 503");
	atomic_store(&l->state, 1);
	atomic_store(&l->tree_size, 10);
	atomic_store(&l->next_index, 4);
	atomic_store(&l->in_use, 1);
	atomic_store(&seg.workers[0].conns[RV_LITE][SP_WS], 3);
	/* worker 1 never started: degraded, still 200 */
	ck_assert_int_eq(answer("GET", "/health/deep", &head, &body), 200);
	o = json_tokener_parse(body);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "status", &v));
	ck_assert_str_eq(json_object_get_string(v), "degraded");
	ck_assert(json_object_object_get_ex(o, "connections", &v));
	ck_assert(json_object_object_get_ex(v, "total", &v));
	ck_assert_int_eq(json_object_get_int(v), 3);
	ck_assert(json_object_object_get_ex(o, "workers", &a));
	ck_assert_int_eq((int)json_object_array_length(a), 2);
	ck_assert(json_object_object_get_ex(o, "logs", &a));
	ck_assert_int_eq((int)json_object_array_length(a), 1);
	v = json_object_array_get_idx(a, 0);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(v,
	    "lag_entries")), 6);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v,
	    "state")), "lagging");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v,
	    "last_error")), "HTTP 503");
	json_object_put(o);
	free(head);
	free(body);

	atomic_store(&seg.ingest->alive, 0);
	ck_assert_int_eq(answer("GET", "/health/deep", &head, &body), 503);
	ck_assert_ptr_nonnull(strstr(body, "\"status\":\"unhealthy\""));
	free(head);
	free(body);
	ck_assert_int_eq(answer("GET", "/health", &head, &body), 503);
	free(head);
	free(body);
}
END_TEST

START_TEST(ingest_delay_histogram_cumulative_and_estimated)
{
	struct shm_log_status *l = &seg.logs[5];
	json_object *o, *a, *v, *d;
	char *head, *body;

	strcpy(l->name, "Delayed");
	atomic_store(&l->delay_bucket[0], 2);    /* <= 1 s */
	atomic_store(&l->delay_bucket[2], 2);    /* (2 s, 5 s] */
	atomic_store(&l->delay_bucket[10], 1);   /* > 1 day */
	atomic_store(&l->delay_count, 5);
	atomic_store(&l->delay_sum_ms, 100000500);
	atomic_store(&l->delay_last_ms, 3000);
	atomic_store(&l->in_use, 1);

	ck_assert_int_eq(answer("GET", "/metrics", &head, &body), 200);
	ck_assert_ptr_nonnull(strstr(body,
	    "# TYPE certstream_ct_log_ingest_delay_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(body, "certstream_ct_log_ingest_delay_"
	    "seconds_bucket{log=\"Delayed\",le=\"1\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(body, "certstream_ct_log_ingest_delay_"
	    "seconds_bucket{log=\"Delayed\",le=\"2\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(body, "certstream_ct_log_ingest_delay_"
	    "seconds_bucket{log=\"Delayed\",le=\"5\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(body, "certstream_ct_log_ingest_delay_"
	    "seconds_bucket{log=\"Delayed\",le=\"86400\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(body, "certstream_ct_log_ingest_delay_"
	    "seconds_bucket{log=\"Delayed\",le=\"+Inf\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(body, "certstream_ct_log_ingest_delay_"
	    "seconds_sum{log=\"Delayed\"} 100000.500\n"));
	ck_assert_ptr_nonnull(strstr(body, "certstream_ct_log_ingest_delay_"
	    "seconds_count{log=\"Delayed\"} 5\n"));
	free(head);
	free(body);

	ck_assert_int_eq(answer("GET", "/health/deep", &head, &body), 200);
	o = json_tokener_parse(body);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "logs", &a));
	v = json_object_array_get_idx(a, 0);
	ck_assert(json_object_object_get_ex(v, "ingest_delay_ms", &d));
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(d,
	    "count")), 5);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(d,
	    "last")), 3000);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(d,
	    "mean")), 20000100);
	/* rank 2.5 of 5: a quarter into (2 s, 5 s] */
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(d,
	    "p50")), 2750);
	/* in +Inf: the highest finite bound */
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(d,
	    "p99")), 86400000);
	json_object_put(o);
	free(head);
	free(body);
}
END_TEST

START_TEST(latest_newest_first_and_example)
{
	struct ring_writer rw;
	char *head, *body;
	json_object *o, *msgs;

	ck_assert_int_eq(answer("GET", "/example.json", &head, &body), 200);
	ck_assert_ptr_nonnull(strstr(body, "\"certificate_update\""));
	ck_assert_ptr_nonnull(strstr(body, "\"cert_index\": 120000000"));
	free(head);
	free(body);

	ring_writer_init(&rw, &seg, NULL, 0);
	publish(&rw, 30);
	ck_assert_int_eq(answer("GET", "/latest.json", &head, &body), 200);
	o = json_tokener_parse(body);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "messages", &msgs));
	ck_assert_int_eq((int)json_object_array_length(msgs), 25);
	for (int i = 0; i < 25; i++) {
		json_object *d = json_object_object_get(
		    json_object_array_get_idx(msgs, (size_t)i), "data");

		ck_assert_int_eq(json_object_get_int(json_object_object_get(d,
		    "cert_index")), 29 - i);
		ck_assert_ptr_null(json_object_object_get(d, "chain"));
	}
	json_object_put(o);
	free(head);
	free(body);

	ck_assert_int_eq(answer("GET", "/example.json", &head, &body), 200);
	ck_assert_ptr_nonnull(strstr(body, "\"cert_index\": 29"));
	free(head);
	free(body);
}
END_TEST

START_TEST(switches_methods_and_errors)
{
	char *head, *body;

	cfg->protocols.metrics = 0;
	ck_assert_int_eq(answer("GET", "/metrics", &head, &body), 404);
	ck_assert_str_eq(body, "{\"error\":\"not found\"}\n");
	free(head);
	free(body);
	ck_assert_int_eq(answer("POST", "/health", &head, &body), 405);
	ck_assert_ptr_nonnull(strstr(head, "Allow: GET, HEAD, OPTIONS\r\n"));
	free(head);
	free(body);
	ck_assert_int_eq(answer("HEAD", "/latest.json", &head, &body), 200);
	ck_assert_str_eq(body, "");
	ck_assert_ptr_nonnull(strstr(head, "Access-Control-Allow-Origin: *\r\n"));
	free(head);
	free(body);
	ck_assert_int_eq(answer("GET", "/", &head, &body), 200);
	ck_assert_ptr_nonnull(strstr(head, "Content-Security-Policy: default-src 'none'"));
	free(head);
	free(body);
	cfg->protocols.example_json = 0;
	ck_assert_int_eq(answer("GET", "/example.json", &head, &body), 404);
	free(head);
	free(body);
}
END_TEST

/* A stream's path asked as a plain request: the WebSocket paths want the
 * upgrade, /sse only streams (GET is routed to the stream before this);
 * each is there only while its protocol is switched on. */
START_TEST(stream_paths_without_their_stream)
{
	char *head, *body;

	ck_assert_int_eq(answer("GET", "/full-stream", &head, &body), 426);
	ck_assert_ptr_nonnull(strstr(head, "Upgrade: websocket\r\n"));
	free(head);
	free(body);
	ck_assert_int_eq(answer("HEAD", "/domains-only", &head, &body), 426);
	free(head);
	free(body);
	ck_assert_int_eq(answer("HEAD", "/sse", &head, &body), 405);
	ck_assert_ptr_nonnull(strstr(head, "Allow: GET\r\n"));
	free(head);
	free(body);
	ck_assert_int_eq(answer("OPTIONS", "/sse", &head, &body), 200);
	ck_assert_ptr_nonnull(strstr(head, "Allow: GET, HEAD, OPTIONS\r\n"));
	free(head);
	free(body);
	ck_assert_int_eq(answer("GET", "/nothing-here", &head, &body), 404);
	free(head);
	free(body);
	cfg->protocols.websocket = 0;
	cfg->protocols.sse = 0;
	ck_assert_int_eq(answer("GET", "/full-stream", &head, &body), 404);
	free(head);
	free(body);
	ck_assert_int_eq(answer("HEAD", "/sse", &head, &body), 404);
	free(head);
	free(body);
	/* the index page is not the stream's: it stays */
	ck_assert_int_eq(answer("GET", "/", &head, &body), 200);
	free(head);
	free(body);
}
END_TEST

/* The page's files (broadcast/www/, embedded at build time): each with its
 * type, an ETag a browser's If-None-Match gets a 304 for, and the CSP. */
START_TEST(index_page_files_typed_tagged_and_revalidated)
{
	static const struct { const char *path, *type; } f[] = {
		{ "/", "text/html; charset=utf-8" },
		{ "/app.js", "text/javascript; charset=utf-8" },
		{ "/ratechart.js", "text/javascript; charset=utf-8" },
		{ "/app.css", "text/css; charset=utf-8" },
		{ "/icon.svg", "image/svg+xml" },
	};
	char *head, *body, etag[64], cond[128], want[96];
	const char *e;
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		ck_assert_int_eq(answer("GET", f[i].path, &head, &body), 200);
		snprintf(want, sizeof(want), "Content-Type: %s\r\n", f[i].type);
		ck_assert_msg(strstr(head, want) != NULL, "%s: %s", f[i].path, head);
		ck_assert_ptr_nonnull(strstr(head, "Content-Security-Policy: "
		    "default-src 'none'; script-src 'self'; style-src 'self'"));
		ck_assert_ptr_nonnull(strstr(head, "X-Content-Type-Options: nosniff"));
		ck_assert_uint_gt(strlen(body), 100);
		e = strstr(head, "ETag: \"");
		ck_assert_ptr_nonnull(e);
		ck_assert_int_eq(sscanf(e, "ETag: %63[^\r]", etag), 1);
		free(head);
		free(body);

		/* a list holding it, weak or not, or "*": not modified */
		snprintf(cond, sizeof(cond), "If-None-Match: \"zz\", W/%s\r\n", etag);
		ck_assert_int_eq(answer_with("GET", f[i].path, cond, &head, &body), 304);
		ck_assert_str_eq(body, "");
		free(head);
		free(body);
		ck_assert_int_eq(answer_with("GET", f[i].path,
		    "If-None-Match: \"0000000000000000\"\r\n", &head, &body), 200);
		ck_assert_uint_gt(strlen(body), 100);
		free(head);
		free(body);
		ck_assert_int_eq(answer("HEAD", f[i].path, &head, &body), 200);
		ck_assert_str_eq(body, "");
		free(head);
		free(body);
	}
	ck_assert_int_eq(answer("GET", "/nope.js", &head, &body), 404);
	free(head);
	free(body);
}
END_TEST

START_TEST(health_fails_when_every_log_is_silent)
{
	struct shm_log_status *l = &seg.logs[7];
	char *head, *body;

	cfg->server.max_log_silence_secs = 60;
	strcpy(l->name, "Quiet");
	atomic_store(&l->last_success_unix, (int64_t)time(NULL) - 30);
	atomic_store(&l->in_use, 1);
	ck_assert_int_eq(answer("GET", "/health", &head, &body), 200);
	free(head);
	free(body);
	atomic_store(&l->last_success_unix, (int64_t)time(NULL) - 300);
	ck_assert_int_eq(answer("GET", "/health", &head, &body), 503);
	ck_assert_str_eq(body, "unhealthy");
	free(head);
	free(body);
	cfg->server.max_log_silence_secs = 0;   /* 0: not checked */
	ck_assert_int_eq(answer("GET", "/health", &head, &body), 200);
	free(head);
	free(body);
}
END_TEST

Suite *endpoints_suite(void);

Suite *
endpoints_suite(void)
{
	Suite *s = suite_create("endpoints");
	TCase *tc = tcase_create("answers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, metrics_sum_workers_and_escape_labels);
	tcase_add_test(tc, health_deep_reports_and_fails);
	tcase_add_test(tc, ingest_delay_histogram_cumulative_and_estimated);
	tcase_add_test(tc, latest_newest_first_and_example);
	tcase_add_test(tc, switches_methods_and_errors);
	tcase_add_test(tc, stream_paths_without_their_stream);
	tcase_add_test(tc, health_fails_when_every_log_is_silent);
	tcase_add_test(tc, index_page_files_typed_tagged_and_revalidated);
	suite_add_tcase(s, tc);
	return s;
}
