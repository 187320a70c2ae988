/*
 * The master process: owns the configuration, the pidfile, the shared
 * segment, the wake eventfds and the listeners; forks the ingest and the
 * workers, restarts them when they die, and turns signals into actions.
 */
#ifndef MASTER_MASTER_H
#define MASTER_MASTER_H

#include "common/config.h"

struct master_opts {
	int daemonize;          /* -d */
	const char *pidfile;    /* -p, overrides cfg->pidfile; NULL */
};

/* Run the daemon with cfg (already loaded and valid; the master keeps it
 * and replaces it on SIGHUP). Returns the process exit status. */
int master_run(struct config *cfg, const struct master_opts *opts);

#endif
