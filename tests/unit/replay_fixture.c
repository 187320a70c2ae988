/* The replay unit files' shared feed fixture (replay_fixture.h): a minter
 * of real certificate lines, feeds written to temporary files, and lookups
 * in the JSON a feed renders to. */
#include "tests/unit/replay_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tests/tools/feedgen.h"

/* The minter, made by the first rfix_cert_line of a test. */
static struct feedgen *g;

/* Each test's teardown: the minter goes with the test that made it. */
void
rfix_gen_free(void)
{
	feedgen_free(g);
	g = NULL;
}

const char *
rfix_cert_line(uint64_t idx, const char *dom)
{
	static char out[16384];
	char www[128], err[256];
	const char *names[2] = { dom, www }, *line;
	struct feedgen_rec r;
	size_t len;

	if (g == NULL) {
		g = feedgen_new(err, sizeof(err));
		ck_assert_msg(g != NULL, "%s", err);
	}
	snprintf(www, sizeof(www), "www.%s", dom);
	memset(&r, 0, sizeof(r));
	r.domains = names;
	r.ndomains = 2;
	r.index = idx;
	r.with_chain = 1;
	r.timestamp_ms = 1703807990456ULL;
	r.src.url = "https://ct.example.net/log/";
	r.src.name = "Example 'Log'";
	r.src.operator_name = "Example";
	r.src.type = "rfc6962";
	ck_assert_msg(feedgen_line(g, &r, &line, &len, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_lt(len + 2, sizeof(out));
	memcpy(out, line, len);
	memcpy(out + len, "\n", 2);
	return out;
}

char *
rfix_cat_lines(char *text, const char *line)
{
	size_t have = text ? strlen(text) : 0, add = strlen(line);
	char *t = realloc(text, have + add + 1);

	ck_assert_ptr_nonnull(t);
	memcpy(t + have, line, add + 1);
	return t;
}

char *
rfix_good3(void)
{
	char *t = rfix_cat_lines(NULL, rfix_cert_line(100, "a.example"));

	t = rfix_cat_lines(t, rfix_cert_line(101, "b.example"));
	return rfix_cat_lines(t, rfix_cert_line(102, "c.example"));
}

void
rfix_write_feed(char *path, const char *text)
{
	int fd;
	size_t len = strlen(text);

	snprintf(path, 64, "/tmp/check_replay-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

struct json_object *
rfix_path_get(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return v;
}

void
rfix_seen_text(const struct iovec *iov, char out[REPLAY_SEEN_LEN + 1])
{
	const char *p = memmem(iov->iov_base, iov->iov_len, "\"seen\":", 7);

	ck_assert_ptr_nonnull(p);
	memcpy(out, p + 7, REPLAY_SEEN_LEN);
	out[REPLAY_SEEN_LEN] = '\0';
}
