/* Loading a replay feed: parsing, rendering by the render library (a
 * record whose certificate does not render is refused), the derived
 * lite/domains forms, seen stamping and bad lines. The feeds hold real
 * certificates, minted by tests/tools/feedgen.c. */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ingest/facts_json.h"
#include "ingest/replay.h"
#include "tests/unit/replay_fixture.h"

/* A message whose certificate is a placeholder (one zero byte). */
#define PLACEHOLDER_LINE                                                       \
	"{\"message_type\":\"certificate_update\",\"data\":{"                 \
	"\"update_type\":\"X509LogEntry\",\"leaf_cert\":{\"all_domains\":"    \
	"[\"m3.example\"],\"as_der\":\"AA==\"},\"chain\":[],"                 \
	"\"cert_index\":3,\"submission_timestamp\":1.5,\"source\":"            \
	"{\"url\":\"https://l.example/\",\"name\":\"l\"}}}\n"

struct bad_seen {
	unsigned long lines[16];
	char why[16][128];
	int n;
};

static void
collect_bad(void *arg, unsigned long line, const char *why)
{
	struct bad_seen *b = arg;

	if (b->n < 16) {
		b->lines[b->n] = line;
		snprintf(b->why[b->n], sizeof(b->why[0]), "%s", why);
		b->n++;
	}
}

static struct json_object *
parse_variant(const struct iovec *iov)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	ck_assert_ptr_nonnull(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, iov->iov_base, (int)iov->iov_len);
	ck_assert_msg(o != NULL, "variant is not JSON: %.*s", (int)iov->iov_len,
	    (const char *)iov->iov_base);
	ck_assert_uint_eq(json_tokener_get_parse_end(tok), iov->iov_len);
	json_tokener_free(tok);
	return o;
}

START_TEST(test_seen_is_fixed_width_microseconds)
{
	char s[REPLAY_SEEN_LEN + 1];

	s[REPLAY_SEEN_LEN] = '\0';
	replay_seen_format(s, 1703808000123456LL);
	ck_assert_str_eq(s, "1703808000.123456");
	replay_seen_format(s, 1703808000000001LL);
	ck_assert_str_eq(s, "1703808000.000001");
	/* Fewer second digits: same width, same value, valid JSON number. */
	replay_seen_format(s, 5250000LL);
	ck_assert_str_eq(s, "5.250000000000000");
	replay_seen_format(s, -7);
	ck_assert_str_eq(s, "0.000000000000000");
}
END_TEST

