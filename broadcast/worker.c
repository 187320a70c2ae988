/*
 * A worker process: one libevent loop, its listener, its clients, and the
 * eventfd the ingest writes when records were published while this worker
 * slept.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "broadcast/client.h"
#include "broadcast/filter_match.h"
#include "shm/limits.h"
#include "broadcast/tls.h"
#include "broadcast/worker.h"
#include "broadcast/worker_ctx.h"
#include "common/log.h"
#include "common/proc.h"
#include "shm/config_box.h"
#include "shm/ring.h"

#define WORKER_STOP_MS 2500     /* graceful stop: flush this long at most */
#define WORKER_DRAIN_MS 1500    /* graceful stop: wait this long for ingest
                                 * and for clients to take what it published */
#define WORKER_PUMP_ROUNDS 8
#define WORKER_RATE_MS 5000
#define WORKER_TICK_MS 250     /* timeouts fire at most this late */
#define WORKER_FILTER_MS 20    /* young filter groups merged this soon
                                * after their rebuild is done */
/* Two priorities: an idle worker's wake-up by the ring above every
 * socket and timer ready in the same poll, so a record that is ready does
 * not wait behind a burst of accepts, requests and upgrades. (Polling
 * again every few callbacks, libevent's max dispatch interval, cost a
 * saturated worker a fifth of its deliveries: it is not used.) */
#define WORKER_PRI_RECORD 0

struct worker {
	struct wctx *w;
	struct evconnlistener *lev;
	struct event *wake_ev, *pump_ev, *tick_ev, *beat_ev, *ping_ev;
	struct event *resume_ev, *stop_ev;
	struct event *sig_ev[4];
	int wake_fd;
	int stop_ms;
	int draining;           /* stopping, still streaming until ingest ends */
};

/* Deliver new records to every client that waits for them, then arm the
 * wake flag and re-check head (ring.h): a record published between the
 * last check and the arming is never slept through. */
static void
worker_pump(struct worker *wk)
{
	struct wctx *w = wk->w;
	int i;

	for (i = 0; i < WORKER_PUMP_ROUNDS; i++) {
		uint64_t h = ring_head(w->seg);

		if (h != w->head) {
			struct client *c, *next;

			w->head = h;
			for (c = w->clients; c != NULL; c = next) {
				next = client_next(c);
				client_deliver(c);
			}
		}
		ring_arm_wake(w->seg, w->id);
		if (ring_head(w->seg) == w->head)
			return;
	}
	/* Busy stream: let socket events run, then come back. A zero timeout
	 * runs after the next poll; event_active() would run again in this
	 * same pass and starve accepts, reads and writable sockets. */
	{
		static const struct timeval zero = { 0, 0 };

		evtimer_add(wk->pump_ev, &zero);
	}
}

static void
worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;
	uint64_t v;

	(void)what;
	/* Drain the eventfd: one read resets its counter. */
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN &&
	    errno != EINTR)
		log_warn("%s: read(eventfd %d)", __func__, (int)fd);
	/* A busy stream's pump is already due, at the lower priority, in
	 * turn with accepts and requests: the higher one is only for the
	 * wake-up of an idle worker, or a busy stream would starve them. */
	if (evtimer_pending(wk->pump_ev, NULL))
		return;
	worker_pump(wk);
}

static void
worker_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_pump(arg);
}

static void
worker_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct worker *wk = arg;

	(void)lev;
	(void)salen;
	if (wk->w->stopping) {
		close(fd);
		return;
	}
	(void)client_open(wk->w, fd, sa);
}

/* Out of descriptors: stop accepting for a second instead of spinning. */
static void
worker_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct worker *wk = arg;
	struct timeval tv = { 1, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EINTR || err == EAGAIN || err == ECONNABORTED)
		return;
	errno = err;
	log_warn("accept on fd %d; pausing the listener for 1 s",
	    (int)evconnlistener_get_fd(lev));
	evconnlistener_disable(lev);
	evtimer_add(wk->resume_ev, &tv);
}

static void
worker_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;

	(void)fd;
	(void)what;
	if (!wk->w->stopping)
		evconnlistener_enable(wk->lev);
}

