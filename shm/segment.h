/*
 * Creating, attaching and removing the POSIX shared-memory segment whose
 * layout is in layout.h. Helpers here never log: they fill err.
 */
#ifndef SHM_SEGMENT_H
#define SHM_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "shm/layout.h"

struct shm_seg {
	void *base;
	size_t size;
	struct shm_header *hdr;
	struct ring_ctl *ctl;
	struct ring_slot *slots;
	struct shm_ingest_stats *ingest;
	struct shm_log_status *logs;       /* SHM_MAX_LOGS */
	struct shm_worker_stats *workers;  /* SHM_MAX_WORKERS */
	struct shm_limits *limits;
	struct shm_config_box *config;
	uint8_t *data;
	uint64_t slot_mask;
	uint64_t data_size;
	int lockfd;             /* holds the in-use lock (>= 3); 0: none */
	char name[64];          /* "": anonymous */
	char note[512];         /* what became of a segment found at the name */
};

/*
 * Create the segment `name` (e.g. "/certstream-8080"), always anew with
 * O_EXCL and mode 0600. A segment found at the name is only looked into if
 * this user made it with mode 0600; anything else there (another owner or
 * mode, not a certstream segment) is moved aside to <name>.bad-<unix time>
 * (or unlinked) and seg->note says so; if it cannot be moved, the segment
 * is anonymous (seg->name "", nothing carries over a restart) and the note
 * says that. A segment of ours left behind by a killed master is
 * detected and replaced; one still in use is refused.
 * In use means locked: the creator holds an flock(2) on the segment through
 * seg->lockfd, and the processes it forks inherit it, so the lock lasts as
 * long as any of them runs, whatever became of the pid in the header (a
 * dead master's pid may have been reused). When the header's master is
 * dead but the lock is held (its children are stopping), this waits up to
 * 5 s for them. A replaced segment of this layout hands on its live
 * log-status rows (name, url, flags, next_index: the exact resume points)
 * and, when the ring geometry matches and every record in it validates,
 * its ring (records keep their seq); a layout that does not validate hands
 * on nothing (noted). A ring not carried over starts at a seq above every
 * one an earlier run at this name can have issued (segment.c says how):
 * seqs are the records' ids, never reused. An anonymous segment
 * (shm_seg_create_anon) starts at 0.
 * nslots is rounded up to a power of two. Returns 0, or -1 with err filled.
 */
int shm_seg_create(struct shm_seg *seg, const char *name, uint64_t nslots,
    uint64_t data_size, uint32_t nworkers, char *err, size_t errlen);

/* An anonymous MAP_SHARED segment with the same layout (tests, --render). */
int shm_seg_create_anon(struct shm_seg *seg, uint64_t nslots,
    uint64_t data_size, uint32_t nworkers, char *err, size_t errlen);

/* Unmap and drop this process's hold on the in-use lock (does not unlink). */
void shm_seg_close(struct shm_seg *seg);

/* Remove the name; 0 or -1 (errno). */
int shm_seg_unlink(const char *name);

#endif
