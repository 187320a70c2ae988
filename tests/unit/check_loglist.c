/* Log list v3 parsing: state filter, tiled logs, config logs. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ingest/loglist.h"

Suite *loglist_suite(void);

static void
cfg_states(struct config *cfg, const char *const *states, int n)
{
	int i;

	config_defaults(cfg);
	if (states == NULL)
		return;
	for (i = 0; i < n; i++)
		snprintf(cfg->ct_log.states[i], sizeof(cfg->ct_log.states[i]),
		    "%s", states[i]);
	cfg->ct_log.nstates = n;
}

/* The real 2025-05-05 list: 33 usable + 1 readonly RFC 6962 logs; its 6
 * tiled logs carry no state yet, so the default filter skips them. */
START_TEST(real_list_default_states)
{
	struct config cfg;
	struct loglist ll;
	const struct loglist_log *l;
	char err[256];
	size_t i, nro = 0;

	cfg_states(&cfg, NULL, 0);
	loglist_init(&ll);
	ck_assert_msg(loglist_load_file(&ll,
	    "tests/data/ct/all_logs_list_v3_2025-05-05.json", &cfg, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ll.n, 34);
	for (i = 0; i < ll.n; i++) {
		ck_assert_int_eq(ll.logs[i].type, LOGLIST_RFC6962);
		ck_assert(strcmp(ll.logs[i].state, "usable") == 0 ||
		    strcmp(ll.logs[i].state, "readonly") == 0);
		nro += strcmp(ll.logs[i].state, "readonly") == 0;
		ck_assert_int_eq(ll.logs[i].url[strlen(ll.logs[i].url) - 1], '/');
	}
	ck_assert_uint_eq(nro, 1);
	l = loglist_find(&ll, "https://ct.googleapis.com/logs/us1/argon2025h1/");
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(l->operator_name, "Google");
	ck_assert_str_eq(l->name, "Google 'Argon2025h1' log");
	ck_assert_int_gt(strlen(l->key), 80);
	/* retired and rejected logs are not watched */
	ck_assert_ptr_null(loglist_find(&ll, "https://ct.googleapis.com/icarus/"));
	loglist_free(&ll);
}
END_TEST

START_TEST(states_are_configurable)
{
	static const char *const st[] = { "retired", "rejected" };
	struct config cfg;
	struct loglist ll;
	char err[256];

	cfg_states(&cfg, st, 2);
	loglist_init(&ll);
	ck_assert_int_eq(loglist_load_file(&ll,
	    "tests/data/ct/all_logs_list_v3_2025-05-05.json", &cfg, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(ll.n, 103);
	ck_assert_ptr_nonnull(loglist_find(&ll, "https://ct.googleapis.com/icarus/"));
	loglist_free(&ll);
}
END_TEST

/* tiled_logs become static logs: URL from monitoring_url, origin from the
 * submission URL. */
START_TEST(tiled_logs_are_static)
{
	static const char json[] = "{\"operators\":[{\"name\":\"Let's Encrypt\","
	    "\"logs\":[],\"tiled_logs\":[{\"description\":\"Let's Encrypt "
	    "Sycamore2025h2b\",\"key\":\"MFkw\",\"submission_url\":"
	    "\"https://log.sycamore.ct.letsencrypt.org/2025h2b/\","
	    "\"monitoring_url\":\"https://mon.sycamore.ct.letsencrypt.org/2025h2b\","
	    "\"state\":{\"usable\":{\"timestamp\":\"2025-01-01T00:00:00Z\"}}}]}]}";
	struct config cfg;
	struct loglist ll;
	char err[256];

	cfg_states(&cfg, NULL, 0);
	loglist_init(&ll);
	ck_assert_msg(loglist_parse(&ll, json, strlen(json), &cfg, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ll.n, 1);
	ck_assert_int_eq(ll.logs[0].type, LOGLIST_STATIC);
	ck_assert_str_eq(ll.logs[0].url,
	    "https://mon.sycamore.ct.letsencrypt.org/2025h2b/");
	ck_assert_str_eq(ll.logs[0].origin,
	    "log.sycamore.ct.letsencrypt.org/2025h2b");
	ck_assert_str_eq(ll.logs[0].operator_name, "Let's Encrypt");
	loglist_free(&ll);
}
END_TEST

START_TEST(config_logs_are_added_and_win)
{
	struct config cfg;
	struct loglist ll;
	const struct loglist_log *l;
	char err[256];

	cfg_states(&cfg, NULL, 0);
	snprintf(cfg.custom_logs[0].url, sizeof(cfg.custom_logs[0].url),
	    "http://127.0.0.1:9/log1");
	snprintf(cfg.custom_logs[0].name, sizeof(cfg.custom_logs[0].name), "one");
	snprintf(cfg.custom_logs[1].url, sizeof(cfg.custom_logs[1].url),
	    "https://ct.googleapis.com/logs/us1/argon2025h1");
	snprintf(cfg.custom_logs[1].name, sizeof(cfg.custom_logs[1].name),
	    "mine");
	cfg.ncustom_logs = 2;
	snprintf(cfg.static_logs[0].url, sizeof(cfg.static_logs[0].url),
	    "http://127.0.0.1:10/static/");
	cfg.nstatic_logs = 1;
	loglist_init(&ll);
	ck_assert_int_eq(loglist_load_file(&ll,
	    "tests/data/ct/all_logs_list_v3_2025-05-05.json", &cfg, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(loglist_add_config(&ll, &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(ll.n, 36);
	l = loglist_find(&ll, "http://127.0.0.1:9/log1/");
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(l->name, "one");
	ck_assert_str_eq(l->key, "");
	l = loglist_find(&ll, "https://ct.googleapis.com/logs/us1/argon2025h1/");
	ck_assert_str_eq(l->name, "mine");
	l = loglist_find(&ll, "http://127.0.0.1:10/static/");
	ck_assert_int_eq(l->type, LOGLIST_STATIC);
	ck_assert_str_eq(l->origin, "127.0.0.1:10/static");
	loglist_free(&ll);

	snprintf(cfg.custom_logs[0].url, sizeof(cfg.custom_logs[0].url),
	    "/not/a/url");
	loglist_init(&ll);
	ck_assert_int_eq(loglist_add_config(&ll, &cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "custom_logs"));
	loglist_free(&ll);
}
END_TEST

START_TEST(ctgo_list_and_bad_input)
{
	static const char *bad[] = { "", "[]", "{}", "{\"operators\":{}}",
	    "{\"operators\":[1]}", "{\"operators\":[{\"logs\":{}}]}",
	    "{\"operators\":[{\"logs\":[{\"state\":{\"usable\":{}}}]}]}",
	    "{\"operators\":[]} x" };
	struct config cfg;
	struct loglist ll;
	char err[256];
	size_t i;

	cfg_states(&cfg, NULL, 0);
	loglist_init(&ll);
	ck_assert_int_eq(loglist_load_file(&ll,
	    "tests/data/ct/ctgo_loglist3_testdata_2022.json", &cfg, err,
	    sizeof(err)), 0);
	/* Aviator readonly, Icarus and Rocketeer usable, Argon2020 qualified;
	 * Racketeer has no state, Bob's Dubious Log is retired. */
	ck_assert_uint_eq(ll.n, 4);
	ck_assert_ptr_nonnull(loglist_find(&ll,
	    "https://ct.googleapis.com/logs/argon2020/"));
	ck_assert_str_eq(loglist_find(&ll, "https://ct.googleapis.com/aviator/")
	    ->state, "readonly");
	loglist_free(&ll);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		loglist_init(&ll);
		ck_assert_msg(loglist_parse(&ll, bad[i], strlen(bad[i]), &cfg, err,
		    sizeof(err)) == -1, "accepted case %zu", i);
		loglist_free(&ll);
	}
	loglist_init(&ll);
	ck_assert_int_eq(loglist_load_file(&ll, "tests/data/ct/none.json", &cfg,
	    err, sizeof(err)), -1);
	loglist_free(&ll);
}
END_TEST

START_TEST(shipped_copy_parses)
{
	struct config cfg;
	struct loglist ll;
	char err[256];

	cfg_states(&cfg, NULL, 0);
	loglist_init(&ll);
	ck_assert_int_eq(loglist_load_file(&ll, LOGLIST_FALLBACK, &cfg, err,
	    sizeof(err)), 0);
	ck_assert_uint_gt(ll.n, 10);
	loglist_free(&ll);
}
END_TEST

static size_t
count_operator(const struct loglist *ll, const char *op)
{
	size_t i, n = 0;

	for (i = 0; i < ll->n; i++)
		n += strcmp(ll->logs[i].operator_name, op) == 0;
	return n;
}

static void
load_real(struct loglist *ll, const struct config *cfg)
{
	char err[256];

	loglist_init(ll);
	ck_assert_msg(loglist_load_file(ll,
	    "tests/data/ct/all_logs_list_v3_2025-05-05.json", cfg, err,
	    sizeof(err)) == 0, "%s", err);
}

/* A URL entry matches the URL exactly (trailing '/' optional), another
 * entry a log id exactly or words of the description; an operator entry
 * its whole name, in any case. */
START_TEST(excluded_logs_and_operators)
{
	struct config cfg;
	struct loglist ll;
	size_t i, google;

	cfg_states(&cfg, NULL, 0);
	load_real(&ll, &cfg);
	google = count_operator(&ll, "Google");
	ck_assert_uint_gt(google, 4);
	loglist_free(&ll);

	/* Argon2025h1 by URL (no trailing '/'), Xenon2025h1 by log id */
	snprintf(cfg.excluded_logs[0], sizeof(cfg.excluded_logs[0]),
	    "https://ct.googleapis.com/logs/us1/argon2025h1");
	snprintf(cfg.excluded_logs[1], sizeof(cfg.excluded_logs[1]),
	    "zxFW7tUufK/zh1vZaS6b6RpxZ0qwF+ysAdJbd87MOwg=");
	/* neither a longer URL nor a prefix of one nor part of an id */
	snprintf(cfg.excluded_logs[2], sizeof(cfg.excluded_logs[2]),
	    "https://ct.googleapis.com/logs/us1/");
	snprintf(cfg.excluded_logs[3], sizeof(cfg.excluded_logs[3]),
	    "https://ct.googleapis.com/logs/us1/argon2025h2/x");
	snprintf(cfg.excluded_logs[4], sizeof(cfg.excluded_logs[4]),
	    "EvFONL1TckyEBhnDjz96E");
	cfg.nexcluded_logs = 5;
	load_real(&ll, &cfg);
	ck_assert_uint_eq(ll.n, 32);
	ck_assert_ptr_null(loglist_find(&ll,
	    "https://ct.googleapis.com/logs/us1/argon2025h1/"));
	ck_assert_ptr_null(loglist_find(&ll,
	    "https://ct.googleapis.com/logs/eu1/xenon2025h1/"));
	ck_assert_ptr_nonnull(loglist_find(&ll,
	    "https://ct.googleapis.com/logs/us1/argon2025h2/"));
	loglist_free(&ll);

	/* words of the description, any case: every Argon shard */
	snprintf(cfg.excluded_logs[0], sizeof(cfg.excluded_logs[0]), "aRGON");
	cfg.nexcluded_logs = 1;
	load_real(&ll, &cfg);
	ck_assert_uint_lt(ll.n, 34);
	for (i = 0; i < ll.n; i++)
		ck_assert_ptr_null(strcasestr(ll.logs[i].name, "argon"));
	ck_assert_ptr_nonnull(loglist_find(&ll,
	    "https://ct.googleapis.com/logs/eu1/xenon2025h1/"));
	loglist_free(&ll);

	/* an operator: its whole name, any case; a part of it is nothing */
	cfg.nexcluded_logs = 0;
	snprintf(cfg.excluded_operators[0], sizeof(cfg.excluded_operators[0]),
	    "goog");
	cfg.nexcluded_operators = 1;
	load_real(&ll, &cfg);
	ck_assert_uint_eq(ll.n, 34);
	loglist_free(&ll);
	snprintf(cfg.excluded_operators[1], sizeof(cfg.excluded_operators[1]),
	    "GOOGLE");
	cfg.nexcluded_operators = 2;
	load_real(&ll, &cfg);
	ck_assert_uint_eq(ll.n, 34 - google);
	ck_assert_uint_eq(count_operator(&ll, "Google"), 0);
	loglist_free(&ll);
}
END_TEST

/* A static log is excluded by its monitoring or its submission URL. */
START_TEST(excluded_static_log_by_either_url)
{
	static const char json[] = "{\"operators\":[{\"name\":\"Let's Encrypt\","
	    "\"tiled_logs\":[{\"description\":\"Sycamore2025h2b\",\"key\":"
	    "\"MFkw\",\"submission_url\":"
	    "\"https://log.sycamore.ct.letsencrypt.org/2025h2b/\","
	    "\"monitoring_url\":\"https://mon.sycamore.ct.letsencrypt.org/2025h2b\","
	    "\"state\":{\"usable\":{}}}]}]}";
	static const char *const urls[] = {
		"https://mon.sycamore.ct.letsencrypt.org/2025h2b/",
		"https://log.sycamore.ct.letsencrypt.org/2025h2b",
	};
	struct config cfg;
	struct loglist ll;
	char err[256];
	size_t i;

	for (i = 0; i < 2; i++) {
		cfg_states(&cfg, NULL, 0);
		snprintf(cfg.excluded_logs[0], sizeof(cfg.excluded_logs[0]), "%s",
		    urls[i]);
		cfg.nexcluded_logs = 1;
		loglist_init(&ll);
		ck_assert_int_eq(loglist_parse(&ll, json, strlen(json), &cfg, err,
		    sizeof(err)), 0);
		ck_assert_uint_eq(ll.n, 0);
		loglist_free(&ll);
	}
}
END_TEST

/* Log ids: the list's, else computed from the key (equal to the list's
 * own); one log id listed twice (two URLs) is watched once. */
START_TEST(log_ids_from_list_or_key)
{
	struct config cfg;
	struct loglist ll;
	const struct loglist_log *argon;
	char json[2048], key[CONFIG_STR], err[256];
	int n;

	cfg_states(&cfg, NULL, 0);
	load_real(&ll, &cfg);
	argon = loglist_find(&ll, "https://ct.googleapis.com/logs/us1/argon2025h1/");
	ck_assert_str_eq(argon->log_id,
	    "TnWjJ1yaEMM4W2zU3z9S6x3w4I4bjWnAsfpksWKaOd8=");
	snprintf(key, sizeof(key), "%s", argon->key);
	loglist_free(&ll);

	n = snprintf(json, sizeof(json), "{\"operators\":[{\"name\":\"G\",\"logs\":["
	    "{\"description\":\"a\",\"key\":\"%s\",\"url\":\"https://a.example/\","
	    "\"state\":{\"usable\":{}}},"
	    "{\"description\":\"b\",\"key\":\"%s\",\"url\":\"https://b.example/\","
	    "\"log_id\":\"TnWjJ1yaEMM4W2zU3z9S6x3w4I4bjWnAsfpksWKaOd8=\","
	    "\"state\":{\"usable\":{}}}]}]}", key, key);
	ck_assert_int_lt(n, (int)sizeof(json));
	loglist_init(&ll);
	ck_assert_msg(loglist_parse(&ll, json, strlen(json), &cfg, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ll.n, 1);
	ck_assert_str_eq(ll.logs[0].url, "https://a.example/");
	ck_assert_str_eq(ll.logs[0].log_id,
	    "TnWjJ1yaEMM4W2zU3z9S6x3w4I4bjWnAsfpksWKaOd8=");
	loglist_free(&ll);
}
END_TEST

Suite *
loglist_suite(void)
{
	Suite *s = suite_create("loglist");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, real_list_default_states);
	tcase_add_test(tc, states_are_configurable);
	tcase_add_test(tc, tiled_logs_are_static);
	tcase_add_test(tc, config_logs_are_added_and_win);
	tcase_add_test(tc, ctgo_list_and_bad_input);
	tcase_add_test(tc, shipped_copy_parses);
	tcase_add_test(tc, excluded_logs_and_operators);
	tcase_add_test(tc, excluded_static_log_by_either_url);
	tcase_add_test(tc, log_ids_from_list_or_key);
	suite_add_tcase(s, tc);
	return s;
}
