/*
 * The master: nginx's cycle in miniature. Everything shared is created
 * before the first fork (segment, eventfds, listeners); signal handlers only
 * set flags; the loop sleeps in sigsuspend() and acts on them: reap and
 * respawn, reload, reopen logs, shut down.
 */
#include "master/master.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broadcast/worker.h"
#include "common/clock.h"
#include "common/log.h"
#include "ingest/ingest.h"
#include "master/daemon.h"
#include "master/listen.h"
#include "master/pidfile.h"
#include "master/privdrop.h"
#include "master/proctitle.h"
#include "shm/atomics.h"
#include "shm/config_box.h"
#include "shm/dedup.h"
#include "shm/ring.h"
#include "shm/segment.h"

/* Restart back-off: the first restart is immediate, later ones wait
 * longer, up to the cap; a child that ran this long is healthy again. */
#define BACKOFF_FIRST_MS 250
#define BACKOFF_CAP_MS 10000
#define STABLE_MS 60000
/* hot_reload: how often the watched file is looked at. */
#define WATCH_MS 1000
/* SIGTERM to children, then SIGKILL after this: the whole stop stays
 * under 5 s. */
#define STOP_GRACE_MS 4500
/* Of which the ingest, stopped first, may take this much; the workers
 * then have the rest (they take 2.5 s at most). */
#define INGEST_STOP_MS 1500

struct child {
	pid_t pid;              /* 0: not running */
	int id;                 /* worker index, -1 for ingest */
	int64_t started_ms;
	int64_t respawn_at;     /* monotonic ms it is due, 0 = not pending */
	int backoff_ms;         /* delay of the next restart */
	char title[48];         /* "worker 1" */
};

struct master {
	struct config *cfg;
	struct shm_seg seg;
	int have_seg;
	char shm_name[64];
	int nworkers;
	int lfds[SHM_MAX_WORKERS];
	int wfds[SHM_MAX_WORKERS];
	int pidfd;
	char pidpath[CONFIG_STR];
	pid_t pid;
	int stopping;
	struct privdrop priv;   /* who the children run as */
	struct child ingest;
	struct child workers[SHM_MAX_WORKERS];
	int64_t watch_at;       /* hot_reload: next look at the file, 0 off */
	struct stat watch_st;   /* what it looked like last time */
	int watch_seen;
};

static volatile sig_atomic_t sig_term, sig_hup, sig_usr1, sig_chld, sig_alrm;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		sig_term = 1;
		break;
	case SIGHUP:
		sig_hup = 1;
		break;
	case SIGUSR1:
		sig_usr1 = 1;
		break;
	case SIGCHLD:
		sig_chld = 1;
		break;
	case SIGALRM:
		sig_alrm = 1;
		break;
	}
}

static const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD,
	SIGALRM };
#define NHANDLED (int)(sizeof(handled) / sizeof(handled[0]))

