/* A request's filter: parse, group, answer a bad one (filter_sel.h). */
#include <string.h>

#include <event2/buffer.h>

#include "broadcast/filter_sel.h"

int
filter_sel_open(struct filter_sel *s, struct filter_reg *r,
    const struct config *cfg, const struct http_str *query,
    struct evbuffer *out)
{
	struct filter_spec spec;
	struct filter_err err;
	char resp[1024];
	size_t n;

	memset(s, 0, sizeof(*s));
	memset(&err, 0, sizeof(err));
	if (filter_parse(query->p, query->len, cfg->filters.enabled,
	    (unsigned)cfg->filters.max_terms, &spec, &err) == 0) {
		if (spec.n == 0)
			return 0;
		if (r == NULL) {
			if ((r = filter_reg_new()) == NULL) {
				filter_spec_fini(&spec);
				return -1;
			}
			s->own = 1;
		}
		s->r = r;
		s->g = filter_group_get(r, &spec,
		    (unsigned)cfg->filters.max_patterns, &err);
		if (s->g != NULL)
			return 0;
		filter_spec_fini(&spec);
		filter_sel_close(s);
	}
	if ((n = filter_err_response(&err, resp, sizeof(resp))) == 0 ||
	    evbuffer_add(out, resp, n) == -1)
		return -1;
	return err.status;
}

int
filter_sel_wants(struct filter_sel *s, const struct shm_seg *seg,
    uint64_t seq)
{
	if (s->g == NULL)
		return 1;
	return filter_wants(s->r, s->g, seg, seq);
}

void
filter_sel_close(struct filter_sel *s)
{
	if (s->g != NULL)
		filter_group_put(s->r, s->g);
	if (s->own)
		filter_reg_free(s->r);
	memset(s, 0, sizeof(*s));
}
