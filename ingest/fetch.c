/*
 * libcurl multi on libevent: curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION);
 * events call curl_multi_socket_action; finished transfers are collected
 * with curl_multi_info_read and handed to their callbacks.
 */
#include "ingest/fetch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event_struct.h>

#ifndef CERTSTREAM_VERSION
#define CERTSTREAM_VERSION "0"
#endif

struct fetch_req {
	struct fetch *f;
	CURL *easy;
	fetch_cb cb;
	void *arg;
	char *buf;
	size_t len, cap;
	int too_large;
	int over_budget;
	int cuttable;               /* may be aborted for the budget */
	char *url;                  /* the one asked now (after redirects) */
	size_t max;                 /* body cap of this request */
	long redirs;                /* redirects followed */
	long long range_start;      /* from Content-Range, -1 if none */
	int encoded;                /* a Content-Encoding other than identity */
	char errbuf[CURL_ERROR_SIZE];
	struct fetch_req *prev, *next;
};

/* One watched socket. */
struct fetch_sock {
	struct event ev;
	struct fetch *f;
	int added;
	struct fetch_sock *prev, *next;
};

struct fetch {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct fetch_opts o;
	struct fetch_req *reqs;     /* in flight */
	struct fetch_sock *socks;   /* watched sockets */
	unsigned inflight;
	unsigned long count;
	size_t held;                /* reported by the pollers */
	size_t buffered;            /* bodies of the transfers in flight */
};

static int curl_inited;

static void
sock_free(struct fetch *f, struct fetch_sock *fs)
{
	if (fs->added)
		event_del(&fs->ev);
	if (fs->prev != NULL)
		fs->prev->next = fs->next;
	else
		f->socks = fs->next;
	if (fs->next != NULL)
		fs->next->prev = fs->prev;
	free(fs);
}

/* scheme, host and port of a URL, or -1. */
static int
origin_of(const char *url, char **scheme, char **host, char **port)
{
	CURLU *u = curl_url();
	int rc = -1;

	*scheme = *host = *port = NULL;
	if (u == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		rc = 0;
	curl_url_cleanup(u);
	return rc;
}

int
fetch_redirect_allowed(const char *from, const char *to, int policy,
    char *why, size_t whylen)
{
	char *fs, *fh, *fp, *ts, *th, *tp;
	int ok = 0;

	if (policy == FETCH_REDIR_NONE) {
		snprintf(why, whylen, "redirects are not followed");
		return 0;
	}
	if (origin_of(from, &fs, &fh, &fp) < 0 ||
	    origin_of(to, &ts, &th, &tp) < 0) {
		snprintf(why, whylen, "redirect to an unusable URL");
	} else if (strcasecmp(fs, "https") == 0 && strcasecmp(ts, "https") != 0) {
		snprintf(why, whylen, "redirect from https to %s refused", ts);
	} else if (strcasecmp(ts, "http") != 0 && strcasecmp(ts, "https") != 0) {
		snprintf(why, whylen, "redirect to a %s URL refused", ts);
	} else if (policy == FETCH_REDIR_HTTPS) {
		ok = 1;
	} else if (strcasecmp(fh, th) != 0 || (strcasecmp(fs, ts) == 0 ?
	    strcmp(fp, tp) != 0 : strcasecmp(ts, "https") != 0)) {
		/* the same host and port, or the same host upgraded to https */
		snprintf(why, whylen, "redirect to another origin (%s://%s:%s) "
		    "refused", ts, th, tp);
	} else {
		ok = 1;
	}
	curl_free(fs);
	curl_free(fh);
	curl_free(fp);
	curl_free(ts);
	curl_free(th);
	curl_free(tp);
	return ok;
}

/* A 3xx: ask again at its Location if the policy allows, 1; else 0 with
 * res made an error naming why. */
static int
follow(struct fetch *f, struct fetch_req *r, struct fetch_res *res)
{
	char *loc = NULL, *to;
	char why[160];

	if (curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_URL, &loc) !=
	    CURLE_OK || loc == NULL)
		return 0;  /* a 3xx without a Location is an answer */
	if (r->redirs >= f->o.max_redirs) {
		snprintf(r->errbuf, sizeof(r->errbuf), "too many redirects "
		    "(%ld)", r->redirs);
	} else if (!fetch_redirect_allowed(r->url, loc, f->o.redirects, why,
	    sizeof(why))) {
		snprintf(r->errbuf, sizeof(r->errbuf), "%s", why);
	} else if ((to = strdup(loc)) != NULL) {
		curl_multi_remove_handle(f->multi, r->easy);
		free(r->url);
		r->url = to;
		r->redirs++;
		f->buffered -= r->len;
		r->len = 0;
		r->too_large = 0;
		r->range_start = -1;
		r->encoded = 0;
		r->errbuf[0] = '\0';
		curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
		if (curl_multi_add_handle(f->multi, r->easy) == CURLM_OK)
			return 1;
		/* out of the multi handle now: check_done's remove is a no-op */
		snprintf(r->errbuf, sizeof(r->errbuf), "cannot follow a redirect");
	}
	res->ok = 0;
	return 0;
}