static void
worker_sample(struct wctx *w)
{
	uint64_t rec = shm_stat(&w->seg->ingest->records);
	uint64_t rss;

	if (w->rate_at != 0 && w->now != w->rate_at)
		w->ingest_rate = (double)(rec - w->rate_records) * 1000.0 /
		    (double)(uint32_t)(w->now - w->rate_at);
	w->rate_records = rec;
	w->rate_at = w->now;
	if (proc_rss(0, &rss) == 0)
		shm_store(&w->st->rss_bytes, rss, relaxed);    /* a statistic */
}

static void
worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;
	struct wctx *w = wk->w;
	struct client *c, *next;

	(void)fd;
	(void)what;
	(void)wctx_clock(w);
	for (c = w->clients; c != NULL; c = next) {
		next = client_next(c);
		client_tick(c);
	}
	if ((uint32_t)(w->now - w->rate_at) >= WORKER_RATE_MS)
		worker_sample(w);
	if (filter_reg_tick(w->filters, w->now, 0) == -1)
		log_warnx("filters: merged matcher not rebuilt (out of memory); "
		    "groups keep their own");
}

/* While filter groups answer for themselves (each matched on its own for
 * every record its clients are sent, filter_match.h), the tick that
 * starts and takes in their merge comes every WORKER_FILTER_MS, not
 * every WORKER_TICK_MS: under churn those groups cost each record more
 * the longer they wait. Armed only while some wait: an idle worker does
 * not wake for it. */
void
worker_filters_soon(struct wctx *w)
{
	static const struct timeval tv = { 0, WORKER_FILTER_MS * 1000 };

	if (w->filter_ev != NULL && filter_reg_young(w->filters) > 0 &&
	    !evtimer_pending(w->filter_ev, NULL))
		evtimer_add(w->filter_ev, &tv);
}

static void
worker_filter_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wctx *w = arg;

	(void)fd;
	(void)what;
	if (filter_reg_tick(w->filters, wctx_clock(w), 0) == -1)
		log_warnx("filters: merged matcher not rebuilt (out of memory); "
		    "groups keep their own");
	worker_filters_soon(w);
}

static void
worker_beat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;
	struct client *c, *next;
	struct timespec ts;
	uint8_t frame[RING_WS_HDR_MAX + 96];
	char json[96];
	int hl, jl;

	(void)fd;
	(void)what;
	clock_gettime(CLOCK_REALTIME, &ts);
	jl = snprintf(json, sizeof(json),
	    "{\"message_type\":\"heartbeat\",\"timestamp\":%.3f}",
	    (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	if (jl < 0 || (size_t)jl >= sizeof(json))
		return;
	hl = ring_ws_header(frame, (uint64_t)jl);
	memcpy(frame + hl, json, (size_t)jl);
	for (c = wk->w->clients; c != NULL; c = next) {
		next = client_next(c);
		client_heartbeat(c, frame, (size_t)(hl + jl));
	}
}

static void
worker_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;
	struct client *c, *next;

	(void)fd;
	(void)what;
	for (c = wk->w->clients; c != NULL; c = next) {
		next = client_next(c);
		client_ping(c);
	}
}

static int
worker_timers(struct worker *wk)
{
	const struct config *cfg = wk->w->cfg;
	struct timeval beat = { cfg->server.heartbeat_interval_secs, 0 };
	struct timeval ping = { cfg->server.ping_interval_secs, 0 };

	evtimer_del(wk->beat_ev);
	evtimer_del(wk->ping_ev);
	if (beat.tv_sec > 0 && evtimer_add(wk->beat_ev, &beat) == -1)
		return -1;
	if (ping.tv_sec > 0 && evtimer_add(wk->ping_ev, &ping) == -1)
		return -1;
	return 0;
}

