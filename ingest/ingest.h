/*
 * The ingest process: one per daemon, forked by the master. Runs the
 * configured source (CT logs or replay) and publishes to the ring.
 */
#ifndef INGEST_INGEST_H
#define INGEST_INGEST_H

#include "common/config.h"
#include "shm/segment.h"

/* Runs until SIGTERM/SIGINT; SIGHUP re-reads cfg->path and applies what can
 * change live. Returns the process exit status. */
int ingest_main(const struct config *cfg, struct shm_seg *seg,
    const int *wake_fds, int nworkers);

#endif
