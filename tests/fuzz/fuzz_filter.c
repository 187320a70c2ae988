/*
 * Fuzz target: filters. The input up to the first NUL is a query string,
 * the rest record facts as they might lie in a torn ring slot. Invariants:
 * - a refused query names a parameter and a reason, and its answer fits;
 * - an accepted filter's terms are sorted, distinct and within the limits;
 * - matching arbitrary facts never reads outside them, and its own matcher
 *   and the merged one agree.
 */
#include <string.h>

#include "broadcast/filter_match.h"
#include "broadcast/filter_parse.h"
#include "shm/facts.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t qlen = nul != NULL ? (size_t)(nul - data) : size;
	const uint8_t *facts = nul != NULL ? nul + 1 : data + size;
	size_t flen = size - qlen - (nul != NULL);
	struct filter_reg *r;
	struct filter_group *g;
	struct filter_spec s;
	struct filter_err e;
	char resp[1024];
	int a, b;

	memset(&e, 0, sizeof(e));
	if (filter_parse((const char *)data, qlen, 1, 16, &s, &e) == -1) {
		FUZZ_CHECK(e.reason[0] != '\0');
		FUZZ_CHECK(filter_err_response(&e, resp, sizeof(resp)) > 0);
		return 0;
	}
	FUZZ_CHECK(s.n <= 16);
	for (unsigned i = 0; i < s.n; i++) {
		FUZZ_CHECK(s.t[i].len > 0 && s.t[i].len <= FILTER_TERM_MAX);
		FUZZ_CHECK(strlen(s.t[i].s) == s.t[i].len);
	}
	if (s.n == 0 || (r = filter_reg_new()) == NULL) {
		filter_spec_fini(&s);
		return 0;
	}
	if ((g = filter_group_get(r, &s, 1000, &e)) == NULL) {
		FUZZ_CHECK(e.status == 400 || e.status == 503);
		filter_spec_fini(&s);
		filter_reg_free(r);
		return 0;
	}
	a = filter_match_facts(r, g, facts, flen);
	if (filter_reg_tick(r, 0, 1) == 0) {
		b = filter_match_facts(r, g, facts, flen);
		FUZZ_CHECK(a == b);
	}
	filter_group_put(r, g);
	filter_reg_free(r);
	return 0;
}
