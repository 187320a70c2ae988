/* Rendering against the goldens, and the three forms against each other. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "ingest/leaf.h"
#include "ingest/render/render.h"
#include "ingest/render/render_cli.h"
#include "shm/facts.h"
#include "tests/unit/fixture.h"

#define DATA "tests/data/"
#define NAV DATA "real/static-ct/navigli2025h2/tile/"

/* First differing field between two JSON values, as a path; "" if equal. */
static int
json_diff(json_object *a, json_object *b, char *path, size_t plen)
{
	size_t n = strlen(path);

	if (json_object_get_type(a) != json_object_get_type(b))
		return -1;
	switch (json_object_get_type(a)) {
	case json_type_object: {
		struct json_object_iterator it = json_object_iter_begin(a);
		struct json_object_iterator end = json_object_iter_end(a);

		if (json_object_object_length(a) != json_object_object_length(b)) {
			snprintf(path + n, plen - n, " (key count)");
			return -1;
		}
		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			const char *k = json_object_iter_peek_name(&it);
			json_object *bv;

			snprintf(path + n, plen - n, ".%s", k);
			if (!json_object_object_get_ex(b, k, &bv))
				return -1;
			if (json_diff(json_object_iter_peek_value(&it), bv, path, plen) != 0)
				return -1;
			path[n] = '\0';
		}
		return 0;
	}
	case json_type_array: {
		size_t i, la = json_object_array_length(a);

		if (la != json_object_array_length(b)) {
			snprintf(path + n, plen - n, " (length %zu vs %zu)", la,
			    json_object_array_length(b));
			return -1;
		}
		for (i = 0; i < la; i++) {
			snprintf(path + n, plen - n, "[%zu]", i);
			if (json_diff(json_object_array_get_idx(a, i),
			    json_object_array_get_idx(b, i), path, plen) != 0)
				return -1;
			path[n] = '\0';
		}
		return 0;
	}
	case json_type_string:
		return json_object_get_string_len(a) == json_object_get_string_len(b) &&
		    memcmp(json_object_get_string(a), json_object_get_string(b),
		    (size_t)json_object_get_string_len(a)) == 0 ? 0 : -1;
	case json_type_int:
		return json_object_get_int64(a) == json_object_get_int64(b) ? 0 : -1;
	case json_type_double:
		return json_object_get_double(a) == json_object_get_double(b) ? 0 : -1;
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b) ? 0 : -1;
	case json_type_null:
		return 0;
	}
	return -1;
}

/* Re-renders every MANIFEST input through render_cli_main and compares
 * each message with its golden, naming the first field that differs. */
START_TEST(every_input_renders_exactly_its_golden)
{
	size_t mlen;
	char *man = (char *)fixture_slurp(DATA "golden/MANIFEST", &mlen);
	char *line, *save = NULL;
	int files = 0;
	unsigned long msgs = 0;

	for (line = strtok_r(man, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *f[6], *s2 = NULL, *p;
		char in[512], gold[512], *got, *want;
		char *gl, *wl, *gs = NULL, *ws = NULL;
		size_t glen, wlen;
		FILE *tmp;
		int i, n = 0, rc;

		if (line[0] == '#')
			continue;
		for (p = strtok_r(line, "\t", &s2); p != NULL && n < 6;
		    p = strtok_r(NULL, "\t", &s2))
			f[n++] = p;
		ck_assert_int_eq(n, 6);
		snprintf(in, sizeof(in), DATA "%s", f[0]);
		snprintf(gold, sizeof(gold), DATA "golden/%s", f[1]);
		setenv("CERTSTREAM_RENDER_URL", f[2], 1);
		setenv("CERTSTREAM_RENDER_NAME", f[3], 1);
		setenv("CERTSTREAM_RENDER_OPERATOR", f[4], 1);
		setenv("CERTSTREAM_RENDER_START", f[5], 1);
		setenv("CERTSTREAM_RENDER_SEEN", "1700000000.123456", 1);
		tmp = tmpfile();
		ck_assert(tmp != NULL);
		rc = render_cli_main(in, tmp);
		ck_assert_msg(rc == 0, "%s: render_cli_main returned %d", in, rc);
		fflush(tmp);
		glen = (size_t)ftell(tmp);
		rewind(tmp);
		got = malloc(glen + 1);
		ck_assert(got != NULL);
		ck_assert(fread(got, 1, glen, tmp) == glen);
		got[glen] = 0;
		fclose(tmp);
		want = (char *)fixture_slurp(gold, &wlen);

		gl = strtok_r(got, "\n", &gs);
		wl = strtok_r(want, "\n", &ws);
		for (i = 1; gl != NULL || wl != NULL; i++) {
			json_object *g, *w;
			char path[512] = "";

			ck_assert_msg(gl != NULL, "%s: message %d missing", gold, i);
			ck_assert_msg(wl != NULL, "%s: extra message %d", gold, i);
			g = fixture_json_strict(gl, strlen(gl));
			w = fixture_json_strict(wl, strlen(wl));
			ck_assert_msg(g != NULL, "%s: message %d is not strict JSON", in, i);
			ck_assert(w != NULL);
			ck_assert_msg(json_diff(w, g, path, sizeof(path)) == 0,
			    "%s message %d: field %s differs from the golden", gold, i, path);
			/* byte-identical too: key order and number formats are pinned */
			ck_assert_msg(strcmp(gl, wl) == 0, "%s message %d: text differs", gold, i);
			json_object_put(g);
			json_object_put(w);
			msgs++;
			gl = strtok_r(NULL, "\n", &gs);
			wl = strtok_r(NULL, "\n", &ws);
		}
		free(got);
		free(want);
		files++;
	}
	ck_assert_int_ge(files, 38);
	ck_assert_uint_eq(msgs, 1034 + 9 + 29);  /* tiles, get-entries, certificates */
	free(man);
}
END_TEST

static json_object *
get(json_object *o, const char *k)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no key %s", k);
	return v;
}

