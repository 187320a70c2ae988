/*
 * What more than one unit test file needs: a test file read whole, strict
 * JSON parsing, and a worker's context over a fresh anonymous segment. Failures fail the
 * calling test (Check asserts).
 */
#ifndef TESTS_UNIT_FIXTURE_H
#define TESTS_UNIT_FIXTURE_H

#include <stddef.h>

struct json_object;
struct shm_seg;
struct wctx;

/* The bytes of path, with a NUL after them (not counted in *len); the
 * caller frees them. */
void *fixture_slurp(const char *path, size_t *len);

/* s parsed as strict JSON (UTF-8 validated, nothing after the value);
 * NULL if it is not. */
struct json_object *fixture_json_strict(const char *s, size_t len);

/* Worker 0's context over seg, created anonymous (64 slots, 1 MiB of
 * data, 2 workers), with a heap configuration at its defaults (w->cfg). */
struct wctx *fixture_wctx_new(struct shm_seg *seg);

/* Frees w, its configuration, and closes seg. */
void fixture_wctx_free(struct wctx *w, struct shm_seg *seg);

#endif
