/*
 * The replay source: streams a recorded feed from an NDJSON file.
 *
 * Each line is a certstream `certificate_update` message (full form, as
 * FORMAT.md), or a raw CT entry ({"leaf_input","extra_data","index"}, or a
 * whole get-entries body). Every line is parsed once, at load, and its
 * certificate rendered then by the render library (ingest/render/), as
 * live ingest renders: a message's leaf_cert.as_der and its chain's as_der,
 * with the log, index, update_type and submission_timestamp the message
 * names. The three forms (lite, full, domains) are kept with a fixed-width
 * `seen` placeholder, so publishing a record is patching 17 digits and a
 * copy into the ring. What is streamed is what the render library writes,
 * never the line's own text: a message whose certificate does not render
 * (no DER, a placeholder) is refused as a bad line, and one whose text
 * differs from its certificate's rendering (edited by hand, another
 * server's recording) is counted and streamed as rendered.
 *
 * replay_feed.c loads and stamps a feed; replay.c publishes it on a timer.
 * Rendering at load, not at each publication: a looping feed would render
 * the same certificate again at every pass.
 */
#ifndef INGEST_REPLAY_H
#define INGEST_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/config.h"
#include "shm/layout.h"
#include "shm/ring.h"
#include "shm/segment.h"

struct event_base;
struct render_out;

/* `seen` is always written as exactly this many characters; until a
 * record is stamped it holds the placeholder, 1e9 as render writes it. */
#define REPLAY_SEEN_LEN 17
#define REPLAY_SEEN_PLACEHOLDER "1000000000.000000"

struct replay_rec {
	size_t off[RV_COUNT];       /* JSON of each variant in the feed's buffer */
	uint32_t len[RV_COUNT];
	uint32_t seen_at[RV_COUNT]; /* offset of the seen digits in the variant */
	size_t foff;                /* its facts (shm/facts.h) in the buffer, */
	uint32_t flen;              /* built once at load */
};

/* A loaded feed: every record pre-rendered, back to back in buf. */
struct replay_feed {
	char *buf;
	size_t used, cap;
	struct replay_rec *recs;
	size_t n, nalloc;
	uint64_t lines;             /* lines read */
	uint64_t bad;               /* lines (or entries) skipped as malformed */
	uint64_t skipped;           /* heartbeats and blank lines, not errors */
	uint64_t next_index;        /* raw entries without an index count on */
	uint64_t differs;           /* records whose line is not their rendering */
	uint64_t differs_line;      /* the first of them */
	struct render_out *ro;      /* while loading: the renderer's buffers */
	char origin[128];           /* file name: the source of raw entries */
};

/* Called once per malformed line (or entry of a get-entries body). */
typedef void (*replay_bad_fn)(void *arg, unsigned long line, const char *why);

/*
 * Load path into f (zeroed by the call). A bad line is reported through bad
 * (may be NULL), counted and skipped. Returns 0, or -1 with err filled when
 * the file cannot be read or holds no usable record.
 */
int replay_feed_load(struct replay_feed *f, const char *path,
    replay_bad_fn bad, void *arg, char *err, size_t errlen);

/*
 * Parse one line and append the record(s) it holds. Returns the number of
 * records added (0 for a heartbeat or a blank line), or -1 with err filled
 * (a get-entries body with some bad entries keeps its good ones and still
 * returns -1). f must be zeroed before the first line.
 */
int replay_feed_add_line(struct replay_feed *f, const char *line, size_t len,
    char *err, size_t errlen);

void replay_feed_free(struct replay_feed *f);

/* Would replay_start() accept path (does it hold a usable record)? For
 * the master's start-up check and `-n`, so a missing or empty feed is
 * refused before anything forks; it reads up to the first usable record
 * only. 0, or -1 with err filled ("FILE: reason"). */
int replay_feed_check(const char *path, char *err, size_t errlen);

/* Write seen_us into record i's three variants and point json[] at them
 * (valid until the next stamp of the same record or the feed is freed). */
void replay_feed_stamp(struct replay_feed *f, size_t i, int64_t seen_us,
    struct iovec json[RV_COUNT]);

/* Unix microseconds as exactly REPLAY_SEEN_LEN characters of a JSON number
 * (seconds '.' microseconds; no NUL written). */
void replay_seen_format(char out[REPLAY_SEEN_LEN], int64_t seen_us);

struct replay;

/*
 * Load cfg->replay.file and publish it to the ring from base's loop at
 * cfg->replay.rate records per second (0: as fast as possible, in bounded
 * batches per loop turn), looping if cfg->replay.loop. Bad lines are logged
 * once each and counted in seg->ingest->parse_failures. Returns NULL (logged)
 * if the feed cannot be used.
 */
struct replay *replay_start(struct event_base *base, const struct config *cfg,
    struct shm_seg *seg, struct ring_writer *w);

/* Apply a new rate and loop flag (SIGHUP); the rate clock restarts now. */
void replay_reconfigure(struct replay *r, double rate, int loop);

/* Records published so far. */
uint64_t replay_published(const struct replay *r);

/* Has a non-looping replay reached the end of its feed? */
int replay_done(const struct replay *r);

/* Stop the timer and free everything. NULL is fine. */
void replay_stop(struct replay *r);

#endif
