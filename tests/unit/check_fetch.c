/* libcurl multi on libevent, against an evhttp server on 127.0.0.1:0. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ingest/fetch.h"

Suite *fetch_suite(void);

struct srv {
	struct event_base *base;
	struct evhttp *http;
	int port;
	int hits;
	int conns_seen;         /* client ports seen, a new one per connection */
	ev_uint16_t last_port;
};

struct got {
	int n;
	struct fetch_res res;
	char body[65536];
	char error[256];            /* res.error is valid only in the callback */
	struct event_base *base;
	int want;
};

static void
handle(struct evhttp_request *req, void *arg)
{
	struct srv *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	char *peer = NULL;
	ev_uint16_t port = 0;

	s->hits++;
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer,
	    &port);
	if (port != s->last_port) {
		s->conns_seen++;
		s->last_port = port;
	}
	if (strcmp(uri, "/hello") == 0) {
		evbuffer_add_printf(b, "hello world");
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/429") == 0) {
		evhttp_add_header(oh, "Retry-After", "7");
		evbuffer_add_printf(b, "slow down");
		evhttp_send_reply(req, 429, "Too Many Requests", b);
	} else if (strcmp(uri, "/big") == 0) {
		char chunk[4096];

		memset(chunk, 'x', sizeof(chunk));
		for (int i = 0; i < 64; i++)
			evbuffer_add(b, chunk, sizeof(chunk));
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/gzip") == 0) {
		/* gzip of "compressed body" (python3 gzip.compress, mtime 0) */
		static const unsigned char gz[] = { 0x1f, 0x8b, 0x08, 0x00, 0x00,
		    0x00, 0x00, 0x00, 0x02, 0x03, 0x4b, 0xce, 0xcf, 0x2d, 0x28,
		    0x4a, 0x2d, 0x2e, 0x4e, 0x4d, 0x51, 0x48, 0xca, 0x4f, 0xa9,
		    0x04, 0x00, 0xb7, 0xb4, 0xfb, 0x38, 0x0f, 0x00, 0x00, 0x00 };

		evbuffer_add(b, gz, sizeof(gz));
		evhttp_add_header(oh, "Content-Encoding", "gzip");
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/redirect") == 0) {
		evhttp_add_header(oh, "Location", "/hello");
		evhttp_send_reply(req, 302, "Found", b);
	} else if (strcmp(uri, "/away") == 0) {
		char loc[64];

		snprintf(loc, sizeof(loc), "http://127.0.0.2:%d/hello", s->port);
		evhttp_add_header(oh, "Location", loc);
		evhttp_send_reply(req, 302, "Found", b);
	} else if (strcmp(uri, "/loop") == 0) {
		evhttp_add_header(oh, "Location", "/loop");
		evhttp_send_reply(req, 302, "Found", b);
	} else if (strcmp(uri, "/hang") == 0) {
		/* never answered: the client's timeout must fire */
		evbuffer_free(b);
		return;
	} else {
		evhttp_send_reply(req, 404, "Not Found", b);
	}
	evbuffer_free(b);
}

static void
srv_start(struct srv *s, struct event_base *base)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	ev_socklen_t sl = sizeof(ss);

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->http = evhttp_new(base);
	ck_assert_ptr_nonnull(s->http);
	evhttp_set_gencb(s->http, handle, s);
	bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
	s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A test server and a fetcher on base; rig_stop frees them and base. */
static struct fetch *
rig_start(struct srv *s, struct event_base *base, const struct fetch_opts *o)
{
	char err[128];
	struct fetch *f;

	srv_start(s, base);
	f = fetch_new(base, o, err, sizeof(err));
	ck_assert_msg(f != NULL, "%s", err);
	return f;
}

static void
rig_stop(struct srv *s, struct fetch *f)
{
	fetch_free(f);
	evhttp_free(s->http);
	event_base_free(s->base);
}

static void
on_done(void *arg, const struct fetch_res *res)
{
	struct got *g = arg;

	g->n++;
	g->res = *res;
	snprintf(g->body, sizeof(g->body), "%.*s", (int)res->len, res->body);
	g->res.body = g->body;
	snprintf(g->error, sizeof(g->error), "%s", res->error ? res->error : "");
	g->res.error = g->error;
	if (g->n >= g->want)
		event_base_loopbreak(g->base);
}

static void
never(void *arg, const struct fetch_res *res)
{
	(void)arg;
	(void)res;
	ck_abort_msg("a cancelled request's callback ran");
}

