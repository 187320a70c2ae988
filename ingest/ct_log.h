/*
 * The CT source's private parts, shared by ct.c (the logs watched, the
 * list, the state file) and ct_log.c (a log's status and publish path).
 */
#ifndef INGEST_CT_LOG_H
#define INGEST_CT_LOG_H

#include <stdint.h>
#include <time.h>

#include "ingest/ct.h"
#include "ingest/pipeline.h"

struct ct_log_priv {
	struct ct_log pub;
	char logged[SHM_LOG_ERR_MAX];  /* last reason logged: log changes once */
	int consecutive;
	uint64_t progress_next;        /* l->next when last seen moving */
	time_t progress_at;            /* when, or when last caught up */
	int stalled;                   /* behind and not moving: failing */
};

/* The running segment and pipeline (ct.c). */
struct shm_seg *ct_seg(void);
struct pipeline *ct_pipeline(void);

/* A log whose tree head verifies but whose entries never come (every
 * get-entries failing, say) is failing, not ok: 1 when behind tree_size
 * and no entry taken for two whole request timeouts (logged once). */
int ct_log_stalled(struct ct_log_priv *lp, uint64_t tree_size, time_t now);

#endif
