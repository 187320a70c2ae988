/*
 * ct_log.max_catchup_lag (ct.h): a log that fell too far behind skips
 * ahead rather than streaming hours-old certificates, and says so. The
 * skip is a loss, so it is visible: the log's skipped_entries (in
 * /health/deep and /metrics), one log line, and a notice record in the
 * ring, `log_gap`, with the log and the entries passed. The notice is a
 * record (it takes a ring id, so resuming clients get it too) flagged
 * RING_F_NOTICE: WebSocket clients get it only with ?gaps=1, SSE clients
 * always, /latest.json never.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "common/log.h"
#include "ingest/ct.h"
#include "ingest/pipeline.h"
#include "shm/atomics.h"

/* The notice: {"message_type":"log_gap","data":{"source":{...},
 * "from_index":A,"to_index":B,"skipped":N}}, the same on every stream. */
static void
announce(struct ct_log *l, uint64_t from, uint64_t to)
{
	json_object *o = json_object_new_object(), *d = json_object_new_object(),
	    *src = json_object_new_object();
	struct ring_rec r;
	struct timespec ts;
	const char *s;
	int v;

	if (o == NULL || d == NULL || src == NULL)
		goto fail;
	json_object_object_add(src, "url", json_object_new_string(l->info.url));
	json_object_object_add(src, "name", json_object_new_string(l->info.name));
	json_object_object_add(o, "message_type",
	    json_object_new_string("log_gap"));
	json_object_object_add(d, "source", src);
	src = NULL;
	json_object_object_add(d, "from_index", json_object_new_uint64(from));
	json_object_object_add(d, "to_index", json_object_new_uint64(to));
	json_object_object_add(d, "skipped",
	    json_object_new_uint64(to - from + 1));
	json_object_object_add(o, "data", d);
	d = NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL)
		goto fail;
	memset(&r, 0, sizeof(r));
	for (v = 0; v < RV_COUNT; v++) {
		r.json[v].iov_base = (void *)(uintptr_t)s;
		r.json[v].iov_len = strlen(s);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	r.seen_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	r.log = RING_NO_LOG;
	r.flags = RING_F_NOTICE;
	if (pipeline_publish_rec(ct_writer(), &r, NULL, 0) != PIPE_PUBLISHED)
		goto fail;
	ct_flush();
	json_object_put(o);
	return;
fail:
	log_warnx("log %s: the log_gap notice could not be published",
	    l->info.url);
	json_object_put(src);
	json_object_put(d);
	json_object_put(o);
}

int
ct_log_catchup(struct ct_log *l, uint64_t tree_size)
{
	uint64_t max = ct_config()->ct_log.max_catchup_lag, from, to;

	if (max == 0 || !l->have_next || l->failed || tree_size <= l->next ||
	    tree_size - l->next <= max)
		return 0;
	from = l->next;
	to = tree_size - max - 1;
	announce(l, from, to);
	/* relaxed: a statistic */
	shm_fetch_add(&l->st->skipped_entries, to - from + 1, relaxed);
	log_warnx("log %s: %" PRIu64 " entries behind its verified head, more "
	    "than ct_log.max_catchup_lag (%" PRIu64 "): entries %" PRIu64 "-%"
	    PRIu64 " skipped, not streamed", l->info.url, tree_size - from, max,
	    from, to);
	ct_log_set_next(l, to + 1);
	return 1;
}