START_TEST(test_load_derives_lite_full_and_domains)
{
	struct replay_feed f;
	struct iovec json[RV_COUNT];
	struct json_object *lite, *full, *dom, *v, *line1;
	char path[64], err[256], *text = rfix_good3();

	rfix_write_feed(path, text);
	ck_assert_int_eq(replay_feed_load(&f, path, NULL, NULL, err, sizeof(err)), 0);
	unlink(path);
	ck_assert_uint_eq(f.n, 3);
	ck_assert_uint_eq(f.lines, 3);
	ck_assert_uint_eq(f.bad, 0);

	replay_feed_stamp(&f, 1, 1703808000123456LL, json);
	full = parse_variant(&json[RV_FULL]);
	lite = parse_variant(&json[RV_LITE]);
	dom = parse_variant(&json[RV_DOMAINS]);

	/* full: everything, as_der and chain included */
	ck_assert_str_eq(json_object_get_string(rfix_path_get(full, "message_type", NULL)),
	    "certificate_update");
	v = rfix_path_get(rfix_path_get(full, "data", NULL), "leaf_cert", "as_der");
	ck_assert_ptr_nonnull(v);
	/* the file's certificate, and it is one */
	line1 = json_tokener_parse(strchr(text, '\n') + 1);
	ck_assert_ptr_nonnull(line1);
	ck_assert_uint_gt(json_object_get_string_len(v), 100);
	ck_assert_str_eq(json_object_get_string(v), json_object_get_string(
	    rfix_path_get(rfix_path_get(line1, "data", NULL), "leaf_cert", "as_der")));
	json_object_put(line1);
	free(text);
	v = rfix_path_get(full, "data", "chain");
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_object_array_length(v), 1);
	ck_assert_int_eq(json_object_get_int64(rfix_path_get(full, "data", "cert_index")), 101);
	ck_assert_str_eq(json_object_get_string(rfix_path_get(rfix_path_get(full, "data", "source"),
	    "operator", NULL)), "Example");

	/* lite: the same without leaf_cert.as_der and chain */
	ck_assert_ptr_null(rfix_path_get(rfix_path_get(lite, "data", NULL), "leaf_cert", "as_der"));
	ck_assert_ptr_null(rfix_path_get(lite, "data", "chain"));
	ck_assert_ptr_nonnull(rfix_path_get(rfix_path_get(lite, "data", NULL), "leaf_cert", "subject"));
	ck_assert_str_eq(json_object_get_string(rfix_path_get(lite, "data", "cert_link")),
	    "https://ct.example.net/log/ct/v1/get-entries?start=101&end=101");
	ck_assert_int_eq(json_object_get_int64(rfix_path_get(lite, "data", "cert_index")), 101);

	/* domains: dns_entries with all_domains, cert_index, seen, source{url,name} */
	ck_assert_str_eq(json_object_get_string(rfix_path_get(dom, "message_type", NULL)),
	    "dns_entries");
	v = rfix_path_get(dom, "data", NULL);
	ck_assert_int_eq(json_object_array_length(v), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "b.example");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)), "www.b.example");
	ck_assert_int_eq(json_object_get_int64(rfix_path_get(dom, "cert_index", NULL)), 101);
	ck_assert_str_eq(json_object_get_string(rfix_path_get(dom, "source", "url")),
	    "https://ct.example.net/log/");
	ck_assert_str_eq(json_object_get_string(rfix_path_get(dom, "source", "name")),
	    "Example 'Log'");
	ck_assert_ptr_null(rfix_path_get(dom, "source", "operator"));
	ck_assert_int_eq(json_object_object_length(dom), 5);

	/* the recorded seen (1.5) was replaced in all three */
	ck_assert(fabs(json_object_get_double(rfix_path_get(full, "data", "seen")) -
	    1703808000.123456) < 1e-6);
	ck_assert(fabs(json_object_get_double(rfix_path_get(lite, "data", "seen")) -
	    1703808000.123456) < 1e-6);
	ck_assert(fabs(json_object_get_double(rfix_path_get(dom, "seen", NULL)) -
	    1703808000.123456) < 1e-6);

	json_object_put(full);
	json_object_put(lite);
	json_object_put(dom);
	replay_feed_free(&f);
}
END_TEST

START_TEST(test_stamp_patches_seen_in_place)
{
	struct replay_feed f;
	struct iovec a[RV_COUNT], b[RV_COUNT];
	char path[64], err[256], s[REPLAY_SEEN_LEN + 1], *text = rfix_good3();

	rfix_write_feed(path, text);
	free(text);
	ck_assert_int_eq(replay_feed_load(&f, path, NULL, NULL, err, sizeof(err)), 0);
	unlink(path);
	replay_feed_stamp(&f, 0, 1700000000000001LL, a);
	for (int v = 0; v < RV_COUNT; v++) {
		rfix_seen_text(&a[v], s);
		ck_assert_str_eq(s, "1700000000.000001");
	}
	replay_feed_stamp(&f, 0, 1800000000999999LL, b);
	for (int v = 0; v < RV_COUNT; v++) {
		/* same bytes, same length: a patch, not a re-render */
		ck_assert_ptr_eq(a[v].iov_base, b[v].iov_base);
		ck_assert_uint_eq(a[v].iov_len, b[v].iov_len);
		rfix_seen_text(&b[v], s);
		ck_assert_str_eq(s, "1800000000.999999");
		json_object_put(parse_variant(&b[v]));
	}
	/* other records untouched */
	replay_feed_stamp(&f, 2, 1600000000000000LL, b);
	rfix_seen_text(&a[RV_FULL], s);
	ck_assert_str_eq(s, "1800000000.999999");
	replay_feed_free(&f);
}
END_TEST

