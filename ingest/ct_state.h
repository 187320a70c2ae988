/*
 * The state file: for each log URL the index of the next entry to publish,
 * the last tree head verified (size and root, so that the next start
 * proves the log's new tree extends it) and the log id, as a JSON object
 *   {"<url>": {"next": N, "tree_size": S, "root_hash": "<64 hex>",
 *              "log_id": "<base64>"}, ...}
 * ({"<url>": N}, the older form, is still read; so is an entry without a
 * log id). The log id lets a log that moved to another URL resume. Saved atomically (temp
 * file, fsync, rename, fsync of the directory) so a crash leaves the old or
 * the new file, never a torn one. Helpers never log: 0/-1 and err.
 */
#ifndef INGEST_CT_STATE_H
#define INGEST_CT_STATE_H

#include <stddef.h>
#include <stdint.h>

struct ct_state_entry {
	char *url;
	uint64_t next;
	int have_head;               /* tree_size and root are set */
	uint64_t tree_size;
	uint8_t root[32];
	char log_id[48];             /* base64 SHA-256 of the key, or "" */
};

struct ct_state {
	struct ct_state_entry *e;
	size_t n, cap;
};

void ct_state_init(struct ct_state *st);
void ct_state_free(struct ct_state *st);

/* Read path into st (replacing its contents). A missing file is an empty
 * state, not an error; a malformed one is an error. */
int ct_state_load(struct ct_state *st, const char *path, char *err,
    size_t errlen);

/* 0 and *next if url is known, -1 if not. */
int ct_state_get(const struct ct_state *st, const char *url, uint64_t *next);

/* Set (or add) url's next index. -1 on allocation failure. */
int ct_state_set(struct ct_state *st, const char *url, uint64_t next);

/* The last verified tree head of url: 0 and *size, root if known. */
int ct_state_get_head(const struct ct_state *st, const char *url,
    uint64_t *size, uint8_t root[32]);

/* Forget url's verified tree head (a different log now at that URL). */
void ct_state_clear_head(struct ct_state *st, const char *url);

/* Set url's last verified tree head (url must have been set). -1 if not. */
int ct_state_set_head(struct ct_state *st, const char *url, uint64_t size,
    const uint8_t root[32]);

/* Set url's log id (url must have been set). -1 if not, or too long. */
int ct_state_set_id(struct ct_state *st, const char *url, const char *log_id);

/*
 * A log that moved: when url has no entry and another URL's entry has this
 * log id, that entry becomes url's (resume point, head and id), and its old
 * URL is copied to from. 1 if moved, 0 if not, -1 on allocation failure.
 */
int ct_state_follow(struct ct_state *st, const char *url, const char *log_id,
    char *from, size_t fromlen);

/* Write st to path atomically. */
int ct_state_save(const struct ct_state *st, const char *path, char *err,
    size_t errlen);

#endif
