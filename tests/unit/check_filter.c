/* Unit tests: broadcast/filter_parse.c, broadcast/filter_match.c and the
 * matchers under it, filter_lit.c and filter_shard.c (suite "filter"). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast/filter_lit.h"
#include "broadcast/filter_match.h"
#include "broadcast/filter_parse.h"
#include "broadcast/filter_relit.h"
#include "shm/facts.h"

Suite *filter_suite(void);

static int
parse(const char *q, struct filter_spec *s, struct filter_err *e)
{
	return filter_parse(q, strlen(q), 1, 256, s, e);
}

/* The parameter and status a query is refused with. */
static void
refused(const char *q, const char *param, int status)
{
	struct filter_spec s;
	struct filter_err e;

	memset(&e, 0, sizeof(e));
	ck_assert_msg(parse(q, &s, &e) == -1, "%s accepted", q);
	ck_assert_str_eq(e.param, param);
	ck_assert_int_eq(e.status, status);
	ck_assert(e.reason[0] != '\0');
}

START_TEST(parse_lists_lowercases_sorts_dedups)
{
	struct filter_spec s;
	struct filter_err e;

	ck_assert_int_eq(parse("domain=B.example.COM.,a.example&keyword=PayPal"
	    "&domain=a.example&regex=%5EAB%2C%5Bc%5D&type=precert&token=x"
	    "&since=5&gaps=1&stream=full&unique=1&lastEventId=3", &s, &e), 0);
	ck_assert_uint_eq(s.n, 5);
	ck_assert_int_eq(s.t[0].kind, FK_DOMAIN);
	ck_assert_str_eq(s.t[0].s, "a.example");
	ck_assert_str_eq(s.t[1].s, "b.example.com");
	ck_assert_str_eq(s.t[2].s, "paypal");
	ck_assert_int_eq(s.t[3].kind, FK_REGEX);
	ck_assert_str_eq(s.t[3].s, "^AB,[c]");      /* as sent, commas kept */
	ck_assert_str_eq(s.t[4].s, "precert");
	ck_assert_uint_eq(s.kinds, (1u << FK_DOMAIN) | (1u << FK_KEYWORD) |
	    (1u << FK_REGEX) | (1u << FK_TYPE));
	filter_spec_fini(&s);
	ck_assert_int_eq(parse("issuer=Let%27s+Encrypt,+Inc", &s, &e), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.t[0].s, "let's encrypt, inc");
	filter_spec_fini(&s);
	ck_assert_int_eq(parse("", &s, &e), 0);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(parse_refuses_each_bad_case)
{
	struct filter_spec s;
	struct filter_err e;
	char q[4000];
	size_t n = 0;

	refused("colour=red", "colour", 400);
	refused("domain=", "domain", 400);
	refused("keyword", "keyword", 400);
	refused("domain=a.com,,b.com", "domain", 400);
	refused("domain=*.example.com", "domain", 400);
	refused("domain=a/b", "domain", 400);
	refused("type=leaf", "type", 400);
	refused("keyword=%zz", "keyword", 400);
	refused("keyword=a%0ab", "keyword", 400);
	refused("issuer=", "issuer", 400);
	/* 257 terms */
	n += (size_t)snprintf(q, sizeof(q), "keyword=k0");
	for (int i = 1; i < 257; i++)
		n += (size_t)snprintf(q + n, sizeof(q) - n, ",k%d", i);
	refused(q, "keyword", 400);
	q[n - 5] = '\0';        /* drop the last term: 256 */
	ck_assert_int_eq(parse(q, &s, &e), 0);
	filter_spec_fini(&s);
	ck_assert_int_eq(filter_parse("domain=a.com", 12, 0, 256, &s, &e), -1);
	ck_assert_str_eq(e.param, "domain");
}
END_TEST

START_TEST(err_response_is_json_400)
{
	struct filter_err e = { 400, "re\"gex", "bad \\ thing" };
	char buf[1024];
	size_t n = filter_err_response(&e, buf, sizeof(buf));

	ck_assert_uint_gt(n, 0);
	ck_assert(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
	ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\n{\"error\":\"bad filter\","
	    "\"parameter\":\"re\\\"gex\",\"reason\":\"bad \\\\ thing\"}\n"));
}
END_TEST

/* ---- matching ---- */

static uint8_t fbuf[4096];

static size_t
facts(int type, const char *cn, const char *o, const char *url,
    const char *name, const char *op, const char *d0, const char *d1)
{
	const char *doms[2] = { d0, d1 };
	size_t dl[2] = { d0 ? strlen(d0) : 0, d1 ? strlen(d1) : 0 };
	struct facts_in in;
	long n;

	memset(&in, 0, sizeof(in));
	in.type = type;
	in.field[FF_ISSUER_CN] = cn;
	in.field[FF_ISSUER_O] = o;
	in.field[FF_LOG_URL] = url;
	in.field[FF_LOG_NAME] = name;
	in.field[FF_LOG_OPERATOR] = op;
	for (int i = 0; i < FF_COUNT; i++)
		in.field_len[i] = in.field[i] ? strlen(in.field[i]) : 0;
	in.domains = doms;
	in.domain_len = dl;
	in.ndomains = d1 ? 2 : d0 ? 1 : 0;
	n = facts_encode(&in, fbuf, sizeof(fbuf));
	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

/* Does filter q match a record of the single domain d (cert, issuer
 * "R11"/"Let's Encrypt", log "https://ct.example/oak/" "Oak 2025",
 * operator "Google")? Checked with the group's own matcher and, after a
 * rebuild, the merged one. */
static int
match_dom(struct filter_reg *r, const char *q, const char *d)
{
	struct filter_spec s;
	struct filter_err e;
	struct filter_group *g;
	size_t n;
	int a, b;

	ck_assert_msg(parse(q, &s, &e) == 0, "%s: %s", q, e.reason);
	g = filter_group_get(r, &s, 100000, &e);
	ck_assert_msg(g != NULL, "%s: %s", q, e.reason);
	n = facts(FACTS_CERT, "R11", "Let's Encrypt", "https://ct.example/oak/",
	    "Oak 2025", "Google", d, NULL);
	a = filter_match_facts(r, g, fbuf, n);
	ck_assert_int_eq(filter_reg_tick(r, 0, 1), 0);
	b = filter_match_facts(r, g, fbuf, n);
	ck_assert_int_eq(a, b);
	filter_group_put(r, g);
	return a;
}

START_TEST(match_domain_label_boundaries_and_wildcards)
{
	struct filter_reg *r = filter_reg_new();

	ck_assert(match_dom(r, "domain=example.com", "example.com"));
	ck_assert(match_dom(r, "domain=example.com", "a.b.example.com"));
	ck_assert(match_dom(r, "domain=EXAMPLE.com", "www.example.com"));
	ck_assert(!match_dom(r, "domain=example.com", "badexample.com"));
	ck_assert(!match_dom(r, "domain=example.com", "example.com.evil.net"));
	ck_assert(!match_dom(r, "domain=a.example.com", "example.com"));
	/* *.example.com covers exactly one label */
	ck_assert(match_dom(r, "domain=example.com", "*.example.com"));
	ck_assert(match_dom(r, "domain=a.example.com", "*.example.com"));
	ck_assert(!match_dom(r, "domain=b.a.example.com", "*.example.com"));
	ck_assert(match_dom(r, "domain=com", "*.example.com"));
	ck_assert(!match_dom(r, "domain=other.com", "*.example.com"));
	ck_assert(match_dom(r, "domain=x.com,example.com", "a.example.com"));
	filter_reg_free(r);
}
END_TEST

START_TEST(match_keyword_regex_caseless_substring)
{
	struct filter_reg *r = filter_reg_new();

	ck_assert(match_dom(r, "keyword=PayPal", "secure-paypal.com.x.net"));
	ck_assert(!match_dom(r, "keyword=paypal", "pay-pal.com"));
	ck_assert(match_dom(r, "keyword=.co", "a.com"));        /* literal dot */
	ck_assert(!match_dom(r, "keyword=a.c", "abc.net"));
	ck_assert(match_dom(r, "keyword=(a", "x(a.com"));
	ck_assert(match_dom(r, "regex=%5Epay.*%5C.com%24", "paypal.com"));
	ck_assert(!match_dom(r, "regex=%5Epay.*%5C.com%24", "mypaypal.com"));
	ck_assert(match_dom(r, "regex=PAYPAL", "paypal.com"));
	/* each domain on its own: ^ and $ are its ends */
	ck_assert(match_dom(r, "regex=%5Ewww%5C.", "www.example.com"));
	ck_assert(match_dom(r, "regex=(a%2B)%2B%24", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab.aa"));
	filter_reg_free(r);
}
END_TEST

START_TEST(match_issuer_log_operator_type_and_kinds)
{
	struct filter_reg *r = filter_reg_new();

	ck_assert(match_dom(r, "issuer=let's+encrypt", "a.com"));
	ck_assert(match_dom(r, "issuer=r1", "a.com"));          /* CN */
	ck_assert(!match_dom(r, "issuer=digicert", "a.com"));
	ck_assert(match_dom(r, "log=OAK", "a.com"));            /* name */
	ck_assert(match_dom(r, "log=ct.example/oak", "a.com")); /* URL */
	ck_assert(!match_dom(r, "log=argon", "a.com"));
	ck_assert(match_dom(r, "operator=google", "a.com"));
	ck_assert(!match_dom(r, "operator=cloudflare", "a.com"));
	ck_assert(match_dom(r, "type=cert", "a.com"));
	ck_assert(!match_dom(r, "type=precert", "a.com"));
	ck_assert(match_dom(r, "type=precert,cert", "a.com"));
	/* AND across kinds, OR within one */
	ck_assert(match_dom(r, "domain=a.com&issuer=r11&type=cert", "a.com"));
	ck_assert(!match_dom(r, "domain=a.com&issuer=sectigo", "a.com"));
	ck_assert(match_dom(r, "domain=b.com&domain=a.com&keyword=zz,a", "a.com"));
	filter_reg_free(r);
}
END_TEST

START_TEST(match_refuses_bad_regex)
{
	struct filter_reg *r = filter_reg_new();
	struct filter_spec s;
	struct filter_err e;

	ck_assert_int_eq(parse("regex=(ab", &s, &e), 0);
	ck_assert_ptr_null(filter_group_get(r, &s, 1000, &e));
	ck_assert_int_eq(e.status, 400);
	ck_assert_str_eq(e.param, "regex");
	filter_spec_fini(&s);
	ck_assert_int_eq(parse("regex=(a)%5C1", &s, &e), 0);   /* backreference */
	ck_assert_ptr_null(filter_group_get(r, &s, 1000, &e));
	ck_assert_str_eq(e.param, "regex");
	filter_spec_fini(&s);
	ck_assert_uint_eq(filter_reg_groups(r), 0);
	filter_reg_free(r);
}
END_TEST

START_TEST(registry_shares_groups_and_counts_refs)
{
	struct filter_reg *r = filter_reg_new();
	struct filter_spec s;
	struct filter_err e;
	struct filter_group *a, *b, *c, *d;

	parse("keyword=x&domain=a.com", &s, &e);
	a = filter_group_get(r, &s, 1000, &e);
	parse("domain=A.com&keyword=x,x", &s, &e);   /* same, other order */
	b = filter_group_get(r, &s, 1000, &e);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(filter_reg_groups(r), 1);
	ck_assert_uint_eq(filter_reg_terms(r), 2);
	parse("keyword=y", &s, &e);
	c = filter_group_get(r, &s, 1000, &e);
	ck_assert_ptr_ne(a, c);
	ck_assert_uint_eq(filter_reg_groups(r), 2);
	ck_assert_uint_eq(filter_reg_young(r), 2);
	ck_assert_int_eq(filter_reg_tick(r, 5000, 1), 0);
	ck_assert_uint_eq(filter_reg_young(r), 0);
	/* a new group is young until the debounced rebuild takes it in */
	parse("keyword=z", &s, &e);
	d = filter_group_get(r, &s, 1000, &e);
	ck_assert_uint_eq(filter_reg_young(r), 1);
	ck_assert_int_eq(filter_reg_tick(r, 5500, 0), 0);      /* too soon */
	ck_assert_int_eq(filter_reg_tick(r, 5500, 1), 0);
	ck_assert_uint_eq(filter_reg_young(r), 0);
	filter_group_put(r, d);
	filter_group_put(r, a);
	ck_assert_uint_eq(filter_reg_groups(r), 2);
	filter_group_put(r, b);
	ck_assert_uint_eq(filter_reg_groups(r), 1);
	ck_assert_uint_eq(filter_reg_terms(r), 1);
	/* max_patterns: 1 held, 2 more would pass 2 */
	parse("keyword=p,q", &s, &e);
	ck_assert_ptr_null(filter_group_get(r, &s, 2, &e));
	ck_assert_int_eq(e.status, 503);
	filter_spec_fini(&s);
	filter_group_put(r, c);
	ck_assert_uint_eq(filter_reg_groups(r), 0);
	filter_reg_free(r);
}
END_TEST

/* ---- the literal automaton against a brute-force search ---- */

static unsigned lit_seen[64];

static const char *lit_low;
static const char (*lit_terms)[6];

static void
lit_cb(unsigned id, size_t end, void *ctx)
{
	size_t n = strlen(lit_terms[id]);

	(void)ctx;
	/* the occurrence it reports is there */
	ck_assert(end >= n && memcmp(lit_low + end - n, lit_terms[id], n) == 0);
	lit_seen[id]++;
}

/* Overlapping terms over a 3-letter alphabet (prefixes, suffixes, one
 * inside another): every term found by the automaton exactly where a
 * plain search finds it, uppercase text read as lowercase. */
START_TEST(lit_matches_as_brute_force_substring_search)
{
	static const char alpha[] = "ab.";
	char terms[40][6], text[40], low[40];
	const char *ts[40];
	size_t tl[40];
	unsigned id[40];
	unsigned seed = 12345;

	for (int round = 0; round < 300; round++) {
		unsigned n = 1 + round % 40, tn;
		struct filter_lit *l;

		for (unsigned i = 0; i < n; i++) {
			tl[i] = 1 + (seed = seed * 1103515245 + 12345) % 5;
			for (size_t k = 0; k < tl[i]; k++)
				terms[i][k] = alpha[(seed = seed * 1103515245 +
				    12345) >> 16 & 1 ? 0 : (seed >> 20) % 3];
			terms[i][tl[i]] = '\0';
			ts[i] = terms[i];
			id[i] = i;
		}
		l = filter_lit_new(ts, tl, id, n);
		ck_assert_ptr_nonnull(l);
		tn = (seed = seed * 1103515245 + 12345) % 30;
		for (unsigned k = 0; k < tn; k++) {
			low[k] = alpha[(seed = seed * 1103515245 + 12345) >> 16
			    & 1 ? 1 : (seed >> 20) % 3];
			text[k] = (k % 3 == 0 && low[k] != '.') ?
			    (char)(low[k] - 'a' + 'A') : low[k];
		}
		memset(lit_seen, 0, sizeof(lit_seen));
		lit_low = low;
		lit_terms = terms;
		filter_lit_scan(l, text, tn, lit_cb, NULL);
		for (unsigned i = 0; i < n; i++) {
			unsigned want = 0;

			for (unsigned k = 0; k + tl[i] <= tn; k++)
				want += memcmp(low + k, terms[i], tl[i]) == 0;
			ck_assert_msg(lit_seen[i] == want, "round %d term %s: "
			    "%u found, %u there", round, terms[i], lit_seen[i],
			    want);
		}
		filter_lit_free(l);
	}
	/* no terms at all */
	filter_lit_free(filter_lit_new(NULL, NULL, NULL, 0));
}
END_TEST

/* ---- the domain hash against the same rule as a regex ---- */

/* domain=D is "D or a name under it, on a label boundary": for plain
 * names exactly regex=(^|\.)D$, run by Hyperscan. Both paths, with the
 * groups' own matchers and then the merged one, on the same names. */
START_TEST(domain_hash_agrees_with_its_regex)
{
	static const char *dom[] = { "example.com", "a.example.com", "com",
	    "xample.com", "b.a.example.com", "example.co" };
	static const char *name[] = { "example.com", "www.example.com",
	    "a.example.com", "b.a.example.com", "badexample.com",
	    "example.com.evil.net", "example.co", "com", "x.com",
	    "my-example.com", "aexample.com", "example.comm" };
	struct filter_reg *r = filter_reg_new();

	for (size_t i = 0; i < sizeof(dom) / sizeof(dom[0]); i++) {
		char qd[128], qr[160], esc[96];
		size_t k = 0;

		for (const char *p = dom[i]; *p; p++) {
			if (*p == '.') {
				memcpy(esc + k, "%5C.", 4);
				k += 4;
			} else {
				esc[k++] = *p;
			}
		}
		esc[k] = '\0';
		snprintf(qd, sizeof(qd), "domain=%s", dom[i]);
		snprintf(qr, sizeof(qr), "regex=(%%5E%%7C%%5C.)%s%%24", esc);
		for (size_t j = 0; j < sizeof(name) / sizeof(name[0]); j++)
			ck_assert_msg(match_dom(r, qd, name[j]) ==
			    match_dom(r, qr, name[j]), "%s vs %s on %s", qd, qr,
			    name[j]);
	}
	filter_reg_free(r);
}
END_TEST

/* ---- regexes that are only literals ---- */

START_TEST(relit_recognises_only_plain_literals)
{
	static const struct {
		const char *re, *lit;
		unsigned anch;
	} yes[] = {
		{ "paypal", "paypal", 0 },
		{ "PayPal", "paypal", 0 },
		{ "^login\\.", "login.", RELIT_START },
		{ "\\.example\\.com$", ".example.com", RELIT_END },
		{ "^www\\.a-b\\.com$", "www.a-b.com", RELIT_START | RELIT_END },
		{ "a\\$", "a$", 0 },
		{ "x\\-y\\/z", "x-y/z", 0 },
	};
	static const char *no[] = { "a.b", "\\d+", "^$", "", "a$b", "a|b",
	    "(ab)", "[ab]", "ab*", "a{2}", "\\bab", "^", "a\\", "\\x41",
	    "a^b" };
	char out[64];
	size_t n;
	unsigned anch;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		ck_assert_msg(filter_relit(yes[i].re, strlen(yes[i].re), out, &n,
		    &anch) == 1, "%s", yes[i].re);
		ck_assert_uint_eq(n, strlen(yes[i].lit));
		ck_assert(memcmp(out, yes[i].lit, n) == 0);
		ck_assert_uint_eq(anch, yes[i].anch);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(filter_relit(no[i], strlen(no[i]), out, &n,
		    &anch) == 0, "%s", no[i]);
}
END_TEST

/* The query regex=R, every byte but [a-z0-9] %-encoded. */
static void
regex_query(char *q, size_t cap, const char *re)
{
	size_t k = (size_t)snprintf(q, cap, "regex=");

	for (; *re != '\0' && k + 4 < cap; re++) {
		unsigned char c = (unsigned char)*re;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			q[k++] = (char)c;
		else
			k += (size_t)snprintf(q + k, cap - k, "%%%02X", c);
	}
	q[k] = '\0';
}

/* A literal regex matched as a literal gives what Hyperscan gives for the
 * same regex in a group (which makes it no literal), on the same names,
 * a final newline included ($ matches before one). */
START_TEST(relit_matches_as_hyperscan_does)
{
	static const char *re[] = { "pay", "^pay", "pal$", "^paypal\\.com$",
	    "\\.com$", "^www\\.", "l\\.c", "^a$", "com\\n" };
	static const char *name[] = { "paypal.com", "www.paypal.com",
	    "mypaypal.com.evil.net", "a", "ab", "www.com", "paypal.com\n",
	    "pal", "com\n" };
	struct filter_reg *r = filter_reg_new();
	char q1[160], q2[160], wrapped[64];

	for (size_t i = 0; i < sizeof(re) / sizeof(re[0]); i++) {
		regex_query(q1, sizeof(q1), re[i]);
		snprintf(wrapped, sizeof(wrapped), "(?:%s)", re[i]);
		regex_query(q2, sizeof(q2), wrapped);
		for (size_t j = 0; j < sizeof(name) / sizeof(name[0]); j++)
			ck_assert_msg(match_dom(r, q1, name[j]) ==
			    match_dom(r, q2, name[j]), "%s vs %s on \"%s\"",
			    re[i], wrapped, name[j]);
	}
	filter_reg_free(r);
}
END_TEST

/* ---- many regexes: shards, reused across rebuilds ---- */

static size_t
one_name(const char *d)
{
	return facts(FACTS_CERT, "R11", "Let's Encrypt", "https://ct.example/",
	    "Oak", "Google", d, NULL);
}

/* 70 regex groups (more than one shard's worth), merged; then 20 of
 * them gone and 20 new ones merged with the big shard kept (its gone
 * regexes still in it, reporting nothing): each group matches its own
 * name and not its neighbour's, before and after. */
START_TEST(many_regexes_in_shards_match_each_its_own)
{
	struct filter_reg *r = filter_reg_new();
	struct filter_group *g[90];
	char q[64], d[64];
	struct filter_spec s;
	struct filter_err e;
	int i;

	for (i = 0; i < 90; i++) {
		snprintf(q, sizeof(q), "regex=%%5Er%d%%5B.%%5Dx%%24", i);
		ck_assert_int_eq(parse(q, &s, &e), 0);
		g[i] = filter_group_get(r, &s, 100000, &e);
		ck_assert_ptr_nonnull(g[i]);
		if (i == 69)
			ck_assert_int_eq(filter_reg_tick(r, 0, 1), 0);
		if (i == 69)
			ck_assert_uint_eq(filter_reg_young(r), 0);
		if (i == 69)
			for (int k = 0; k < 20; k++)
				filter_group_put(r, g[k]);
		if (i == 69)    /* the 20 purged */
			ck_assert_int_eq(filter_reg_tick(r, 20000, 1), 0);
	}
	ck_assert_uint_eq(filter_reg_young(r), 20);
	ck_assert_int_eq(filter_reg_tick(r, 21000, 1), 0);
	ck_assert_uint_eq(filter_reg_groups(r), 70);
	for (i = 20; i < 90; i++) {
		snprintf(d, sizeof(d), "r%d.x", i);
		ck_assert_int_eq(filter_match_facts(r, g[i], fbuf,
		    one_name(d)), 1);
		ck_assert_int_eq(filter_match_facts(r, g[i == 20 ? 89 : i - 1],
		    fbuf, one_name(d)), 0);
	}
	for (i = 20; i < 90; i++)
		filter_group_put(r, g[i]);
	filter_reg_free(r);
}
END_TEST

/* A group whose last client left is kept a while: the same filter again
 * gets it back compiled (not young); after DEAD_MS it is gone. */
START_TEST(dead_group_revived_then_purged)
{
	struct filter_reg *r = filter_reg_new();
	struct filter_group *a, *b;
	struct filter_spec s;
	struct filter_err e;

	parse("regex=%5Epay&keyword=x", &s, &e);
	a = filter_group_get(r, &s, 1000, &e);
	ck_assert_int_eq(filter_reg_tick(r, 1000, 1), 0);
	filter_group_put(r, a);
	ck_assert_uint_eq(filter_reg_groups(r), 0);
	ck_assert_uint_eq(filter_reg_terms(r), 0);
	parse("keyword=x&regex=%5Epay", &s, &e);
	b = filter_group_get(r, &s, 1000, &e);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(filter_reg_young(r), 0);
	ck_assert_uint_eq(filter_reg_terms(r), 2);
	ck_assert_int_eq(filter_match_facts(r, b, fbuf, one_name("payx.com")),
	    1);
	filter_group_put(r, b);
	ck_assert_int_eq(filter_reg_tick(r, 12000, 0), 0);     /* purged */
	parse("keyword=x&regex=%5Epay", &s, &e);
	b = filter_group_get(r, &s, 1000, &e);
	ck_assert_uint_eq(filter_reg_young(r), 1);
	ck_assert_int_eq(filter_match_facts(r, b, fbuf, one_name("payx.com")),
	    1);
	filter_group_put(r, b);
	filter_reg_free(r);
}
END_TEST

Suite *
filter_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, parse_lists_lowercases_sorts_dedups);
	tcase_add_test(tc, parse_refuses_each_bad_case);
	tcase_add_test(tc, err_response_is_json_400);
	tcase_add_test(tc, match_domain_label_boundaries_and_wildcards);
	tcase_add_test(tc, match_keyword_regex_caseless_substring);
	tcase_add_test(tc, match_issuer_log_operator_type_and_kinds);
	tcase_add_test(tc, match_refuses_bad_regex);
	tcase_add_test(tc, registry_shares_groups_and_counts_refs);
	tcase_add_test(tc, lit_matches_as_brute_force_substring_search);
	tcase_add_test(tc, domain_hash_agrees_with_its_regex);
	tcase_add_test(tc, relit_recognises_only_plain_literals);
	tcase_add_test(tc, relit_matches_as_hyperscan_does);
	tcase_add_test(tc, many_regexes_in_shards_match_each_its_own);
	tcase_add_test(tc, dead_group_revived_then_purged);
	suite_add_tcase(s, tc);
	return s;
}