START_TEST(test_bad_lines_are_reported_by_number_and_skipped)
{
	struct replay_feed f;
	struct bad_seen b;
	struct iovec json[RV_COUNT];
	struct json_object *o;
	char path[64], err[256], *text;

	text = rfix_cat_lines(NULL, rfix_cert_line(1, "a.example"));
	text = rfix_cat_lines(text,
	    "{\"message_type\":\"certificate_update\",\"data\":{\n"   /* 2: cut */
	    "\n"                                                      /* 3: blank */
	    "{\"message_type\":\"heartbeat\",\"timestamp\":1.0}\n"     /* 4: skipped */
	    "{\"message_type\":\"certificate_update\",\"data\":{\"cert_index\":5}}\n" /* 5 */
	    "[1,2,3]\n");                                            /* 6 */
	text = rfix_cat_lines(text, rfix_cert_line(7, "b.example"));
	text = rfix_cat_lines(text,
	    "{\"message_type\":\"dns_entries\",\"data\":[]}\n"          /* 8 */
	    "{\"hello\":1}\n");                                     /* 9 */
	text = rfix_cat_lines(text, rfix_cert_line(10, "c.example"));      /* 10 ok */
	text = rfix_cat_lines(text, "garbage\n");                     /* 11 bad */
	memset(&b, 0, sizeof(b));
	rfix_write_feed(path, text);
	free(text);
	ck_assert_int_eq(replay_feed_load(&f, path, collect_bad, &b, err, sizeof(err)), 0);
	unlink(path);
	ck_assert_uint_eq(f.n, 3);
	ck_assert_uint_eq(f.lines, 11);
	ck_assert_uint_eq(f.bad, 6);
	ck_assert_int_eq(b.n, 6);
	ck_assert_uint_eq(b.lines[0], 2);
	ck_assert_msg(strstr(b.why[0], "JSON") != NULL, "%s", b.why[0]);
	ck_assert_uint_eq(b.lines[1], 5);
	ck_assert_msg(strstr(b.why[1], "leaf_cert") != NULL, "%s", b.why[1]);
	ck_assert_uint_eq(b.lines[2], 6);
	ck_assert_uint_eq(b.lines[3], 8);
	ck_assert_msg(strstr(b.why[3], "dns_entries") != NULL, "%s", b.why[3]);
	ck_assert_uint_eq(b.lines[4], 9);
	ck_assert_uint_eq(b.lines[5], 11);

	/* the good ones, in file order */
	replay_feed_stamp(&f, 2, 1700000000000000LL, json);
	o = parse_variant(&json[RV_LITE]);
	ck_assert_int_eq(json_object_get_int64(rfix_path_get(o, "data", "cert_index")), 10);
	json_object_put(o);
	replay_feed_free(&f);
}
END_TEST

START_TEST(test_empty_unreadable_or_useless_file_is_refused)
{
	struct replay_feed f;
	char path[64], err[256], *text;

	rfix_write_feed(path, "");
	ck_assert_int_eq(replay_feed_load(&f, path, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "no usable record") && strstr(err, path), "%s", err);
	unlink(path);

	rfix_write_feed(path, "not json\n{\"message_type\":\"heartbeat\"}\n");
	ck_assert_int_eq(replay_feed_load(&f, path, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "2 lines, 1 bad") != NULL, "%s", err);
	ck_assert_ptr_null(f.buf);
	unlink(path);

	ck_assert_int_eq(replay_feed_load(&f, "/nonexistent/feed.ndjson", NULL, NULL,
	    err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent/feed.ndjson") &&
	    strstr(err, "No such file"), "%s", err);

	ck_assert_int_eq(replay_feed_load(&f, "", NULL, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "replay.file") != NULL, "%s", err);

	/* the start-up check says the same, and accepts a usable feed */
	ck_assert_int_eq(replay_feed_check("/nonexistent/feed.ndjson", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent/feed.ndjson") != NULL, "%s", err);
	rfix_write_feed(path, "");
	ck_assert_int_eq(replay_feed_check(path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "no usable record") != NULL, "%s", err);
	unlink(path);
	text = rfix_good3();
	rfix_write_feed(path, text);
	free(text);
	ck_assert_int_eq(replay_feed_check(path, err, sizeof(err)), 0);
	unlink(path);
	/* a feed of placeholder certificates only has no usable record; one
	 * good record after bad lines is enough */
	rfix_write_feed(path, PLACEHOLDER_LINE PLACEHOLDER_LINE);
	ck_assert_int_eq(replay_feed_check(path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "2 lines, 2 bad") != NULL, "%s", err);
	unlink(path);
	text = rfix_cat_lines(NULL, "garbage\n" PLACEHOLDER_LINE);
	text = rfix_cat_lines(text, rfix_cert_line(9, "late.example"));
	rfix_write_feed(path, text);
	free(text);
	ck_assert_int_eq(replay_feed_check(path, err, sizeof(err)), 0);
	unlink(path);
}
END_TEST

/* ---- raw CT entries through the rendering path ---- */

#define ICARUS "tests/data/real/rfc6962/icarus_get-entries_120000000_DERIVED.json"
#define SCANNER4 "tests/data/real/rfc6962/ctgo_scanner_get-entries_4.json"

static struct json_object *
feed_variant(struct replay_feed *f, size_t i, enum ring_variant v)
{
	struct iovec json[RV_COUNT];

	replay_feed_stamp(f, i, 1700000000000000LL, json);
	return parse_variant(&json[v]);
}

static int
has_domain(struct json_object *arr, const char *d)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), d) == 0)
			return 1;
	return 0;
}