/* Take r off the multi handle and the list of requests in flight. */
static void
req_unlink(struct fetch *f, struct fetch_req *r)
{
	curl_multi_remove_handle(f->multi, r->easy);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		f->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	f->inflight--;
}

/* Free an unlinked r, and stop counting its body. */
static void
req_free(struct fetch *f, struct fetch_req *r)
{
	f->buffered -= r->len;
	curl_easy_cleanup(r->easy);
	free(r->buf);
	free(r->url);
	free(r);
}

static void
check_done(struct fetch *f)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		struct fetch_req *r = NULL;
		struct fetch_res res;
		curl_off_t ra = -1;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r == NULL)
			continue;
		memset(&res, 0, sizeof(res));
		res.ok = m->data.result == CURLE_OK;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		if (res.ok && res.status >= 300 && res.status < 400 &&
		    follow(f, r, &res))
			continue;  /* asked again at the new URL */
		if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra) !=
		    CURLE_OK || ra <= 0)
			ra = -1;
		res.retry_after_secs = (long)ra;
		res.timed_out = m->data.result == CURLE_OPERATION_TIMEDOUT;
		res.too_large = r->too_large ||
		    m->data.result == CURLE_FILESIZE_EXCEEDED;
		res.over_budget = r->over_budget;
		res.range_start = res.status == 206 ? r->range_start : -1;
		res.encoded = r->encoded;
		res.body = r->buf != NULL ? r->buf : "";
		res.len = r->len;
		res.error = res.over_budget ? "the ingest's memory budget is "
		    "used up: asked again later" :
		    res.too_large ? "response over the size cap" :
		    r->errbuf[0] ? r->errbuf : curl_easy_strerror(m->data.result);
		/* Unlink first: the callback may start or cancel requests. */
		req_unlink(f, r);
		/* The body stays counted while the callback parses it. */
		r->cb(r->arg, &res);
		req_free(f, r);
	}
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;
	int running, action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, fd, action, &running);
	check_done(f);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(f);
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct fetch *f = userp;
	struct fetch_sock *fs = socketp;
	short kind;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (fs != NULL) {
			sock_free(f, fs);
			curl_multi_assign(f->multi, s, NULL);
		}
		return 0;
	}
	if (fs == NULL) {
		fs = calloc(1, sizeof(*fs));
		if (fs == NULL)
			return -1;
		fs->f = f;
		fs->next = f->socks;
		if (f->socks != NULL)
			f->socks->prev = fs;
		f->socks = fs;
		curl_multi_assign(f->multi, s, fs);
	}
	if (fs->added) {
		event_del(&fs->ev);
		fs->added = 0;
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (event_assign(&fs->ev, f->base, s, kind, on_event, f) < 0 ||
	    event_add(&fs->ev, NULL) < 0)
		return -1;
	fs->added = 1;
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct fetch *f = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(f->timer);
	/* Even 0 goes through the loop: curl must not be re-entered here. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(f->timer, &tv);
}

static size_t
write_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct fetch_req *r = arg;
	size_t add = sz * n, ncap;
	char *nb;

	if (r->len + add > r->max) {
		r->too_large = 1;
		return 0;  /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	if (r->cuttable && r->f->o.budget_bytes != 0 &&
	    fetch_mem(r->f) + add > r->f->o.budget_bytes) {
		r->over_budget = 1;
		return 0;
	}
	if (r->len + add + 1 > r->cap) {
		ncap = r->cap ? r->cap : 16384;
		while (ncap < r->len + add + 1)
			ncap *= 2;
		nb = realloc(r->buf, ncap);
		if (nb == NULL)
			return 0;
		r->buf = nb;
		r->cap = ncap;
	}
	memcpy(r->buf + r->len, p, add);
	r->len += add;
	r->f->buffered += add;
	r->buf[r->len] = '\0';
	return add;
}

/* Response headers: the ones the range logic needs. A redirect's status
 * line starts the set over. */
static size_t
header_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct fetch_req *r = arg;
	size_t len = sz * n;
	char line[256];
	unsigned long long a;

	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		r->range_start = -1;
		r->encoded = 0;
	} else if (strncasecmp(line, "Content-Range:", 14) == 0) {
		if (sscanf(line + 14, " bytes %llu-", &a) == 1)
			r->range_start = (long long)a;
	} else if (strncasecmp(line, "Content-Encoding:", 17) == 0) {
		const char *v = line + 17;

		v += strspn(v, " \t");
		r->encoded = strncasecmp(v, "identity", 8) != 0 &&
		    strspn(v, " \t\r\n") != strlen(v);
	}
	return len;
}

