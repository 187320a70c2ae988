/*
 * Cross-log dedup: a certificate (SHA-256 of its DER) seen within ttl
 * seconds is a duplicate. Memory is fixed at creation: max_entries keys in a
 * FIFO (insertion order = expiry order, the TTL being the same for all) and
 * an open-addressing index over it. When full, the oldest key is forgotten
 * early (a late duplicate then streams again: bounded memory wins).
 * The set may live in named shared memory, kept across ingest restarts
 * (and a kill -9 mid-change: shm/mark.h). No logging.
 */
#ifndef SHM_DEDUP_H
#define SHM_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#define DEDUP_KEY_LEN 32

struct dedup;

/* NULL on allocation failure. */
struct dedup *dedup_new(size_t max_entries, int64_t ttl_secs);

/* The same in the POSIX shared memory `name`, so that the set outlives the
 * process: a set found there is kept (*kept = 1) only if it is this user's
 * with mode 0600 (as created here, with O_EXCL), of the same max_entries,
 * not torn by a process killed while changing it and consistent throughout;
 * anything else at the name is removed and the set starts empty in a new
 * segment, or in private memory if the name cannot be taken. NULL on
 * failure. dedup_free unmaps it; shm_unlink removes it. */
struct dedup *dedup_open(const char *name, size_t max_entries,
    int64_t ttl_secs, int *kept);

void dedup_free(struct dedup *d);

/* 1 if key was seen within the TTL before now (a duplicate), else 0 and the
 * key is remembered as seen at now. A shared set found inconsistent (an
 * index or position out of range, a probe run that never ends) is cleared
 * first: nothing read from it is used unchecked. */
int dedup_check(struct dedup *d, const uint8_t key[DEDUP_KEY_LEN],
    int64_t now);

/* 1 if key was seen within the TTL before now, else 0; changes nothing.
 * The ingest asks this before rendering and dedup_check once the
 * certificate rendered: a certificate that did not render in one log is
 * not remembered, so its copy in another log still gets its chance. */
int dedup_seen(struct dedup *d, const uint8_t key[DEDUP_KEY_LEN], int64_t now);

/* Keys currently remembered. */
size_t dedup_size(const struct dedup *d);

/* The set's segment beside the main segment seg_name ("/certstream-8080"
 * -> "/certstream-8080-dedup"), so that a replacement ingest finds what
 * the killed one streamed; "" when seg_name is "" (an anonymous segment:
 * the set is then private). The one place the name is made. */
#define DEDUP_NAME_MAX 80
void dedup_shm_name(const char *seg_name, char name[DEDUP_NAME_MAX]);

/* Remove the set's segment beside seg_name, if any: a clean stop, or a
 * new daemon (which starts with an empty set). */
void dedup_remove(const char *seg_name);

#endif
