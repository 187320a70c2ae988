/*
 * The filter a request asks for, between HTTP and filter_match.h: a stream
 * (its client keeps the group) or /latest.json and /example.json (a
 * registry of their own for the one request, so that they never touch the
 * streams' cache). A bad filter is answered here: 400 (503 when the
 * worker holds too many patterns) with a JSON body naming the parameter.
 */
#ifndef BROADCAST_FILTER_SEL_H
#define BROADCAST_FILTER_SEL_H

#include <stdint.h>

#include "broadcast/filter_match.h"
#include "broadcast/http.h"
#include "common/config.h"
#include "shm/segment.h"

struct evbuffer;

struct filter_sel {
	struct filter_reg *r;
	struct filter_group *g;     /* NULL: no filter, everything wanted */
	int own;                    /* r is the selection's own */
};

/*
 * Parse the query's filter into s, with its group in r (NULL: a registry
 * of s's own). 0 (s->g NULL if the query has no filter), or the status of
 * the error answer appended to out (a whole response), or -1 (no memory).
 */
int filter_sel_open(struct filter_sel *s, struct filter_reg *r,
    const struct config *cfg, const struct http_str *query,
    struct evbuffer *out);

/* Is record seq wanted? 1 yes (always without a filter), 0 no, -1 gone. */
int filter_sel_wants(struct filter_sel *s, const struct shm_seg *seg,
    uint64_t seq);

void filter_sel_close(struct filter_sel *s);

#endif