/* Is the ingest still there to publish? (relaxed: kill() tests the pid) */
static int
worker_ingest_running(const struct wctx *w)
{
	uint32_t pid = shm_load(&w->seg->ingest->pid, relaxed);

	return shm_load(&w->seg->ingest->alive, relaxed) && pid != 0 &&
	    (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* Send what is due (up to the last record published), then the closes. */
static void
worker_close_all(struct wctx *w)
{
	struct client *c, *next;

	w->head = ring_head(w->seg);
	for (c = w->clients; c != NULL; c = next) {
		next = client_next(c);
		client_deliver(c);
	}
	for (c = w->clients; c != NULL; c = next) {
		next = client_next(c);
		client_shutdown(c);
	}
}

/* A client still has records the ingest published to send. */
static int
worker_behind(const struct wctx *w)
{
	uint64_t head = ring_head(w->seg);
	struct client *c;

	for (c = w->clients; c != NULL; c = client_next(c))
		if (client_behind(c, head))
			return 1;
	return 0;
}

/* Graceful stop, every 50 ms: first, while an ingest stopping beside us
 * (the master's death signals every child at once) may still publish, and
 * until the clients have taken what it published, they keep streaming (a
 * close would drop what a full socket holds back); then they are closed;
 * then the loop ends once every client is gone. */
static void
worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;
	struct timeval tv = { 0, 50000 };

	(void)fd;
	(void)what;
	(void)wctx_clock(wk->w);
	if (wk->draining) {
		if ((worker_ingest_running(wk->w) || worker_behind(wk->w)) &&
		    wk->stop_ms < WORKER_DRAIN_MS) {
			wk->stop_ms += 50;
			evtimer_add(wk->stop_ev, &tv);
			return;
		}
		wk->draining = 0;
		wk->stop_ms = 0;
		worker_close_all(wk->w);
	}
	wk->stop_ms += 50;
	if (wk->w->nconns == 0 || wk->stop_ms >= WORKER_STOP_MS) {
		event_base_loopexit(wk->w->base, NULL);
		return;
	}
	evtimer_add(wk->stop_ev, &tv);
}

static void
worker_stop(struct worker *wk)
{
	struct wctx *w = wk->w;
	struct timeval tv = { 0, 0 };

	if (w->stopping)
		return;
	w->stopping = 1;
	log_info("stopping: closing %u connections%s", w->nconns,
	    worker_ingest_running(w) ? " once the ingest has stopped" : "");
	evconnlistener_disable(wk->lev);
	wk->draining = 1;
	wk->stop_ms = 0;
	evtimer_add(wk->stop_ev, &tv);
}

/* SIGHUP: TLS context from the (possibly renewed) files; on a bad file the
 * running context stays. Connected clients keep the context they have. */
static void
worker_reload_tls(struct wctx *w, const struct config *n)
{
	SSL_CTX *ctx = NULL;
	char err[512];

	if (n->tls.cert[0] != '\0' &&
	    (ctx = tls_ctx_new(n->tls.cert, n->tls.key, err, sizeof(err))) ==
	    NULL) {
		log_warnx("SIGHUP: %s; keeping the running TLS certificate",
		    err);
		return;
	}
	tls_ctx_free(w->tls);
	w->tls = ctx;
	w->cfg->tls = n->tls;
}

/* SIGHUP: log.target changed: write to the new one if it can be opened. */
static void
worker_reload_log(struct wctx *w, const struct config *n, enum log_level lvl)
{
	const char *t = n->log.target;
	char old[sizeof(w->cfg->log.target)];

	memcpy(old, w->cfg->log.target, sizeof(old));
	if (strcmp(t, old) == 0)
		return;
	if (log_retarget(t, lvl) == -1) {
		log_warn("SIGHUP: log.target %s; keeping %s", t, old);
		return;
	}
	memcpy(w->cfg->log.target, t, sizeof(w->cfg->log.target));
}

/* SIGHUP: the configuration the master parsed and applied
 * (shm/config_box.h) replaces the live parts. */
static void
worker_reload(struct worker *wk)
{
	struct wctx *w = wk->w;
	struct config *n;
	enum log_level lvl;

	n = malloc(sizeof(*n));
	if (n == NULL) {
		log_warn("%s: malloc(%zu)", __func__, sizeof(*n));
		return;
	}
	if (config_box_get(w->seg, n) == 0) {
		log_info("SIGHUP: the master has applied no new configuration");
		free(n);
		return;
	}
	/* Live: endpoints, tokens, limits, client timeouts, log level.
	 * Listeners, ring and process counts stay as the master made them. */
	w->cfg->protocols = n->protocols;
	w->cfg->auth = n->auth;
	w->cfg->connection_limit = n->connection_limit;
	w->cfg->server = n->server;
	memcpy(w->cfg->log_level, n->log_level, sizeof(w->cfg->log_level));
	if (log_level_parse(w->cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	else
		lvl = LOG_LVL_INFO;
	worker_reload_log(w, n, lvl);
	worker_reload_tls(w, n);
	log_info("SIGHUP: configuration %s applied", n->path[0] ? n->path : "(defaults)");
	free(n);
	if (worker_timers(wk) == -1)
		log_warnx("SIGHUP: cannot re-arm the heartbeat timers");
}

static void
worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *wk = arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		worker_stop(wk);
		break;
	case SIGHUP:
		worker_reload(wk);
		break;
	case SIGUSR1:
		if (log_reopen() == -1)
			log_warnx("SIGUSR1: cannot reopen the log");
		break;
	}
}

static void
worker_free(struct worker *wk)
{
	size_t i;

	if (wk->w != NULL) {
		while (wk->w->clients != NULL)
			client_close(wk->w->clients);
		client_reaper_fini(wk->w);
	}
	for (i = 0; i < sizeof(wk->sig_ev) / sizeof(wk->sig_ev[0]); i++)
		if (wk->sig_ev[i] != NULL)
			event_free(wk->sig_ev[i]);
	if (wk->stop_ev != NULL)
		event_free(wk->stop_ev);
	if (wk->resume_ev != NULL)
		event_free(wk->resume_ev);
	if (wk->ping_ev != NULL)
		event_free(wk->ping_ev);
	if (wk->beat_ev != NULL)
		event_free(wk->beat_ev);
	if (wk->tick_ev != NULL)
		event_free(wk->tick_ev);
	if (wk->w != NULL && wk->w->filter_ev != NULL)
		event_free(wk->w->filter_ev);
	if (wk->pump_ev != NULL)
		event_free(wk->pump_ev);
	if (wk->wake_ev != NULL)
		event_free(wk->wake_ev);
	if (wk->lev != NULL)
		evconnlistener_free(wk->lev);
	if (wk->w != NULL) {
		if (wk->w->base != NULL)
			event_base_free(wk->w->base);
		tls_ctx_free(wk->w->tls);
		filter_reg_free(wk->w->filters);
		free(wk->w->cfg);
		free(wk->w);
	}
}

/* The loop, with the priorities above. Everything but the wake-up gets
 * the default priority (the lower one): sockets, timers, the listener.
 * The pump's own continuation (pump_ev) stays there too, so a busy stream
 * still lets accepts and requests run between its rounds. */
static struct event_base *
worker_base_new(void)
{
	struct event_base *base;

	if ((base = event_base_new()) == NULL)
		log_warnx("%s: event_base_new", __func__);
	else if (event_base_priority_init(base, 2) == -1) {
		log_warnx("%s: event_base_priority_init(2)", __func__);
		event_base_free(base);
		base = NULL;
	}
	return base;
}

int
worker_main(const struct config *cfg, struct shm_seg *seg, int id,
    int listen_fd, int wake_fd)
{
	static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	struct worker wk;
	struct shm_worker_stats *st;
	struct sigaction sa;
	struct timeval tick = { 0, WORKER_TICK_MS * 1000 };
	struct wctx *w;
	char role[32];
	int rc = 1, s, p;
	size_t i;

	memset(&wk, 0, sizeof(wk));
	if (id < 0 || id >= SHM_MAX_WORKERS) {
		log_warnx("%s: worker id %d out of range", __func__, id);
		return 1;
	}
	snprintf(role, sizeof(role), "worker %d", id);
	log_set_role(role);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	/* A peer that vanished must give EPIPE, not kill the worker. */
	sigaction(SIGPIPE, &sa, NULL);

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("%s: calloc(%zu)", __func__, sizeof(*w));
		goto cleanup;
	}
	wk.w = w;
	wk.wake_fd = wake_fd;
	if ((w->cfg = malloc(sizeof(*w->cfg))) == NULL) {
		log_warn("%s: malloc(%zu)", __func__, sizeof(*w->cfg));
		goto cleanup;
	}
	memcpy(w->cfg, cfg, sizeof(*cfg));
	w->seg = seg;
	w->id = id;
	if ((w->filters = filter_reg_new()) == NULL) {
		log_warn("%s: filter_reg_new", __func__);
		goto cleanup;
	}
	w->st = st = &seg->workers[id];
	(void)wctx_clock(w);
	w->started_unix = (int64_t)time(NULL);
	w->head = ring_head(seg);
	if (cfg->tls.cert[0] != '\0') {
		char err[512];

		w->tls = tls_ctx_new(cfg->tls.cert, cfg->tls.key, err,
		    sizeof(err));
		if (w->tls == NULL) {
			log_warnx("%s", err);
			goto cleanup;
		}
	}

	/* libevent accepts until EAGAIN: the listener must not block. */
	if (evutil_make_socket_nonblocking(listen_fd) == -1) {
		log_warn("%s: O_NONBLOCK on fd %d", __func__, listen_fd);
		goto cleanup;
	}
	if ((w->base = worker_base_new()) == NULL)
		goto cleanup;
	wk.lev = evconnlistener_new(w->base, worker_accept_cb, &wk,
	    LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd);
	if (wk.lev == NULL) {
		log_warn("%s: evconnlistener_new(fd %d)", __func__, listen_fd);
		goto cleanup;
	}
	evconnlistener_set_error_cb(wk.lev, worker_accept_error_cb);
	wk.wake_ev = event_new(w->base, wake_fd, EV_READ | EV_PERSIST,
	    worker_wake_cb, &wk);
	wk.pump_ev = event_new(w->base, -1, 0, worker_pump_cb, &wk);
	wk.tick_ev = event_new(w->base, -1, EV_PERSIST, worker_tick_cb, &wk);
	w->filter_ev = evtimer_new(w->base, worker_filter_cb, w);
	wk.beat_ev = event_new(w->base, -1, EV_PERSIST, worker_beat_cb, &wk);
	wk.ping_ev = event_new(w->base, -1, EV_PERSIST, worker_ping_cb, &wk);
	wk.resume_ev = evtimer_new(w->base, worker_resume_cb, &wk);
	wk.stop_ev = evtimer_new(w->base, worker_stop_cb, &wk);
	if (client_reaper_init(w) == -1)
		goto cleanup;
	if (wk.wake_ev == NULL || wk.pump_ev == NULL || wk.tick_ev == NULL ||
	    w->filter_ev == NULL || wk.beat_ev == NULL || wk.ping_ev == NULL ||
	    wk.resume_ev == NULL || wk.stop_ev == NULL ||
	    event_priority_set(wk.wake_ev, WORKER_PRI_RECORD) == -1) {
		log_warnx("%s: event_new", __func__);
		goto cleanup;
	}
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		wk.sig_ev[i] = evsignal_new(w->base, sigs[i], worker_signal_cb,
		    &wk);
		if (wk.sig_ev[i] == NULL || event_add(wk.sig_ev[i], NULL) == -1) {
			log_warnx("%s: evsignal %d", __func__, sigs[i]);
			goto cleanup;
		}
	}
	if (event_add(wk.wake_ev, NULL) == -1 ||
	    event_add(wk.tick_ev, &tick) == -1 || worker_timers(&wk) == -1) {
		log_warnx("%s: event_add", __func__);
		goto cleanup;
	}

	/* A predecessor killed with -9 still holds connection counts. */
	if ((i = limits_reclaim(seg->limits, id)) > 0)
		log_info("gave back %zu connection counts of my predecessor", i);
	/* Gauges start from zero: a predecessor's clients are gone. Counters
	 * carry on (they only grow). */
	shm_store(&st->clients, 0, relaxed);    /* gauges: ours alone */
	for (s = 0; s < RV_COUNT; s++)
		for (p = 0; p < SP_COUNT; p++)
			shm_store(&st->conns[s][p], 0, relaxed);
	shm_store(&st->pid, (uint32_t)getpid(), relaxed);
	shm_store(&st->started_unix, w->started_unix, relaxed);
	shm_store(&st->alive, 1, release);      /* pairs: ep_worker_alive */
	worker_sample(w);
	worker_pump(&wk);
	log_info("serving on fd %d", listen_fd);

	if (event_base_dispatch(w->base) == -1) {
		log_warnx("%s: event_base_dispatch", __func__);
		goto cleanup;
	}
	rc = 0;
	log_info("stopped");
cleanup:
	if (w != NULL)
		shm_store(&seg->workers[id].alive, 0, relaxed);
	worker_free(&wk);
	return rc;
}