static void
run_one(struct event_base *base, struct fetch *f, int port, const char *path,
    struct got *g)
{
	char url[128];
	struct timeval tv = { 10, 0 };

	memset(g, 0, sizeof(*g));
	g->base = base;
	g->want = 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	ck_assert_ptr_nonnull(fetch_get(f, url, on_done, g));
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_int_eq(g->n, 1);
}

static struct fetch_opts opts = { .connect_timeout_secs = 2,
    .timeout_secs = 2, .max_bytes = 100000, .max_redirs = 3 };

START_TEST(get_body_status_and_retry_after)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct fetch *f;
	struct got g;

	f = rig_start(&s, base, &opts);

	run_one(base, f, s.port, "/hello", &g);
	ck_assert(g.res.ok);
	ck_assert_int_eq(g.res.status, 200);
	ck_assert_str_eq(g.body, "hello world");
	ck_assert_int_eq(g.res.retry_after_secs, -1);

	run_one(base, f, s.port, "/429", &g);
	ck_assert(g.res.ok);
	ck_assert_int_eq(g.res.status, 429);
	ck_assert_int_eq(g.res.retry_after_secs, 7);

	run_one(base, f, s.port, "/gzip", &g);
	ck_assert_int_eq(g.res.status, 200);
	ck_assert_str_eq(g.body, "compressed body");

	run_one(base, f, s.port, "/redirect", &g);
	ck_assert_int_eq(g.res.status, 200);
	ck_assert_str_eq(g.body, "hello world");

	run_one(base, f, s.port, "/loop", &g);
	ck_assert(!g.res.ok);
	ck_assert_ptr_nonnull(strstr(g.res.error, "too many redirects"));

	/* another host: refused, never asked (the server counts its hits) */
	{
		int hits = s.hits;

		run_one(base, f, s.port, "/away", &g);
		ck_assert(!g.res.ok);
		ck_assert_ptr_nonnull(strstr(g.res.error, "another origin"));
		ck_assert_int_eq(s.hits, hits + 1);
	}

	run_one(base, f, s.port, "/nothing", &g);
	ck_assert_int_eq(g.res.status, 404);
	ck_assert_uint_eq(fetch_count(f), 7);
	ck_assert_uint_eq(fetch_inflight(f), 0);

	rig_stop(&s, f);
}
END_TEST

START_TEST(redirect_policy)
{
	char why[160];

	/* same origin, or the same host upgraded to https */
	ck_assert(fetch_redirect_allowed("http://a.test/x", "http://a.test/y",
	    FETCH_REDIR_SAME_ORIGIN, why, sizeof(why)));
	ck_assert(fetch_redirect_allowed("http://a.test/x", "https://a.test/x",
	    FETCH_REDIR_SAME_ORIGIN, why, sizeof(why)));
	ck_assert(fetch_redirect_allowed("https://a.test/x",
	    "https://A.TEST:443/z", FETCH_REDIR_SAME_ORIGIN, why, sizeof(why)));
	/* another host or port */
	ck_assert(!fetch_redirect_allowed("https://a.test/x", "https://b.test/x",
	    FETCH_REDIR_SAME_ORIGIN, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "another origin"));
	ck_assert(!fetch_redirect_allowed("http://a.test/x",
	    "http://a.test:8080/x", FETCH_REDIR_SAME_ORIGIN, why, sizeof(why)));
	/* never a downgrade, whatever the policy */
	ck_assert(!fetch_redirect_allowed("https://a.test/x", "http://a.test/x",
	    FETCH_REDIR_SAME_ORIGIN, why, sizeof(why)));
	ck_assert(!fetch_redirect_allowed("https://a.test/x", "http://b.test/x",
	    FETCH_REDIR_HTTPS, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "from https to http"));
	ck_assert(fetch_redirect_allowed("https://a.test/x", "https://b.test/x",
	    FETCH_REDIR_HTTPS, why, sizeof(why)));
	/* other schemes and none */
	ck_assert(!fetch_redirect_allowed("http://a.test/x", "file:///etc/passwd",
	    FETCH_REDIR_HTTPS, why, sizeof(why)));
	ck_assert(!fetch_redirect_allowed("http://a.test/x", "http://a.test/y",
	    FETCH_REDIR_NONE, why, sizeof(why)));
}
END_TEST

START_TEST(body_cap_aborts_transfer)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct fetch *f;
	struct got g;

	f = rig_start(&s, base, &opts);
	run_one(base, f, s.port, "/big", &g);   /* 256 KiB > 100000 */
	ck_assert(!g.res.ok);
	ck_assert(g.res.too_large);
	rig_stop(&s, f);
}
END_TEST

