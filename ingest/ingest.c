/*
 * The ingest process: one event loop running the configured source (CT logs
 * or a replay file; or, on an edge, a thread consuming the NATS stream)
 * that publishes to the ring. Signals only break or poke
 * the loop; the work is done in the callbacks.
 */
#include "ingest/ingest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/proc.h"
#include "ingest/ct.h"
#include "ingest/nats_edge.h"
#include "ingest/nats_pub.h"
#include "ingest/pipeline.h"
#include "ingest/replay.h"
#include "shm/atomics.h"
#include "shm/config_box.h"
#include "shm/ring.h"
#include "shm/ring_deflate.h"

#define INGEST_TICK_SECS 5

struct ingest {
	struct event_base *base;
	const struct config *cfg;
	struct shm_seg *seg;
	struct ring_writer w;
	struct replay *replay;
	struct nats_edge *edge;
	int ct_running;
	double rate;                /* replay settings in force */
	int loop;
	char log_target[CONFIG_STR];    /* log.target in force */
};

static void
ingest_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct ingest *in = arg;

	(void)what;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(in->base);
}

/* SIGHUP: take the configuration the master parsed and applied
 * (shm/config_box.h) and apply what ingest can change live. */
static void
ingest_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct ingest *in = arg;
	struct config *nc;
	enum log_level lvl;

	(void)sig;
	(void)what;
	if ((nc = malloc(sizeof(*nc))) == NULL) {
		log_warn("%s: malloc(%zu)", __func__, sizeof(*nc));
		return;
	}
	if (config_box_get(in->seg, nc) == 0) {
		log_info("SIGHUP: the master has applied no new configuration");
		goto out;
	}
	if (log_level_parse(nc->log_level, &lvl) == -1)
		lvl = LOG_LVL_INFO;
	log_set_level(lvl);
	if (strcmp(nc->log.target, in->log_target) != 0) {
		if (log_retarget(nc->log.target, lvl) == -1)
			log_warn("reload: log.target %s; keeping %s",
			    nc->log.target, in->log_target);
		else
			snprintf(in->log_target, sizeof(in->log_target), "%s",
			    nc->log.target);
	}
	if (in->replay != NULL) {
		if (strcmp(nc->replay.file, in->cfg->replay.file) != 0)
			log_warnx("reload: replay.file changed; it takes effect "
			    "on restart");
		if (nc->replay.rate != in->rate || nc->replay.loop != in->loop) {
			in->rate = nc->replay.rate;
			in->loop = nc->replay.loop;
			replay_reconfigure(in->replay, in->rate, in->loop);
			log_info("reload: replay rate %g/s%s", in->rate,
			    in->loop ? ", looping" : "");
		}
	}
	if (in->ct_running && ct_reload(nc) == -1) {
		log_error("reload: the CT source refused the new configuration");
		goto out;
	}
	log_info("configuration reloaded");
out:
	free(nc);
}

/* Resident size for /metrics and /health/deep, every few seconds. */
static void
ingest_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;
	uint64_t rss;

	(void)fd;
	(void)what;
	/* relaxed: a statistic */
	if (proc_rss(0, &rss) == 0)
		shm_store(&in->seg->ingest->rss_bytes, rss, relaxed);
}

static void
ingest_on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (log_reopen() == -1)
		log_warn("log_reopen");
}