START_TEST(test_get_entries_body_is_rendered_like_live_ingest)
{
	struct replay_feed f;
	struct json_object *full, *lite, *dom, *chain;
	char err[256];

	ck_assert_msg(replay_feed_load(&f, ICARUS, NULL, NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(f.n, 1);
	full = feed_variant(&f, 0, RV_FULL);
	lite = feed_variant(&f, 0, RV_LITE);
	dom = feed_variant(&f, 0, RV_DOMAINS);
	/* the Let's Encrypt X3 leaf for gem-jewelers.com, its chain of two */
	ck_assert_str_eq(json_object_get_string(rfix_path_get(full, "data", "update_type")),
	    "X509LogEntry");
	ck_assert(has_domain(rfix_path_get(rfix_path_get(full, "data", NULL), "leaf_cert",
	    "all_domains"), "gem-jewelers.com"));
	chain = rfix_path_get(full, "data", "chain");
	ck_assert_int_eq(json_object_array_length(chain), 2);
	ck_assert_ptr_nonnull(rfix_path_get(json_object_array_get_idx(chain, 0), "as_der", NULL));
	ck_assert_ptr_nonnull(rfix_path_get(rfix_path_get(full, "data", NULL), "leaf_cert", "as_der"));
	ck_assert_ptr_null(rfix_path_get(rfix_path_get(lite, "data", NULL), "leaf_cert", "as_der"));
	ck_assert_ptr_null(rfix_path_get(lite, "data", "chain"));
	/* a dump names no log: its file does */
	ck_assert_str_eq(json_object_get_string(rfix_path_get(rfix_path_get(full, "data", "source"),
	    "url", NULL)), "replay://icarus_get-entries_120000000_DERIVED.json/");
	ck_assert_int_eq(json_object_get_int64(rfix_path_get(full, "data", "cert_index")), 0);
	ck_assert(has_domain(rfix_path_get(dom, "data", NULL), "gem-jewelers.com"));
	ck_assert(fabs(json_object_get_double(rfix_path_get(full, "data", "seen")) -
	    1700000000.0) < 1e-6);
	json_object_put(full);
	json_object_put(lite);
	json_object_put(dom);
	replay_feed_free(&f);

	ck_assert_msg(replay_feed_load(&f, SCANNER4, NULL, NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(f.n, 4);
	for (size_t i = 0; i < 4; i++) {
		full = feed_variant(&f, i, RV_FULL);
		ck_assert_int_eq(json_object_get_int64(rfix_path_get(full, "data", "cert_index")),
		    (int64_t)i);
		json_object_put(full);
	}
	replay_feed_free(&f);
}
END_TEST

START_TEST(test_raw_entry_lines_with_and_without_index)
{
	struct replay_feed f;
	struct bad_seen b;
	struct json_object *body, *e, *full;
	const char *li, *xd;
	char *text, path[64], err[256];
	size_t cap = 64 * 1024;

	body = json_object_from_file(ICARUS);
	ck_assert_ptr_nonnull(body);
	e = json_object_array_get_idx(rfix_path_get(body, "entries", NULL), 0);
	li = json_object_get_string(rfix_path_get(e, "leaf_input", NULL));
	xd = json_object_get_string(rfix_path_get(e, "extra_data", NULL));
	text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	snprintf(text, cap,
	    "{\"leaf_input\":\"%s\",\"extra_data\":\"%s\",\"index\":120000000}\n"
	    "{\"leaf_input\":\"%s\",\"extra_data\":\"%s\"}\n"           /* 120000001 */
	    "{\"leaf_input\":\"%s\",\"extra_data\":\"@@@@\"}\n"         /* bad base64 */
	    "{\"leaf_input\":\"AAAAAAFexROk\",\"extra_data\":\"AAAA\"}\n" /* truncated */
	    "%s",
	    li, xd, li, xd, li, rfix_cert_line(7, "a.example"));
	rfix_write_feed(path, text);
	free(text);
	json_object_put(body);

	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(replay_feed_load(&f, path, collect_bad, &b, err, sizeof(err)), 0);
	unlink(path);
	ck_assert_uint_eq(f.n, 3);
	ck_assert_int_eq(b.n, 2);
	ck_assert_uint_eq(b.lines[0], 3);
	ck_assert_msg(strstr(b.why[0], "base64") != NULL, "%s", b.why[0]);
	ck_assert_uint_eq(b.lines[1], 4);
	ck_assert_msg(strstr(b.why[1], "entry") != NULL, "%s", b.why[1]);
	full = feed_variant(&f, 0, RV_FULL);
	ck_assert_int_eq(json_object_get_int64(rfix_path_get(full, "data", "cert_index")), 120000000);
	{
		char want[160];

		snprintf(want, sizeof(want), "replay://%s/ct/v1/get-entries?"
		    "start=120000000&end=120000000", strrchr(path, '/') + 1);
		ck_assert_str_eq(json_object_get_string(rfix_path_get(full, "data",
		    "cert_link")), want);
	}
	json_object_put(full);
	full = feed_variant(&f, 1, RV_FULL);
	ck_assert_int_eq(json_object_get_int64(rfix_path_get(full, "data", "cert_index")), 120000001);
	json_object_put(full);
	full = feed_variant(&f, 2, RV_FULL);
	ck_assert_int_eq(json_object_get_int64(rfix_path_get(full, "data", "cert_index")), 7);
	json_object_put(full);
	replay_feed_free(&f);
}
END_TEST

START_TEST(test_shipped_sample_feed_loads_cleanly)
{
	struct replay_feed f;
	struct bad_seen b;
	char err[256];

	memset(&b, 0, sizeof(b));
	ck_assert_msg(replay_feed_load(&f, "tests/data/sample-feed.ndjson", collect_bad,
	    &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(b.n == 0, "line %lu: %s", b.lines[0], b.why[0]);
	ck_assert_uint_ge(f.n, 200);
	ck_assert_uint_eq(f.n, f.lines);
	for (size_t i = 0; i < f.n; i++) {
		struct json_object *o = feed_variant(&f, i, RV_LITE);

		ck_assert_ptr_null(rfix_path_get(o, "data", "chain"));
		json_object_put(o);
	}
	replay_feed_free(&f);
}
END_TEST

/* Every shipped record is written by the render library from its
 * certificate, and what it writes is the file's text: the full form byte
 * for byte (seen stamped with the file's value), lite the same without
 * as_der and chain, domains its dns_entries, and the facts for filters
 * those of the file's message. A drift of the renderer from the feed it
 * made fails here. */
START_TEST(test_shipped_sample_feed_is_rendered_to_its_own_text)
{
	struct replay_feed f;
	struct factsj_buf fb = { NULL, 0, 0 };
	FILE *fp;
	char *line = NULL, err[256];
	size_t cap = 0, i = 0;
	ssize_t n;

	ck_assert_msg(replay_feed_load(&f, "tests/data/sample-feed.ndjson", NULL,
	    NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(f.differs == 0, "%" PRIu64 " records differ from their "
	    "rendering, first line %" PRIu64, f.differs, f.differs_line);
	fp = fopen("tests/data/sample-feed.ndjson", "r");
	ck_assert_ptr_nonnull(fp);
	while ((n = getline(&line, &cap, fp)) > 0) {
		struct iovec json[RV_COUNT];
		struct json_object *want, *lite, *dom, *wdom, *data, *src, *wsrc, *v;

		while (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		ck_assert_uint_lt(i, f.n);
		replay_feed_stamp(&f, i, 1735689600000000LL, json);
		ck_assert_msg(json[RV_FULL].iov_len == (size_t)n &&
		    memcmp(json[RV_FULL].iov_base, line, (size_t)n) == 0,
		    "record %zu: full form differs from the file", i);

		want = json_tokener_parse(line);
		ck_assert_ptr_nonnull(want);
		fb.len = 0;
		ck_assert_int_eq(factsj_from_message(want, &fb), 0);
		ck_assert_msg(f.recs[i].flen == fb.len && memcmp(f.buf +
		    f.recs[i].foff, fb.p, fb.len) == 0, "record %zu: facts", i);

		data = rfix_path_get(want, "data", NULL);
		/* domains: built from the file's message */
		wdom = json_object_new_object();
		json_object_object_add(wdom, "message_type",
		    json_object_new_string("dns_entries"));
		json_object_object_add(wdom, "data", json_object_get(rfix_path_get(
		    rfix_path_get(data, "leaf_cert", NULL), "all_domains", NULL)));
		json_object_object_add(wdom, "cert_index",
		    json_object_get(rfix_path_get(data, "cert_index", NULL)));
		json_object_object_add(wdom, "seen",
		    json_object_get(rfix_path_get(data, "seen", NULL)));
		src = rfix_path_get(data, "source", NULL);
		wsrc = json_object_new_object();
		json_object_object_add(wsrc, "url", json_object_get(rfix_path_get(src,
		    "url", NULL)));
		json_object_object_add(wsrc, "name", json_object_get(rfix_path_get(src,
		    "name", NULL)));
		json_object_object_add(wdom, "source", wsrc);
		dom = parse_variant(&json[RV_DOMAINS]);
		ck_assert_msg(json_object_equal(dom, wdom), "record %zu: domains", i);

		/* lite: the file's message without as_der and chain */
		json_object_object_del(rfix_path_get(data, "leaf_cert", NULL), "as_der");
		json_object_object_del(data, "chain");
		lite = parse_variant(&json[RV_LITE]);
		ck_assert_msg(json_object_equal(lite, want), "record %zu: lite", i);
		v = rfix_path_get(lite, "data", "seen");
		ck_assert(fabs(json_object_get_double(v) - 1735689600.0) < 1e-6);

		json_object_put(lite);
		json_object_put(dom);
		json_object_put(wdom);
		json_object_put(want);
		i++;
	}
	ck_assert_uint_eq(i, f.n);
	free(line);
	fclose(fp);
	factsj_buf_fini(&fb);
	replay_feed_free(&f);
}
END_TEST

/* The first line of the sample feed, to edit. */
static char *
sample_line(void)
{
	FILE *fp = fopen("tests/data/sample-feed.ndjson", "r");
	char buf[16384], *line;

	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), fp));
	ck_assert_ptr_nonnull(strchr(buf, '\n'));
	fclose(fp);
	line = strdup(buf);
	ck_assert_ptr_nonnull(line);
	return line;
}

/* A record is what its certificate renders to: one whose line says
 * otherwise (a name edited by hand) is streamed as rendered and counted;
 * one with no certificate, or a placeholder that does not parse, is
 * refused by line number, and the records beside them are kept. */
START_TEST(test_records_are_rendered_and_bad_certificates_refused)
{
	struct replay_feed f;
	struct bad_seen b;
	struct iovec json[RV_COUNT];
	struct json_object *dom;
	char *orig = sample_line(), *edited, *text, *at, path[64], err[256];
	const char *from = "\"all_domains\":[\"gem-jewelers.com\"";
	const char *to = "\"all_domains\":[\"hand.example\"";
	size_t ol = strlen(orig);

	at = strstr(orig, from);
	ck_assert_ptr_nonnull(at);
	edited = malloc(ol + 64);
	ck_assert_ptr_nonnull(edited);
	snprintf(edited, ol + 64, "%.*s%s%s", (int)(at - orig), orig, to,
	    at + strlen(from));
	text = rfix_cat_lines(NULL, orig);                             /* 1 */
	text = rfix_cat_lines(text, edited);                           /* 2 */
	text = rfix_cat_lines(text, PLACEHOLDER_LINE);                 /* 3: AA== */
	text = rfix_cat_lines(text,                                    /* 4: no DER */
	    "{\"message_type\":\"certificate_update\",\"data\":{\"leaf_cert\":"
	    "{\"all_domains\":[\"no-der.example\"]},\"cert_index\":1,"
	    "\"source\":{\"url\":\"https://l.example/\",\"name\":\"l\"}}}\n");
	text = rfix_cat_lines(text, rfix_cert_line(5, "after.example"));   /* 5 */
	rfix_write_feed(path, text);
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(replay_feed_load(&f, path, collect_bad, &b, err,
	    sizeof(err)), 0);
	unlink(path);
	ck_assert_uint_eq(f.n, 3);
	ck_assert_uint_eq(f.bad, 2);
	ck_assert_int_eq(b.n, 2);
	ck_assert_uint_eq(b.lines[0], 3);
	ck_assert_msg(strstr(b.why[0], "certificate does not render") != NULL,
	    "%s", b.why[0]);
	ck_assert_uint_eq(b.lines[1], 4);
	ck_assert_msg(strstr(b.why[1], "as_der") != NULL, "%s", b.why[1]);
	ck_assert_uint_eq(f.differs, 1);
	ck_assert_uint_eq(f.differs_line, 2);

	/* 1: the file's text, byte for byte */
	replay_feed_stamp(&f, 0, 1735689600000000LL, json);
	ck_assert_uint_eq(json[RV_FULL].iov_len, ol - 1);
	ck_assert(memcmp(json[RV_FULL].iov_base, orig, ol - 1) == 0);
	/* 2: what its certificate says, not the edit; the same text as 1 */
	replay_feed_stamp(&f, 1, 1735689600000000LL, json);
	ck_assert_uint_eq(json[RV_FULL].iov_len, ol - 1);
	ck_assert(memcmp(json[RV_FULL].iov_base, orig, ol - 1) == 0);
	dom = parse_variant(&json[RV_DOMAINS]);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    rfix_path_get(dom, "data", NULL), 0)), "gem-jewelers.com");
	json_object_put(dom);
	/* 5: kept after the refused ones */
	replay_feed_stamp(&f, 2, 1735689600000000LL, json);
	dom = parse_variant(&json[RV_DOMAINS]);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    rfix_path_get(dom, "data", NULL), 0)), "after.example");
	json_object_put(dom);
	replay_feed_free(&f);
	free(text);
	free(edited);
	free(orig);
}
END_TEST

Suite *replay_feed_suite(void);

Suite *
replay_feed_suite(void)
{
	Suite *s = suite_create("replay_feed");
	TCase *tc = tcase_create("feed");

	tcase_add_test(tc, test_seen_is_fixed_width_microseconds);
	tcase_add_test(tc, test_load_derives_lite_full_and_domains);
	tcase_add_test(tc, test_stamp_patches_seen_in_place);
	tcase_add_test(tc, test_bad_lines_are_reported_by_number_and_skipped);
	tcase_add_test(tc, test_empty_unreadable_or_useless_file_is_refused);
	tcase_add_test(tc, test_get_entries_body_is_rendered_like_live_ingest);
	tcase_add_test(tc, test_raw_entry_lines_with_and_without_index);
	tcase_add_test(tc, test_shipped_sample_feed_loads_cleanly);
	tcase_add_test(tc, test_shipped_sample_feed_is_rendered_to_its_own_text);
	tcase_add_test(tc, test_records_are_rendered_and_bad_certificates_refused);
	tcase_add_checked_fixture(tc, NULL, rfix_gen_free);
	suite_add_tcase(s, tc);
	return s;
}