struct fetch *
fetch_new(struct event_base *base, const struct fetch_opts *o, char *err,
    size_t errlen)
{
	struct fetch *f;

	if (!curl_inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "curl_global_init failed");
			return NULL;
		}
		curl_inited = 1;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->base = base;
	f->o = *o;
	f->multi = curl_multi_init();
	f->timer = evtimer_new(base, on_timer, f);
	if (f->multi == NULL || f->timer == NULL) {
		snprintf(err, errlen, "curl_multi_init or evtimer_new failed");
		fetch_free(f);
		return NULL;
	}
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	/* Polite to each log; HTTP/2 multiplexes over these anyway. */
	curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	return f;
}

void
fetch_set_opts(struct fetch *f, const struct fetch_opts *o)
{
	f->o = *o;
}

static struct fetch_req *
start(struct fetch *f, const char *url, const char *range, size_t max,
    fetch_cb cb, void *arg)
{
	struct fetch_req *r = calloc(1, sizeof(*r));
	CURL *e;

	if (r == NULL)
		return NULL;
	e = curl_easy_init();
	if (e == NULL) {
		free(r);
		return NULL;
	}
	r->f = f;
	r->easy = e;
	r->cb = cb;
	r->arg = arg;
	r->range_start = -1;
	r->max = max < f->o.max_bytes ? max : f->o.max_bytes;
	if ((r->url = strdup(url)) == NULL) {
		curl_easy_cleanup(e);
		free(r);
		return NULL;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* A range is of the file's own bytes: ask for no encoding, but still
	 * decode one sent unasked (a log that gzips regardless). */
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, range ? "identity" : "");
	if (range != NULL)
		curl_easy_setopt(e, CURLOPT_RANGE, range);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, f->o.connect_timeout_secs);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, f->o.timeout_secs);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)r->max);
	/* redirects are followed in check_done, each one checked */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, f->o.user_agent[0] ?
	    f->o.user_agent : "certstream/" CERTSTREAM_VERSION);
	if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		free(r->url);
		free(r);
		return NULL;
	}
	r->next = f->reqs;
	if (f->reqs != NULL)
		f->reqs->prev = r;
	f->reqs = r;
	f->inflight++;
	f->count++;
	return r;
}

struct fetch_req *
fetch_get(struct fetch *f, const char *url, fetch_cb cb, void *arg)
{
	return start(f, url, NULL, SIZE_MAX, cb, arg);
}

struct fetch_req *
fetch_get_small(struct fetch *f, const char *url, size_t max, fetch_cb cb,
    void *arg)
{
	return start(f, url, NULL, max, cb, arg);
}

struct fetch_req *
fetch_get_from(struct fetch *f, const char *url, unsigned long long offset,
    fetch_cb cb, void *arg)
{
	char range[32];

	snprintf(range, sizeof(range), "%llu-", offset);
	return start(f, url, range, SIZE_MAX, cb, arg);
}

void
fetch_cancel(struct fetch_req *r)
{
	struct fetch *f;

	if (r == NULL)
		return;
	f = r->f;
	req_unlink(f, r);
	req_free(f, r);
}

void
fetch_hold(struct fetch *f, size_t add, size_t sub)
{
	f->held += add;
	f->held -= sub < f->held ? sub : f->held;
}

void
fetch_cuttable(struct fetch_req *r, int yes)
{
	if (r != NULL)
		r->cuttable = yes;
}

int
fetch_budget_full(const struct fetch *f)
{
	return f->o.budget_bytes != 0 && fetch_mem(f) >= f->o.budget_bytes;
}

int
fetch_budget_room(const struct fetch *f, size_t want)
{
	size_t b = f->o.budget_bytes;

	return b == 0 || (want <= b && fetch_mem(f) <= b - want);
}

size_t
fetch_mem(const struct fetch *f)
{
	return f->held + f->buffered;
}

unsigned long
fetch_count(const struct fetch *f)
{
	return f->count;
}

unsigned
fetch_inflight(const struct fetch *f)
{
	return f->inflight;
}

void
fetch_free(struct fetch *f)
{
	if (f == NULL)
		return;
	while (f->reqs != NULL)
		fetch_cancel(f->reqs);
	/* Closing cached connections calls sock_cb(REMOVE): keep f alive. */
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	while (f->socks != NULL)
		sock_free(f, f->socks);
	if (f->timer != NULL)
		event_free(f->timer);
	free(f);
}
