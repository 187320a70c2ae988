/*
 * HTTP GETs for ingest: libcurl's multi interface driven by the ingest's
 * libevent loop (socket and timer callbacks), so one process watches every
 * log without a thread per log. One multi handle means one connection cache:
 * connections are reused, and HTTP/2 streams multiplexed (PIPEWAIT) where
 * the log offers it. gzip/deflate bodies are accepted and decoded.
 *
 * Each request ends with exactly one callback, from the event loop (never
 * from inside fetch_get), unless it is cancelled first.
 */
#ifndef INGEST_FETCH_H
#define INGEST_FETCH_H

#include <stddef.h>

#include <event2/event.h>

struct fetch;
struct fetch_req;

struct fetch_opts {
	long connect_timeout_secs;
	long timeout_secs;          /* whole transfer */
	size_t max_bytes;           /* body cap: a larger body aborts the transfer */
	size_t budget_bytes;        /* held + buffered cap (see below); 0 = none */
	long max_redirs;
	int redirects;              /* which redirects are followed: FETCH_REDIR_* */
	char user_agent[320];        /* "" = certstream/<version> */
};

/* Redirects are followed by the fetcher itself, each hop checked: never
 * from https to http, and by default never to another origin (a log's
 * redirect elsewhere is a log that moved, or a hijack: reported). */
enum {
	FETCH_REDIR_SAME_ORIGIN = 0,  /* same scheme, host and port (or http to https) */
	FETCH_REDIR_NONE = 1,         /* a 3xx is the answer */
	FETCH_REDIR_HTTPS = 2         /* any host, but never a downgrade to http */
};

/* May a request to `from` follow a redirect to `to` under policy? 1 yes;
 * 0 no, with why. */
int fetch_redirect_allowed(const char *from, const char *to, int policy,
    char *why, size_t whylen);

struct fetch_res {
	int ok;                     /* transfer completed (any HTTP status) */
	long status;                /* HTTP status, 0 if none */
	const char *body;           /* NUL-terminated, valid during the callback */
	size_t len;
	long retry_after_secs;      /* Retry-After, -1 if absent */
	int timed_out;
	int too_large;              /* the body cap was hit */
	int over_budget;            /* aborted: the memory budget was used up */
	const char *error;          /* when !ok: what failed */
	long long range_start;      /* a 206's Content-Range start, else -1 */
	int encoded;                /* the body came Content-Encoding'd */
};

typedef void (*fetch_cb)(void *arg, const struct fetch_res *res);

/* NULL with err filled on failure. */
struct fetch *fetch_new(struct event_base *base, const struct fetch_opts *o,
    char *err, size_t errlen);

/* Requests not yet started use the new options. */
void fetch_set_opts(struct fetch *f, const struct fetch_opts *o);

/* Start a GET of url; cb(arg, res) runs once when it ends. NULL on failure
 * (allocation, curl refusing the handle). */
struct fetch_req *fetch_get(struct fetch *f, const char *url, fetch_cb cb,
    void *arg);

/* The same with a smaller body cap than the fetcher's (a larger body
 * fails as too_large). */
struct fetch_req *fetch_get_small(struct fetch *f, const char *url,
    size_t max, fetch_cb cb, void *arg);

/* The same, asking only for the bytes from offset on (Range: bytes=N-),
 * without content negotiation so the offset is one of the file's own
 * bytes. A server may still answer 200 with the whole body: check
 * res->status and res->range_start. */
struct fetch_req *fetch_get_from(struct fetch *f, const char *url,
    unsigned long long offset, fetch_cb cb, void *arg);

/* Abort a request; its callback will not run. NULL is a no-op. Must not be
 * called for a request whose callback is running or has run. */
void fetch_cancel(struct fetch_req *r);

/*
 * One memory budget for everything the ingest holds of logs' answers: the
 * bytes the pollers hold (reported with fetch_hold) and the bodies of the
 * transfers in flight (counted here as they arrive). Pollers start a new
 * window only with fetch_budget_room() for it, and mark the transfers of
 * their windows other than the front with fetch_cuttable(r, 1): one whose next
 * chunk would take the total past the budget is aborted (over_budget, to
 * be asked again once there is room). The front window, which must always
 * be able to move, and small requests (tree heads, proofs, issuers) are
 * never cut. So the total stays within the budget plus one max_bytes per
 * log (its front window's body) plus the small requests in flight.
 */
void fetch_hold(struct fetch *f, size_t add, size_t sub);
void fetch_cuttable(struct fetch_req *r, int yes);
int fetch_budget_full(const struct fetch *f);

/* Is there room for want more bytes (what the windows a poller has in
 * flight and the one it would start are reckoned to bring)? Asking only
 * with room leaves few transfers to cut: a cut one's bytes are fetched
 * twice. */
int fetch_budget_room(const struct fetch *f, size_t want);

/* Bytes held by the pollers plus bytes buffered by transfers in flight. */
size_t fetch_mem(const struct fetch *f);

/* Requests started so far, and in flight now. */
unsigned long fetch_count(const struct fetch *f);
unsigned fetch_inflight(const struct fetch *f);

/* Cancel everything (no callbacks) and free. NULL is a no-op. */
void fetch_free(struct fetch *f);

#endif