static const struct render_source nav_src = {
	"https://navigli2025h2.skylight.geomys.org/", "Navigli", "Geomys", "static"
};

/* lite = full without as_der and chain; domains = all_domains; links. */
START_TEST(three_forms_agree_on_every_navigli_entry)
{
	size_t dl, off = 0, n = 0;
	uint8_t *data = fixture_slurp(NAV "data/002", &dl);
	struct render_out ro;
	char err[256];

	render_out_init(&ro);
	while (off < dl) {
		struct leaf_entry e;
		json_object *lite, *full, *dom, *ld, *fd, *fl, *ll;
		char link[128];

		ck_assert_int_eq(leaf_decode_tile(data, dl, &off, NULL, NULL, &e), 0);
		ck_assert_msg(render_entry(&e, &nav_src, 1700000000.25, &ro, err,
		    sizeof(err)) == 0, "entry %zu: %s", n, err);
		lite = fixture_json_strict(ro.json[RV_LITE], ro.len[RV_LITE]);
		full = fixture_json_strict(ro.json[RV_FULL], ro.len[RV_FULL]);
		dom = fixture_json_strict(ro.json[RV_DOMAINS], ro.len[RV_DOMAINS]);
		ck_assert(lite && full && dom);
		ck_assert_uint_eq(strlen(ro.json[RV_FULL]), ro.len[RV_FULL]);
		fd = get(full, "data");
		ld = get(lite, "data");
		fl = get(fd, "leaf_cert");
		ll = get(ld, "leaf_cert");
		ck_assert_str_eq(json_object_get_string(get(fd, "update_type")), "PrecertLogEntry");
		ck_assert(json_object_get_boolean(get(get(fl, "extensions"), "ctlPoisonByte")));
		ck_assert(!json_object_object_get_ex(ll, "as_der", NULL));
		ck_assert(!json_object_object_get_ex(ld, "chain", NULL));
		ck_assert_uint_eq(json_object_array_length(get(fd, "chain")), 0);
		/* as_der is exactly the pre-certificate */
		{
			const char *b64 = json_object_get_string(get(fl, "as_der"));
			unsigned char *raw = malloc(strlen(b64));
			int rl;

			ck_assert(raw != NULL);
			rl = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
			ck_assert_int_ge(rl, (int)e.cert.len);
			ck_assert(memcmp(raw, e.cert.p, e.cert.len) == 0);
			free(raw);
		}
		json_object_object_del(fl, "as_der");
		json_object_object_del(fd, "chain");
		{
			char path[256] = "";

			ck_assert_msg(json_diff(full, lite, path, sizeof(path)) == 0,
			    "entry %zu: lite differs from full at %s", n, path);
		}
		{
			char path[256] = "";

			ck_assert_msg(json_diff(get(fl, "all_domains"), get(dom, "data"),
			    path, sizeof(path)) == 0, "entry %zu: dns_entries data", n);
		}
		ck_assert_str_eq(json_object_get_string(get(dom, "message_type")), "dns_entries");
		ck_assert_uint_eq((uint64_t)json_object_get_int64(get(dom, "cert_index")), 512 + n);
		ck_assert_uint_eq((uint64_t)json_object_get_int64(get(fd, "cert_index")), 512 + n);
		ck_assert(json_object_get_double(get(fd, "seen")) == 1700000000.25);
		ck_assert(json_object_get_double(get(fd, "submission_timestamp")) ==
		    (double)e.timestamp_ms / 1000.0);
		snprintf(link, sizeof(link), "https://navigli2025h2.skylight.geomys.org/tile/data/002");
		ck_assert_str_eq(json_object_get_string(get(fd, "cert_link")), link);
		ck_assert_str_eq(json_object_get_string(get(get(fd, "source"), "type")), "static");
		ck_assert_str_eq(json_object_get_string(get(get(fd, "source"), "operator")), "Geomys");
		ck_assert(!json_object_object_get_ex(get(dom, "source"), "operator", NULL));
		/* the facts for filters: the same entry, names lowercased */
		{
			json_object *ad = get(fl, "all_domains");
			struct facts_view fv;
			struct facts_str fd_;
			size_t fo = 0, k;

			ck_assert_uint_gt(ro.facts_len, 0);
			ck_assert_int_eq(facts_decode(ro.facts, ro.facts_len, &fv), 0);
			ck_assert_int_eq(fv.type, FACTS_PRECERT);
			ck_assert_uint_eq(fv.field[FF_LOG_OPERATOR].len, 6);
			ck_assert(memcmp(fv.field[FF_LOG_OPERATOR].p, "Geomys", 6) == 0);
			ck_assert_uint_eq(fv.ndomains, json_object_array_length(ad));
			{
				json_object *cn = get(get(fl, "issuer"), "CN");
				const char *want = json_object_get_string(cn);

				ck_assert(json_object_is_type(cn, json_type_string));
				ck_assert_uint_eq(fv.field[FF_ISSUER_CN].len,
				    strlen(want));
				ck_assert(memcmp(fv.field[FF_ISSUER_CN].p, want,
				    strlen(want)) == 0);
			}
			for (k = 0; facts_next_domain(&fv, &fo, &fd_); k++) {
				const char *want = json_object_get_string(
				    json_object_array_get_idx(ad, k));

				ck_assert_uint_eq(fd_.len, strlen(want));
				ck_assert(strncasecmp(fd_.p, want, fd_.len) == 0);
			}
			ck_assert_uint_eq(k, fv.ndomains);
		}
		json_object_put(lite);
		json_object_put(full);
		json_object_put(dom);
		n++;
	}
	ck_assert_uint_eq(n, 256);
	render_out_fini(&ro);
	free(data);
}
END_TEST

