/*
 * The replay's fallback for a message whose certificate does not render to
 * its text: its forms serialized from the file's JSON (replay_recorded.c).
 */
#ifndef INGEST_REPLAY_RECORDED_H
#define INGEST_REPLAY_RECORDED_H

#include <stddef.h>

#include "ingest/replay.h"

struct json_object;

/*
 * msg, a full certificate_update (modified here: seen is set, then as_der
 * and chain are removed for lite), appended to f as the file wrote it.
 * Returns 1, or -1 with err filled (nothing appended).
 */
int replay_recorded_add(struct replay_feed *f, struct json_object *msg,
    char *err, size_t errlen);

#endif