/* The memory budget: a transfer marked cuttable is aborted before its body
 * takes held + buffered past the budget; one not marked (a front window,
 * a tree head) is not; nothing stays counted once they end. */
START_TEST(budget_cuts_only_cuttable_transfers)
{
	struct event_base *base = event_base_new();
	struct fetch_opts o = { .connect_timeout_secs = 2, .timeout_secs = 2,
	    .max_bytes = 1048576, .budget_bytes = 1048576, .max_redirs = 3 };
	struct srv s;
	struct fetch *f;
	struct got g;
	struct timeval tv = { 10, 0 };
	char url[128];
	int cut;

	f = rig_start(&s, base, &o);
	fetch_hold(f, 900000, 0);
	ck_assert(!fetch_budget_full(f));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", s.port);
	for (cut = 1; cut >= 0; cut--) {
		struct fetch_req *r;

		memset(&g, 0, sizeof(g));
		g.base = base;
		g.want = 1;
		r = fetch_get(f, url, on_done, &g);
		ck_assert_ptr_nonnull(r);
		fetch_cuttable(r, cut);
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		ck_assert_int_eq(g.n, 1);
		if (cut) {      /* 900000 + 256 KiB > 1 MiB */
			ck_assert(!g.res.ok);
			ck_assert(g.res.over_budget);
			ck_assert(!g.res.too_large);
		} else {
			ck_assert(g.res.ok);
			ck_assert_uint_eq(g.res.len, 256 * 1024);
		}
		ck_assert_uint_eq(fetch_mem(f), 900000);
	}
	fetch_hold(f, 200000, 0);
	ck_assert(fetch_budget_full(f));
	fetch_hold(f, 0, 2000000);
	ck_assert_uint_eq(fetch_mem(f), 0);
	rig_stop(&s, f);
}
END_TEST

START_TEST(transfer_timeout_fires)
{
	struct event_base *base = event_base_new();
	struct fetch_opts o = { .connect_timeout_secs = 1,
	    .timeout_secs = 1, .max_bytes = 100000, .max_redirs = 3 };
	struct srv s;
	struct fetch *f;
	struct got g;

	f = rig_start(&s, base, &o);
	run_one(base, f, s.port, "/hang", &g);
	ck_assert(!g.res.ok);
	ck_assert(g.res.timed_out);
	rig_stop(&s, f);
}
END_TEST

/* Many requests in flight at once on one loop; a cancelled one never calls
 * back; free with requests in flight leaks nothing (valgrind run). */
START_TEST(concurrent_and_cancelled)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct fetch *f;
	struct fetch_req *c;
	struct got g;
	struct timeval tv = { 10, 0 };
	char url[128];
	int i;

	f = rig_start(&s, base, &opts);
	memset(&g, 0, sizeof(g));
	g.base = base;
	g.want = 20;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", s.port);
	for (i = 0; i < 20; i++)
		ck_assert_ptr_nonnull(fetch_get(f, url, on_done, &g));
	c = fetch_get(f, url, never, NULL);
	ck_assert_uint_eq(fetch_inflight(f), 21);
	fetch_cancel(c);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_int_eq(g.n, 20);
	ck_assert_str_eq(g.body, "hello world");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hang", s.port);
	ck_assert_ptr_nonnull(fetch_get(f, url, never, NULL));
	rig_stop(&s, f);
}
END_TEST

/* Sequential requests to one server share one kept-alive connection. */
START_TEST(connections_are_reused)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct fetch *f;
	struct got g;
	int i;

	f = rig_start(&s, base, &opts);
	for (i = 0; i < 10; i++) {
		run_one(base, f, s.port, "/hello", &g);
		ck_assert_int_eq(g.res.status, 200);
	}
	ck_assert_uint_eq(fetch_count(f), 10);
	ck_assert_int_eq(s.conns_seen, 1);
	rig_stop(&s, f);
}
END_TEST

Suite *
fetch_suite(void)
{
	Suite *s = suite_create("fetch");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, get_body_status_and_retry_after);
	tcase_add_test(tc, redirect_policy);
	tcase_add_test(tc, body_cap_aborts_transfer);
	tcase_add_test(tc, budget_cuts_only_cuttable_transfers);
	tcase_add_test(tc, transfer_timeout_fires);
	tcase_add_test(tc, concurrent_and_cancelled);
	tcase_add_test(tc, connections_are_reused);
	suite_add_tcase(s, tc);
	return s;
}