START_TEST(cert_links_follow_log_type)
{
	size_t ll, el, dl, off = 0;
	uint8_t *leaf = fixture_slurp(DATA "real/rfc6962/scrapectlog_x509_leaf_input.bin", &ll);
	uint8_t *extra = fixture_slurp(DATA "real/rfc6962/scrapectlog_x509_extra_data.bin", &el);
	uint8_t *data = fixture_slurp(NAV "data/000", &dl);
	struct render_source rs = { "https://ct.example.net/log2026/", "L", NULL, "rfc6962" };
	struct render_out ro;
	struct leaf_entry e;
	char err[256];

	render_out_init(&ro);
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), 0);
	e.index = 1234567890;
	ck_assert_int_eq(render_entry(&e, &rs, 1.5, &ro, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(ro.json[RV_FULL], "\"cert_link\":\"https://ct.example.net/"
	    "log2026/ct/v1/get-entries?start=1234567890&end=1234567890\""));
	ck_assert_ptr_nonnull(strstr(ro.json[RV_FULL], "\"operator\":\"\""));
	ck_assert_ptr_nonnull(strstr(ro.json[RV_FULL], "\"update_type\":\"X509LogEntry\""));
	/* the chain is rendered and cached: a second render is identical */
	{
		char *first = strdup(ro.json[RV_FULL]);

		ck_assert(first != NULL);
		ck_assert_ptr_nonnull(strstr(first, "\"chain\":[{\"subject\""));
		ck_assert_int_eq(render_entry(&e, &rs, 1.5, &ro, err, sizeof(err)), 0);
		ck_assert_str_eq(first, ro.json[RV_FULL]);
		free(first);
	}
	ck_assert_int_eq(leaf_decode_tile(data, dl, &off, NULL, NULL, &e), 0);
	e.index = 1234067ULL * 256 + 5;
	ck_assert_int_eq(render_entry(&e, &nav_src, 1.5, &ro, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(ro.json[RV_FULL], "\"cert_link\":\"https://navigli2025h2."
	    "skylight.geomys.org/tile/data/x001/x234/067\""));
	e.index = 5;
	ck_assert_int_eq(render_entry(&e, &nav_src, 1.5, &ro, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(ro.json[RV_FULL], "/tile/data/000\""));
	render_out_fini(&ro);
	free(leaf);
	free(extra);
	free(data);
}
END_TEST

/* A certificate OpenSSL cannot parse, as leaf or as chain member: -1, a
 * reason, and no message text at all. */
START_TEST(unparsable_certificate_gives_error_never_half_a_message)
{
	size_t ll, el;
	uint8_t *leaf = fixture_slurp(DATA "real/rfc6962/scrapectlog_x509_leaf_input.bin", &ll);
	uint8_t *extra = fixture_slurp(DATA "real/rfc6962/scrapectlog_x509_extra_data.bin", &el);
	struct render_source rs = { "https://ct.example.net/", "L", "O", "rfc6962" };
	struct render_out ro;
	struct leaf_entry e;
	uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	char err[256];
	int v;

	render_out_init(&ro);
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), 0);
	ck_assert_int_eq(render_entry(&e, &rs, 1.0, &ro, err, sizeof(err)), 0);
	e.cert.p = junk;
	e.cert.len = sizeof(junk);
	err[0] = 0;
	ck_assert_int_eq(render_entry(&e, &rs, 1.0, &ro, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "certificate"));
	for (v = 0; v < RV_COUNT; v++)
		ck_assert_uint_eq(ro.len[v], 0);
	/* good leaf, bad chain member */
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), 0);
	e.chain[0].p = junk;
	e.chain[0].len = sizeof(junk);
	ck_assert_int_eq(render_entry(&e, &rs, 1.0, &ro, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "chain[0]"));
	for (v = 0; v < RV_COUNT; v++)
		ck_assert_uint_eq(ro.len[v], 0);
	/* and the next good entry renders normally */
	ck_assert_int_eq(leaf_decode_rfc6962(leaf, ll, extra, el, &e), 0);
	ck_assert_int_eq(render_entry(&e, &rs, 1.0, &ro, err, sizeof(err)), 0);
	ck_assert_uint_gt(ro.len[RV_LITE], 0);
	render_out_fini(&ro);
	free(leaf);
	free(extra);
}
END_TEST