int
ingest_main(const struct config *cfg, struct shm_seg *seg,
    const int *wake_fds, int nworkers)
{
	static const int stop_sigs[] = { SIGTERM, SIGINT };
	struct ingest in;
	struct event *ev[5] = { NULL, NULL, NULL, NULL, NULL };
	struct timeval tick = { INGEST_TICK_SECS, 0 };
	int rc = 1, nev = 0;

	memset(&in, 0, sizeof(in));
	in.cfg = cfg;
	snprintf(in.log_target, sizeof(in.log_target), "%s", cfg->log.target);
	in.seg = seg;
	log_set_role("ingest");
	signal(SIGPIPE, SIG_IGN);
	if ((in.base = event_base_new()) == NULL) {
		log_error("%s: event_base_new failed", __func__);
		return 1;
	}
	for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++)
		ev[nev++] = evsignal_new(in.base, stop_sigs[i], ingest_on_stop, &in);
	ev[nev++] = evsignal_new(in.base, SIGHUP, ingest_on_hup, &in);
	ev[nev++] = evsignal_new(in.base, SIGUSR1, ingest_on_usr1, &in);
	for (int i = 0; i < nev; i++) {
		if (ev[i] == NULL || evsignal_add(ev[i], NULL) == -1) {
			log_error("%s: evsignal_add failed", __func__);
			goto out;
		}
	}
	ev[nev] = event_new(in.base, -1, EV_PERSIST, ingest_on_tick, &in);
	if (ev[nev] == NULL || event_add(ev[nev++], &tick) == -1) {
		log_error("%s: event_add(tick) failed", __func__);
		goto out;
	}

	ring_writer_init(&in.w, seg, wake_fds, nworkers);
	in.w.ids = 1;   /* every message carries its id (FORMAT.md) */
	if (cfg->compression.enabled) {
		struct ring_deflate_cfg zc = {
			.level = cfg->compression.level,
			.key_records = (uint32_t)cfg->compression.keyframe_records,
			.key_ms = (uint32_t)cfg->compression.keyframe_ms,
		};

		/* Without it records just go out plain. */
		in.w.dfl = ring_deflate_new(&zc);
	}
	shm_store(&seg->ingest->pid, (uint32_t)getpid(), relaxed);
	shm_store(&seg->ingest->started_unix, (int64_t)time(NULL), relaxed);
	/* release: pairs with the acquire of alive in ep_health.c and
	 * worker.c: who sees the ingest alive sees its pid and start */
	shm_store(&seg->ingest->alive, 1, release);
	ingest_on_tick(-1, 0, &in);

	switch (cfg->source) {
	case SOURCE_REPLAY:
		in.rate = cfg->replay.rate;
		in.loop = cfg->replay.loop;
		if ((in.replay = replay_start(in.base, cfg, seg, &in.w)) == NULL)
			goto out;
		break;
	case SOURCE_NATS:
		if ((in.edge = nats_edge_start(cfg, seg, &in.w)) == NULL)
			goto out;
		break;
	case SOURCE_CT:
		/* before the pollers: their first entries go to the stream */
		if (cfg->nats.publish) {
			if (nats_pub_start(cfg, seg) == -1)
				goto out;
			pipeline_set_sink(nats_pub_entry,
			    PIPE_SINK_PASSED_FIRST);
		}
		if (ct_start(in.base, cfg, seg, &in.w) == -1)
			goto out;
		in.ct_running = 1;
		break;
	default:
		log_error("unknown source %d", (int)cfg->source);
		goto out;
	}

	log_info("started (pid %d)", (int)getpid());
	if (event_base_dispatch(in.base) == -1) {
		log_error("%s: event_base_dispatch failed", __func__);
		goto out;
	}
	rc = 0;
out:
	/* The state file first (the master allows the ingest INGEST_STOP_MS):
	 * it holds acknowledged points only; acks after it are sent again by
	 * the next ingest and dropped by the stream (Msg-Id). */
	if (in.ct_running)
		ct_stop();
	nats_pub_stop();
	nats_edge_stop(in.edge);
	/* relaxed: readers test the pid too (the master clears it) */
	shm_store(&seg->ingest->alive, 0, relaxed);
	replay_stop(in.replay);
	for (int i = 0; i < nev; i++)
		if (ev[i] != NULL)
			event_free(ev[i]);
	event_base_free(in.base);
	ring_deflate_free(in.w.dfl);
	return rc;
}
