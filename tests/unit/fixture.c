/* Helpers shared by the unit test files (fixture.h). */
#include "tests/unit/fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "broadcast/worker_ctx.h"

void *
fixture_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "open %s", path);
	ck_assert(fseek(f, 0, SEEK_END) == 0);
	n = ftell(f);
	ck_assert(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

struct json_object *
fixture_json_strict(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o;

	ck_assert(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

struct wctx *
fixture_wctx_new(struct shm_seg *seg)
{
	char err[256];
	struct config *cfg;
	struct wctx *w;

	ck_assert_msg(shm_seg_create_anon(seg, 64, 1 << 20, 2, err,
	    sizeof(err)) == 0, "%s", err);
	cfg = calloc(1, sizeof(*cfg));
	w = calloc(1, sizeof(*w));
	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_nonnull(w);
	config_defaults(cfg);
	w->cfg = cfg;
	w->seg = seg;
	w->st = &seg->workers[0];
	return w;
}

void
fixture_wctx_free(struct wctx *w, struct shm_seg *seg)
{
	free(w->cfg);
	free(w);
	shm_seg_close(seg);
}
