/*
 * Fuzz target: Google log list v3 parsing with the default states.
 * Invariants beyond "no crash": every log kept has an http(s) URL ending in
 * '/' after a well-formed host[:port], appears once, has a watched state,
 * and a static log has an origin without scheme or trailing '/'.
 */
#include <string.h>
#include <strings.h>

#include "ingest/loglist.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static int ready;
	struct loglist ll;
	char err[256];
	size_t i, j, n;

	if (!ready) {
		config_defaults(&cfg);
		ready = 1;
	}
	loglist_init(&ll);
	if (loglist_parse(&ll, (const char *)data, size, &cfg, err,
	    sizeof(err)) == 0) {
		for (i = 0; i < ll.n; i++) {
			const struct loglist_log *l = &ll.logs[i];

			n = strlen(l->url);
			FUZZ_CHECK(loglist_is_url(l->url) && n > 0 &&
			    l->url[n - 1] == '/');
			FUZZ_CHECK(strcasecmp(l->state, "usable") == 0 ||
			    strcasecmp(l->state, "qualified") == 0 ||
			    strcasecmp(l->state, "readonly") == 0);
			if (l->type == LOGLIST_STATIC) {
				n = strlen(l->origin);
				/* no scheme in front (a path may hold anything) */
				FUZZ_CHECK(!loglist_is_url(l->origin));
				FUZZ_CHECK(n == 0 || l->origin[n - 1] != '/');
			}
			for (j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(ll.logs[j].url, l->url) != 0);
		}
	}
	loglist_free(&ll);
	return 0;
}