START_TEST(cli_reports_bad_entries_with_their_index)
{
	char path[] = "/tmp/check_render_XXXXXX";
	int fd = mkstemp(path);
	FILE *f, *out;
	size_t n;
	static char buf[262144];

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert(f != NULL);
	/* NDJSON: a bad entry (index 41), then a real one (index 42) */
	fputs("{\"leaf_input\":\"AAAA\",\"extra_data\":\"\",\"index\":41}\n", f);
	{
		size_t dl;
		char *body = (char *)fixture_slurp(DATA "real/rfc6962/icarus_get-entries_120000000_DERIVED.json", &dl);
		json_object *o = json_tokener_parse(body), *ents, *e0;

		ck_assert(o != NULL);
		ck_assert(json_object_object_get_ex(o, "entries", &ents));
		e0 = json_object_array_get_idx(ents, 0);
		fprintf(f, "%s\n", json_object_to_json_string_ext(e0, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		free(body);
	}
	fclose(f);
	setenv("CERTSTREAM_RENDER_SEEN", "5", 1);
	out = tmpfile();
	ck_assert(out != NULL);
	ck_assert_int_eq(render_cli_main(path, out), 1);    /* one failed */
	rewind(out);
	n = fread(buf, 1, sizeof(buf) - 1, out);
	buf[n] = 0;
	/* exactly one message, for index 42 */
	ck_assert_ptr_nonnull(strstr(buf, "\"cert_index\":42,"));
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
	fclose(out);
	unlink(path);
	ck_assert_int_eq(render_cli_main("/nonexistent/file", stdout), 2);
}
END_TEST

Suite *render_suite(void);

Suite *
render_suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("render");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_input_renders_exactly_its_golden);
	tcase_add_test(tc, three_forms_agree_on_every_navigli_entry);
	tcase_add_test(tc, cert_links_follow_log_type);
	tcase_add_test(tc, unparsable_certificate_gives_error_never_half_a_message);
	tcase_add_test(tc, cli_reports_bad_entries_with_their_index);
	suite_add_tcase(s, tc);
	return s;
}