static int
signals_install(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	for (int i = 0; i < NHANDLED; i++) {
		sigaddset(&set, handled[i]);
		if (sigaction(handled[i], &sa, NULL) == -1) {
			log_warn("sigaction(%d)", handled[i]);
			return -1;
		}
	}
	/* Blocked except inside sigsuspend(): no flag is missed between the
	 * check and the sleep. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
		log_warn("sigprocmask");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* In a new child: back to default dispositions, nothing blocked. */
static void
signals_reset(void)
{
	sigset_t set;

	for (int i = 0; i < NHANDLED; i++)
		signal(handled[i], SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

/* One-shot timer for the next due restart or the stop deadline. */
static void
timer_arm(int64_t due_ms)
{
	struct itimerval it;
	int64_t d = due_ms - clock_mono_ms();

	memset(&it, 0, sizeof(it));
	if (due_ms > 0) {
		if (d < 1)
			d = 1;
		it.it_value.tv_sec = d / 1000;
		it.it_value.tv_usec = (d % 1000) * 1000;
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

static struct child *
child_by_pid(struct master *m, pid_t pid)
{
	if (m->ingest.pid == pid)
		return &m->ingest;
	for (int i = 0; i < m->nworkers; i++)
		if (m->workers[i].pid == pid)
			return &m->workers[i];
	return NULL;
}

static void __attribute__((noreturn))
child_run(struct master *m, struct child *c)
{
	char title[96];
	char comm[16];
	int rc;

	signals_reset();
	log_set_role(c->title);
	snprintf(title, sizeof(title), "certstreamd: %s", c->title);
	if (c->id < 0)
		snprintf(comm, sizeof(comm), "cs-ingest");
	else
		snprintf(comm, sizeof(comm), "cs-worker-%d", (c->id + 1) % 1000);
	proctitle_set(title, comm);

	/* Keep only what this role needs. */
	if (m->pidfd != -1)
		close(m->pidfd);
	for (int i = 0; i < m->nworkers; i++) {
		if (i != c->id)
			close(m->lfds[i]);
		if (c->id >= 0 && i != c->id)
			close(m->wfds[i]);
	}
	if (privdrop_apply(&m->priv) == -1) {
		log_warn("%s: drop privileges to uid %ld gid %ld", __func__,
		    (long)m->priv.uid, (long)m->priv.gid);
		_exit(1);
	}
	/* A child must not outlive a master killed with SIGKILL. Set after
	 * the privilege drop, which clears it (prctl(2): a change of the
	 * effective uid or gid resets the parent-death signal); the check
	 * after it catches a master that died before. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != m->pid)
		_exit(0);
	if (c->id < 0)
		rc = ingest_main(m->cfg, &m->seg, m->wfds, m->nworkers);
	else
		rc = worker_main(m->cfg, &m->seg, c->id, m->lfds[c->id],
		    m->wfds[c->id]);
	exit(rc);
}

static int
child_spawn(struct master *m, struct child *c)
{
	pid_t pid;

	c->respawn_at = 0;
	if ((pid = fork()) == -1) {
		log_warn("%s: fork %s", __func__, c->title);
		c->respawn_at = clock_mono_ms() + BACKOFF_FIRST_MS;
		return -1;
	}
	if (pid == 0)
		child_run(m, c);
	c->pid = pid;
	c->started_ms = clock_mono_ms();
	log_debug("%s started, pid %ld", c->title, (long)pid);
	return 0;
}

static void
child_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with code %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "ended with status 0x%x", status);
}

static void
child_mark_dead(struct master *m, struct child *c)
{
	if (!m->have_seg)
		return;
	/* relaxed: the child is gone; readers test the pid as well */
	if (c->id < 0) {
		shm_store(&m->seg.ingest->alive, 0, relaxed);
		shm_store(&m->seg.ingest->pid, 0, relaxed);
	} else {
		shm_store(&m->seg.workers[c->id].alive, 0, relaxed);
		shm_store(&m->seg.workers[c->id].pid, 0, relaxed);
	}
}

static void
reap(struct master *m)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = child_by_pid(m, pid);
		char how[96];
		int64_t now = clock_mono_ms();

		if (c == NULL)
			continue;
		child_describe(status, how, sizeof(how));
		c->pid = 0;
		child_mark_dead(m, c);
		if (m->stopping) {
			log_debug("%s (pid %ld) %s", c->title, (long)pid, how);
			continue;
		}
		if (now - c->started_ms >= STABLE_MS)
			c->backoff_ms = 0;
		c->respawn_at = now + c->backoff_ms;
		log_warnx("%s (pid %ld) %s after %.1f s; restarting%s%d ms",
		    c->title, (long)pid, how,
		    (double)(now - c->started_ms) / 1000.0,
		    c->backoff_ms ? " in " : " now, next back-off ",
		    c->backoff_ms ? c->backoff_ms : BACKOFF_FIRST_MS);
		c->backoff_ms = c->backoff_ms == 0 ? BACKOFF_FIRST_MS :
		    (c->backoff_ms * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS :
		    c->backoff_ms * 2);
	}
}

static void
respawn_one(struct master *m, struct child *c, int64_t now, int64_t *next)
{
	if (c->pid != 0 || c->respawn_at == 0)
		return;
	if (c->respawn_at <= now) {
		if (child_spawn(m, c) == 0) {
			/* relaxed: statistics */
			if (c->id < 0)
				shm_fetch_add(&m->seg.ingest->restarts, 1,
				    relaxed);
			else
				shm_fetch_add(&m->seg.workers[c->id].restarts,
				    1, relaxed);
			log_info("%s restarted, pid %ld", c->title, (long)c->pid);
			return;
		}
	}
	if (c->respawn_at && (*next == 0 || c->respawn_at < *next))
		*next = c->respawn_at;
}

static void reload(struct master *m);

static const char *
watch_path(const struct master *m)
{
	return m->cfg->hot_reload.watch_path[0] ? m->cfg->hot_reload.watch_path :
	    m->cfg->path;
}

/* hot_reload: a changed file (mtime, size or inode) reloads as SIGHUP
 * does; a half-written file is refused like any bad file and the next
 * change is picked up. */
static void
watch_check(struct master *m, int64_t now)
{
	struct stat st;
	const char *p = watch_path(m);

	if (!m->cfg->hot_reload.enabled || p[0] == '\0') {
		m->watch_at = 0;
		m->watch_seen = 0;
		return;
	}
	if (m->watch_at != 0 && now < m->watch_at)
		return;
	m->watch_at = now + WATCH_MS;
	if (stat(p, &st) == -1)
		return;
	if (m->watch_seen && (st.st_mtim.tv_sec != m->watch_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != m->watch_st.st_mtim.tv_nsec ||
	    st.st_size != m->watch_st.st_size || st.st_ino != m->watch_st.st_ino)) {
		log_info("hot reload: %s changed", p);
		m->watch_st = st;
		reload(m);
		return;
	}
	m->watch_st = st;
	m->watch_seen = 1;
}

/* Start every due child, look at the watched file; arm the timer for the
 * next of these. */
static void
tick(struct master *m)
{
	int64_t now = clock_mono_ms(), next = 0;

	respawn_one(m, &m->ingest, now, &next);
	for (int i = 0; i < m->nworkers; i++)
		respawn_one(m, &m->workers[i], now, &next);
	watch_check(m, now);
	if (m->watch_at && (next == 0 || m->watch_at < next))
		next = m->watch_at;
	timer_arm(next);
}

static void
signal_children(struct master *m, int sig)
{
	if (m->ingest.pid > 0)
		kill(m->ingest.pid, sig);
	for (int i = 0; i < m->nworkers; i++)
		if (m->workers[i].pid > 0)
			kill(m->workers[i].pid, sig);
}

static int
children_alive(const struct master *m)
{
	int n = m->ingest.pid > 0;

	for (int i = 0; i < m->nworkers; i++)
		n += m->workers[i].pid > 0;
	return n;
}

static void
reload(struct master *m)
{
	struct config *next;
	char err[1024], kept[512];
	enum log_level lvl;
	int n;

	if ((next = malloc(sizeof(*next))) == NULL) {
		log_warn("%s: malloc(%zu)", __func__, sizeof(*next));
		return;
	}
	if (config_load(next, m->cfg->path, err, sizeof(err)) == -1) {
		log_error("reload refused, running configuration kept: %s", err);
		goto out;
	}
	n = config_keep_static(next, m->cfg, kept, sizeof(kept));
	if (n > 0)
		log_warnx("reload: %s changed; a restart is needed to apply %s",
		    kept, n > 1 ? "them" : "it");
	/* The children take this very configuration, never the file: each
	 * opens log.target itself (below, the master only keeps its own). */
	if (m->have_seg)
		config_box_put(&m->seg, next);
	if (log_level_parse(next->log_level, &lvl) == -1)
		lvl = LOG_LVL_INFO;
	log_set_level(lvl);
	if (strcmp(next->log.target, m->cfg->log.target) != 0 &&
	    log_retarget(next->log.target, lvl) == -1) {
		log_warn("reload: log.target %s; keeping %s", next->log.target,
		    m->cfg->log.target);
		snprintf(next->log.target, sizeof(next->log.target), "%s",
		    m->cfg->log.target);
	}
	memcpy(m->cfg, next, sizeof(*next));
	log_info("reload: configuration %s applied",
	    m->cfg->path[0] ? m->cfg->path : "(defaults)");
	signal_children(m, SIGHUP);
out:
	free(next);
}

static void
signal_workers(struct master *m, int sig)
{
	for (int i = 0; i < m->nworkers; i++)
		if (m->workers[i].pid > 0)
			kill(m->workers[i].pid, sig);
}

/*
 * The ingest first: it stops publishing and saves its resume points with
 * what it has published. Only then the workers, which deliver everything
 * up to head before they close their clients: a restart then neither
 * skips nor repeats a record. The ingest gets INGEST_STOP_MS of the
 * STOP_GRACE_MS; whatever still runs at the end is killed.
 */
static void
shutdown_children(struct master *m)
{
	sigset_t empty;
	int64_t t0 = clock_mono_ms(), deadline = t0 + STOP_GRACE_MS;
	int64_t ingest_deadline = t0 + INGEST_STOP_MS;
	int killed = 0, workers_told = 0;

	sigemptyset(&empty);
	m->stopping = 1;
	if (m->ingest.pid > 0)
		kill(m->ingest.pid, SIGTERM);
	timer_arm(ingest_deadline);
	reap(m);
	while (children_alive(m) > 0) {
		if (!workers_told && (m->ingest.pid == 0 ||
		    clock_mono_ms() >= ingest_deadline)) {
			if (m->ingest.pid > 0)
				log_warnx("ingest still running after %d ms; "
				    "stopping the workers", INGEST_STOP_MS);
			signal_workers(m, SIGTERM);
			workers_told = 1;
			timer_arm(deadline);
		}
		if (!killed && clock_mono_ms() >= deadline) {
			log_warnx("%d children still running after %d ms: SIGKILL",
			    children_alive(m), STOP_GRACE_MS);
			signal_children(m, SIGKILL);
			killed = 1;
		}
		if (!sig_chld && !sig_alrm)
			sigsuspend(&empty);
		sig_chld = 0;
		sig_alrm = 0;
		reap(m);
	}
	timer_arm(0);
}

/*
 * A start-up failure: logged, and also written to stderr when the log goes
 * elsewhere, so whoever started the daemon (a terminal, an init script
 * waiting on -d) sees why it did not start.
 */
static void __attribute__((format(printf, 2, 3)))
startup_error(const struct config *cfg, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	if (strcmp(cfg->log.target, "stderr") != 0)
		fprintf(stderr, "certstreamd: %s\n", msg);
}

/* user:/group: resolved, the fallback said, and the files the children
 * open checked as their user, before anything is started. */
static int
resolve_user(struct master *m)
{
	char err[2 * CONFIG_STR + 512];

	if (privdrop_resolve(m->cfg, &m->priv, err, sizeof(err)) == -1 ||
	    privdrop_check(&m->priv, m->cfg, err, sizeof(err)) == -1) {
		startup_error(m->cfg, "%s", err);
		return -1;
	}
	if (m->priv.note[0] != '\0')
		log_warnx("%s", m->priv.note);
	return 0;
}

int
master_run(struct config *cfg, const struct master_opts *opts)
{
	static struct master mm;
	struct master *m = &mm;
	char err[1024], cwd[256];
	enum log_level lvl;
	int notify_fd = -1, rc = 1, i;
	pid_t other;
	sigset_t empty;

	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	m->pidfd = -1;
	for (i = 0; i < SHM_MAX_WORKERS; i++)
		m->lfds[i] = m->wfds[i] = -1;
	m->ingest.id = -1;
	snprintf(m->ingest.title, sizeof(m->ingest.title), "ingest");

	if (log_level_parse(cfg->log_level, &lvl) == -1)
		lvl = LOG_LVL_INFO;
	if (log_init(cfg->log.target, lvl, "master") == -1) {
		log_warn("log.target %s", cfg->log.target);
		return 1;
	}
	/* -d changes directory before the pidfile is removed: keep it
	 * absolute (cfg->pidfile already is). */
	if (opts->pidfile && opts->pidfile[0] != '/' &&
	    getcwd(cwd, sizeof(cwd)) != NULL)
		snprintf(m->pidpath, sizeof(m->pidpath), "%s/%s", cwd,
		    opts->pidfile);
	else
		snprintf(m->pidpath, sizeof(m->pidpath), "%s",
		    opts->pidfile ? opts->pidfile : cfg->pidfile);
	if (m->pidpath[0] != '\0' &&
	    (m->pidfd = pidfile_open(m->pidpath, &other, err, sizeof(err))) == -1) {
		startup_error(cfg, "%s", err);
		return 1;
	}
	if (resolve_user(m) == -1)
		goto out;
	if (opts->daemonize && daemon_start(&notify_fd, err, sizeof(err)) == -1) {
		startup_error(cfg, "daemonize: %s", err);
		goto out;
	}
	m->pid = getpid();
	if (m->pidfd != -1 &&
	    pidfile_write(m->pidfd, m->pid, err, sizeof(err)) == -1) {
		startup_error(cfg, "%s: %s", m->pidpath, err);
		goto out;
	}

	m->nworkers = config_workers(cfg);
	if (cfg->shm_name[0])
		snprintf(m->shm_name, sizeof(m->shm_name), "%s", cfg->shm_name);
	else
		snprintf(m->shm_name, sizeof(m->shm_name), "/certstream-%d",
		    cfg->port);
	if (shm_seg_create(&m->seg, m->shm_name, cfg->buffer_size,
	    cfg->buffer_bytes, (uint32_t)m->nworkers, err, sizeof(err)) == -1) {
		startup_error(cfg, "shared memory %s: %s", m->shm_name, err);
		goto out;
	}
	m->have_seg = 1;
	/* An edge's ids are the stream's sequence numbers (ingest/nats_edge.c):
	 * an empty ring starts low, before any worker shares it; the edge's
	 * first record moves it up to its sequence. */
	if (cfg->source == SOURCE_NATS &&
	    ring_head(&m->seg) == ring_tail(&m->seg))
		ring_start_at(&m->seg, 1);
	/* What was found at the name and not carried over: said once. */
	if (m->seg.note[0] != '\0')
		log_warnx("shared memory %s: %s", m->shm_name, m->seg.note);
	for (i = 0; i < m->nworkers; i++) {
		if ((m->wfds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
			startup_error(cfg, "eventfd: %s", strerror(errno));
			goto out;
		}
	}
	if (listen_open_all(cfg->host, cfg->port, m->lfds, m->nworkers, err,
	    sizeof(err)) == -1) {
		startup_error(cfg, "listen: %s", err);
		goto out;
	}
	if (signals_install() == -1)
		goto out;
	if (opts->daemonize) {
		daemon_ready(notify_fd);
		notify_fd = -1;
		/* stderr is /dev/null from now on: keep the log somewhere. */
		if (strcmp(cfg->log.target, "stderr") == 0) {
			log_init("syslog", lvl, "master");
			log_info("detached: logging to syslog (log.target is stderr)");
		}
	}
	proctitle_set("certstreamd: master", NULL);

	child_spawn(m, &m->ingest);
	for (i = 0; i < m->nworkers; i++) {
		m->workers[i].id = i;
		snprintf(m->workers[i].title, sizeof(m->workers[i].title),
		    "worker %d", i + 1);
		child_spawn(m, &m->workers[i]);
	}
	log_info("certstreamd %s: %d workers on %s:%d, source %s, shm %s, pid %ld, "
	    "children run as %s", CERTSTREAM_VERSION, m->nworkers, cfg->host,
	    cfg->port, cfg->source == SOURCE_REPLAY ? "replay" :
	    cfg->source == SOURCE_NATS ? "nats" : "ct",
	    m->shm_name, (long)m->pid,
	    m->priv.drop ? m->priv.name : "the master's user");

	tick(m);
	sigemptyset(&empty);
	for (;;) {
		if (!sig_term && !sig_hup && !sig_usr1 && !sig_chld && !sig_alrm)
			sigsuspend(&empty);
		if (sig_chld) {
			sig_chld = 0;
			reap(m);
		}
		if (sig_term) {
			log_info("stopping");
			break;
		}
		if (sig_hup) {
			sig_hup = 0;
			reload(m);
		}
		if (sig_usr1) {
			sig_usr1 = 0;
			if (log_reopen() == -1)
				log_warn("reopen log %s", m->cfg->log.target);
			else
				log_info("log reopened");
			signal_children(m, SIGUSR1);
		}
		sig_alrm = 0;
		tick(m);
	}
	shutdown_children(m);
	rc = 0;
	log_info("stopped");
out:
	for (i = 0; i < SHM_MAX_WORKERS; i++) {
		if (m->lfds[i] != -1)
			close(m->lfds[i]);
		if (m->wfds[i] != -1)
			close(m->wfds[i]);
	}
	/* An unnamed segment (the name held by a file we could not move):
	 * that file is not ours to remove. */
	if (m->have_seg && m->seg.name[0] == '\0')
		shm_seg_close(&m->seg);
	else if (m->have_seg) {
		shm_seg_close(&m->seg);
		if (shm_seg_unlink(m->shm_name) == -1)
			log_warn("shm_unlink %s", m->shm_name);
		/* The ingest's dedup set, if one outlived it. */
		dedup_remove(m->shm_name);
	}
	/* Only the lock holder gets here (children never return, the
	 * starter of -d exits inside daemon_start): the file is ours. */
	if (m->pidfd != -1)
		pidfile_remove(m->pidfd, m->pidpath);
	if (notify_fd != -1)
		close(notify_fd);
	return rc;
}
