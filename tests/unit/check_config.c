/* Configuration: defaults, every key type, bounds, errors with file:line,
 * environment overrides, validation, reload merging, the shipped file. */
#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

Suite *config_suite(void);

static struct config *cfg;
static char tmp[64];
static char err[1024];

static void
setup(void)
{
	cfg = malloc(sizeof(*cfg));
	ck_assert_ptr_nonnull(cfg);
	tmp[0] = '\0';
	err[0] = '\0';
}

static void
teardown(void)
{
	static const char *const vars[] = { "CERTSTREAM_PORT",
		"CERTSTREAM_CT_LOG_POLL_INTERVAL_MS", "CERTSTREAM_AUTH_TOKENS",
		"CERTSTREAM_WS_ENABLED", "CERTSTREAM_PROTOCOLS_WEBSOCKET",
		"CERTSTREAM_WORKERS", "CERTSTREAM_SOURCE", "CERTSTREAM_REPLAY_RATE",
		"CERTSTREAM_REPLAY_FILE", "CERTSTREAM_BUFFER_SIZE",
		"CERTSTREAM_CUSTOM_LOGS", "CERTSTREAM_HOST",
		"CERTSTREAM_EXCLUDED_LOGS", "CERTSTREAM_EXCLUDED_OPERATORS",
		"CERTSTREAM_NATS_URL", "CERTSTREAM_NATS_PUBLISH" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	if (tmp[0])
		unlink(tmp);
	free(cfg);
}

/* Write text to a temporary file; its path is in tmp. */
static const char *
yaml(const char *text)
{
	FILE *fp;
	int fd;

	if (tmp[0])
		unlink(tmp);
	snprintf(tmp, sizeof(tmp), "/tmp/check_config_XXXXXX");
	fd = mkstemp(tmp);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	return tmp;
}

/* Load text; expect failure with an error that contains want (after the
 * file name and line, if line > 0). */
static void
expect_error(const char *text, int line, const char *want)
{
	char prefix[128];
	const char *path = yaml(text);

	ck_assert_int_eq(config_load(cfg, path, err, sizeof(err)), -1);
	if (line > 0) {
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
		ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
		    "error \"%s\" does not start with \"%s\"", err, prefix);
	}
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err,
	    want);
}

START_TEST(defaults_are_production_values)
{
	config_defaults(cfg);
	ck_assert_str_eq(cfg->host, "0.0.0.0");
	ck_assert_int_eq(cfg->port, 8080);
	ck_assert_str_eq(cfg->log_level, "info");
	ck_assert_uint_eq(cfg->buffer_size, 65536);
	ck_assert_uint_eq(cfg->buffer_bytes, 256ull << 20);
	ck_assert_int_eq(cfg->workers, 0);
	ck_assert_int_eq(cfg->source, SOURCE_CT);
	ck_assert_str_eq(cfg->user, "auto");
	ck_assert_str_eq(cfg->ct_logs_url,
	    "https://www.gstatic.com/ct/log_list/v3/all_logs_list.json");
	ck_assert(cfg->protocols.websocket && cfg->protocols.sse &&
	    cfg->protocols.metrics && cfg->protocols.health &&
	    cfg->protocols.example_json);
	ck_assert_int_eq(cfg->ct_log.nstates, 3);
	ck_assert_str_eq(cfg->ct_log.states[0], "usable");
	ck_assert_str_eq(cfg->ct_log.states[2], "readonly");
	ck_assert_int_eq(cfg->ct_log.batch_size, 256);
	/* on: a public server needs them, a private one never reaches them */
	ck_assert_int_eq(cfg->connection_limit.enabled, 1);
	ck_assert_int_eq(cfg->connection_limit.max_connections, 10000);
	ck_assert_int_eq(cfg->connection_limit.per_ip_limit, 100);
	ck_assert_int_eq(cfg->connection_limit.per_ip_rate, 20);
	ck_assert_int_eq(cfg->connection_limit.ipv6_prefix, 64);
	ck_assert_int_eq(cfg->connection_limit.exempt_loopback, 1);
	ck_assert_int_eq(cfg->auth.enabled, 0);
	ck_assert_int_eq(cfg->auth.ntokens, 0);
	ck_assert_str_eq(cfg->auth.header_name, "Authorization");
	ck_assert_str_eq(cfg->log.target, "stderr");
	ck_assert(cfg->replay.rate == 10.0);
	ck_assert_int_eq(cfg->replay.loop, 1);
	ck_assert_int_eq(cfg->server.heartbeat_interval_secs, 10);
	ck_assert_int_eq(cfg->server.ping_interval_secs, 30);
	ck_assert_int_eq(config_validate(cfg, err, sizeof(err)), 0);
	ck_assert_int_ge(config_workers(cfg), 1);
}
END_TEST

START_TEST(no_file_gives_defaults_and_empty_path)
{
	ck_assert_int_eq(config_load(cfg, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg->path, "");
	ck_assert_int_eq(cfg->port, 8080);
}
END_TEST

START_TEST(every_type_is_read)
{
	const char *path = yaml(
	    "host: \"::1\"\n"
	    "port: 9000\n"
	    "log_level: WARNING\n"
	    "buffer_size: 1Ki\n"
	    "buffer_bytes: 8MiB\n"
	    "workers: 3\n"
	    "source: replay\n"
	    "protocols:\n"
	    "  sse: no\n"
	    "  metrics: off\n"
	    "  health: FALSE\n"
	    "ct_log:\n"
	    "  poll_interval_ms: 250\n"
	    "  backfill: 5000\n"
	    "  states: [usable, retired]\n"
	    "auth:\n"
	    "  enabled: true\n"
	    "  tokens:\n"
	    "    - secret-token-1\n"
	    "    - \"secret-token-2\"\n"
	    "replay:\n"
	    "  file: /srv/feed.ndjson\n"
	    "  rate: 2.5\n"
	    "  loop: false\n"
	    "custom_logs:\n"
	    "  - name: \"My Custom CT Log\"\n"
	    "    url: \"https://ct.example.com/log\"\n"
	    "static_logs:\n"
	    "  - url: \"https://mon.willow.ct.letsencrypt.org/2026h1/\"\n"
	    "    key: \"MFkw\"\n"
	    "    operator: \"Let's Encrypt\"\n"
	    "log:\n"
	    "  target: syslog\n");

	ck_assert_msg(config_load(cfg, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg->path, path);
	ck_assert_str_eq(cfg->host, "::1");
	ck_assert_int_eq(cfg->port, 9000);
	ck_assert_str_eq(cfg->log_level, "warn");
	ck_assert_uint_eq(cfg->buffer_size, 1024);
	ck_assert_uint_eq(cfg->buffer_bytes, 8u << 20);
	ck_assert_int_eq(cfg->workers, 3);
	ck_assert_int_eq(config_workers(cfg), 3);
	ck_assert_int_eq(cfg->source, SOURCE_REPLAY);
	ck_assert_int_eq(cfg->protocols.websocket, 1);
	ck_assert_int_eq(cfg->protocols.sse, 0);
	ck_assert_int_eq(cfg->protocols.metrics, 0);
	ck_assert_int_eq(cfg->protocols.health, 0);
	ck_assert_int_eq(cfg->ct_log.poll_interval_ms, 250);
	ck_assert_uint_eq(cfg->ct_log.backfill, 5000);
	ck_assert_int_eq(cfg->ct_log.nstates, 2);
	ck_assert_str_eq(cfg->ct_log.states[1], "retired");
	ck_assert_int_eq(cfg->auth.enabled, 1);
	ck_assert_int_eq(cfg->auth.ntokens, 2);
	ck_assert_str_eq(cfg->auth.tokens[0], "secret-token-1");
	ck_assert_str_eq(cfg->auth.tokens[1], "secret-token-2");
	ck_assert_str_eq(cfg->replay.file, "/srv/feed.ndjson");
	ck_assert(cfg->replay.rate == 2.5);
	ck_assert_int_eq(cfg->replay.loop, 0);
	ck_assert_int_eq(cfg->ncustom_logs, 1);
	ck_assert_str_eq(cfg->custom_logs[0].name, "My Custom CT Log");
	ck_assert_str_eq(cfg->custom_logs[0].url, "https://ct.example.com/log");
	ck_assert_int_eq(cfg->nstatic_logs, 1);
	/* no name: the URL names it */
	ck_assert_str_eq(cfg->static_logs[0].name,
	    "https://mon.willow.ct.letsencrypt.org/2026h1/");
	ck_assert_str_eq(cfg->static_logs[0].key, "MFkw");
	ck_assert_str_eq(cfg->static_logs[0].operator_name, "Let's Encrypt");
	ck_assert_str_eq(cfg->log.target, "syslog");
}
END_TEST

START_TEST(workers_auto_and_empty_file)
{
	cpu_set_t set;
	const char *path = yaml("workers: auto\n");

	ck_assert_int_eq(config_load(cfg, path, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->workers, 0);
	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	ck_assert_int_eq(config_workers(cfg),
	    CPU_COUNT(&set) > 64 ? 64 : CPU_COUNT(&set));
	path = yaml("# nothing but a comment\n");
	ck_assert_int_eq(config_load(cfg, path, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->port, 8080);
}
END_TEST

START_TEST(relative_paths_are_made_absolute)
{
	char cwd[512], want[1024];
	const char *path = yaml("ct_log:\n  state_file: state/x.json\n"
	    "log:\n  target: logs/certstream.log\n");

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(config_load(cfg, path, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/state/x.json", cwd);
	ck_assert_str_eq(cfg->ct_log.state_file, want);
	snprintf(want, sizeof(want), "%s/logs/certstream.log", cwd);
	ck_assert_str_eq(cfg->log.target, want);
}
END_TEST

START_TEST(unknown_keys_name_file_line_and_key)
{
	expect_error("port: 8080\nprot: 9\n", 2, "prot: unknown key");
	expect_error("ct_log:\n  batch_size: 5\n  poll_intervl_ms: 9\n", 3,
	    "ct_log.poll_intervl_ms: unknown key");
	expect_error("protocols:\n  websocket:\n    deep: 1\n", 3,
	    "protocols.websocket: expected a value, not a mapping");
	expect_error("custom_logs:\n  - url: https://a.example/\n    color: red\n",
	    3, "custom_logs.color: unknown key");
	expect_error("port: 1\nhost: a\nport: 2\n", 3,
	    "port: duplicate key (first on line 1)");
	expect_error("ct_log:\n  batch_size: 1\n  batch_size: 2\n", 3,
	    "ct_log.batch_size: duplicate key (first on line 2)");
}
END_TEST

/* An edge and an ingest node are configured like everything else: YAML,
 * then CERTSTREAM_NATS_*; a bad replica count or an empty server list
 * used by NATS is named. */
START_TEST(nats_keys_and_source)
{
	ck_assert_int_eq(config_load(cfg, yaml("source: nats\nnats:\n"
	    "  stream: S2\n  replicas: 3\n  max_bytes: 2GiB\n"), err,
	    sizeof(err)), 0);
	ck_assert_int_eq(cfg->source, SOURCE_NATS);
	ck_assert_str_eq(cfg->nats.stream, "S2");
	ck_assert_str_eq(cfg->nats.subject, "certstream.records");
	ck_assert_int_eq(cfg->nats.replicas, 3);
	ck_assert_uint_eq(cfg->nats.max_bytes, 2ULL << 30);
	ck_assert_int_eq(cfg->nats.publish, 0);
	setenv("CERTSTREAM_NATS_URL", "nats://a:4222,nats://b:4222", 1);
	setenv("CERTSTREAM_NATS_PUBLISH", "true", 1);
	ck_assert_int_eq(config_load(cfg, yaml("source: ct\n"), err,
	    sizeof(err)), 0);
	ck_assert_str_eq(cfg->nats.url, "nats://a:4222,nats://b:4222");
	ck_assert_int_eq(cfg->nats.publish, 1);
	unsetenv("CERTSTREAM_NATS_URL");
	unsetenv("CERTSTREAM_NATS_PUBLISH");
	expect_error("nats:\n  replicas: 7\n", 2, "nats.replicas");
	expect_error("source: nats\nnats:\n  url: \"\"\n", 0, "nats.url");
	expect_error("source: nats\nnats:\n  publish: true\n", 0,
	    "nats.publish");
}
END_TEST

START_TEST(wrong_types_are_refused)
{
	expect_error("port: eighty\n", 1, "port: not an integer");
	expect_error("\n\nport: [1, 2]\n", 3, "port: expected a value, not a list");
	expect_error("protocols: 5\n", 1, "protocols: expected a mapping");
	expect_error("protocols:\n  sse: maybe\n", 2, "protocols.sse: not a boolean");
	expect_error("replay:\n  rate: fast\n", 2, "replay.rate: not a number");
	expect_error("buffer_bytes: 12 parsecs\n", 1, "buffer_bytes: not a size");
	expect_error("source: carrier-pigeon\n", 1, "source: not a source");
	expect_error("workers: many\n", 1, "workers: not a number or \"auto\"");
	expect_error("log_level: loud\n", 1, "log_level: not a log level");
	expect_error("auth:\n  tokens: {a: b}\n", 2, "auth.tokens: expected a list");
	expect_error("auth:\n  tokens:\n    - [x]\n", 3,
	    "auth.tokens: list items must be strings");
	expect_error("custom_logs:\n  - name: x\n", 2,
	    "custom_logs: a log needs a url");
	expect_error("custom_logs:\n  - url: ftp://x/\n", 2,
	    "custom_logs: url must be http:// or https://");
	expect_error("custom_logs: https://x/\n", 1,
	    "custom_logs: expected a list of logs");
	expect_error("port:\n", 1, "port: missing value");
	expect_error("- just\n- a list\n", 1, "the file must be a mapping");
}
END_TEST

START_TEST(bounds_are_enforced)
{
	expect_error("port: 0\n", 1, "port: out of range [1, 65535]");
	expect_error("port: 65536\n", 1, "port: out of range");
	expect_error("workers: 65\n", 1, "workers: out of range [1, 64]");
	expect_error("workers: 0\n", 1, "workers: out of range");
	expect_error("buffer_size: 8\n", 1, "buffer_size: out of range");
	expect_error("replay:\n  rate: -1\n", 2, "replay.rate: out of range");
	expect_error("ct_log:\n  batch_size: 99999999999\n", 2,
	    "ct_log.batch_size: out of range");
	expect_error("host: \"" "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789\"\n", 1,
	    "host: too long");
	/* the edges themselves are fine */
	ck_assert_int_eq(config_load(cfg, yaml("port: 65535\nworkers: 64\n"),
	    err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->port, 65535);
	ck_assert_int_eq(cfg->workers, 64);
}
END_TEST

START_TEST(yaml_syntax_error_names_line)
{
	const char *path = yaml("port: 8080\nprotocols:\n  sse: [true\n");
	char prefix[96];

	ck_assert_int_eq(config_load(cfg, path, err, sizeof(err)), -1);
	snprintf(prefix, sizeof(prefix), "%s:", path);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "%s", err);
	ck_assert_int_eq(config_load(cfg, "/nonexistent/certstream.conf", err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent/certstream.conf: No such file") !=
	    NULL, "%s", err);
}
END_TEST

START_TEST(cross_field_validation_names_the_key)
{
	expect_error("auth:\n  enabled: true\n", 0,
	    "auth.tokens: auth.enabled is true but no token is set");
	expect_error("source: replay\nreplay:\n  file: \"\"\n", 3,
	    "replay.file: source is replay but no replay.file is set");
	expect_error("tls:\n  cert: /etc/c.pem\n", 0, "tls.key:");
	expect_error("shm_name: no-slash\n", 1, "shm_name: must be");
	expect_error("user: root\ngroup: nogroup\n", 2, "group: group needs user");
	expect_error("user: \"\"\ngroup: nogroup\n", 2, "group: group needs user");
}
END_TEST

START_TEST(env_overrides_file)
{
	const char *path = yaml("port: 9000\nct_log:\n  poll_interval_ms: 100\n"
	    "auth:\n  tokens: [one]\n");

	setenv("CERTSTREAM_PORT", "9100", 1);
	setenv("CERTSTREAM_CT_LOG_POLL_INTERVAL_MS", "750", 1);
	setenv("CERTSTREAM_AUTH_TOKENS", "a, b ,c", 1);
	setenv("CERTSTREAM_WS_ENABLED", "false", 1);
	setenv("CERTSTREAM_WORKERS", "2", 1);
	setenv("CERTSTREAM_SOURCE", "replay", 1);
	setenv("CERTSTREAM_REPLAY_FILE", "/srv/x.ndjson", 1);
	setenv("CERTSTREAM_REPLAY_RATE", "0", 1);
	setenv("CERTSTREAM_BUFFER_SIZE", "4096", 1);
	setenv("CERTSTREAM_CUSTOM_LOGS", "https://a.example/, https://b.example/",
	    1);
	ck_assert_msg(config_load(cfg, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg->port, 9100);
	ck_assert_int_eq(cfg->ct_log.poll_interval_ms, 750);
	ck_assert_int_eq(cfg->auth.ntokens, 3);
	ck_assert_str_eq(cfg->auth.tokens[0], "a");
	ck_assert_str_eq(cfg->auth.tokens[1], "b");
	ck_assert_str_eq(cfg->auth.tokens[2], "c");
	ck_assert_int_eq(cfg->protocols.websocket, 0);
	ck_assert_int_eq(cfg->workers, 2);
	ck_assert_int_eq(cfg->source, SOURCE_REPLAY);
	ck_assert_str_eq(cfg->replay.file, "/srv/x.ndjson");
	ck_assert(cfg->replay.rate == 0.0);
	ck_assert_uint_eq(cfg->buffer_size, 4096);
	ck_assert_int_eq(cfg->ncustom_logs, 2);
	ck_assert_str_eq(cfg->custom_logs[1].url, "https://b.example/");
	/* our own name wins over certstream-server-rust's alias */
	setenv("CERTSTREAM_PROTOCOLS_WEBSOCKET", "true", 1);
	ck_assert_int_eq(config_load(cfg, path, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->protocols.websocket, 1);
}
END_TEST

START_TEST(bad_env_names_the_variable)
{
	setenv("CERTSTREAM_PORT", "http", 1);
	ck_assert_int_eq(config_load(cfg, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "environment CERTSTREAM_PORT: port: not an integer: \"http\"");
	unsetenv("CERTSTREAM_PORT");
	setenv("CERTSTREAM_WS_ENABLED", "perhaps", 1);
	ck_assert_int_eq(config_load(cfg, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "environment CERTSTREAM_WS_ENABLED: "
	    "protocols.websocket: not a boolean") == err, "%s", err);
	unsetenv("CERTSTREAM_WS_ENABLED");
	setenv("CERTSTREAM_WORKERS", "100", 1);
	ck_assert_int_eq(config_load(cfg, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "CERTSTREAM_WORKERS: workers: out of range") !=
	    NULL, "%s", err);
}
END_TEST

START_TEST(reload_keeps_static_keys)
{
	struct config *next = malloc(sizeof(*next));
	char kept[256];

	ck_assert_ptr_nonnull(next);
	ck_assert_int_eq(config_load(cfg, yaml("port: 9000\nworkers: 2\n"
	    "auth:\n  tokens: [old]\n"), err, sizeof(err)), 0);
	ck_assert_int_eq(config_load(next, yaml("port: 9001\nworkers: 2\n"
	    "auth:\n  tokens: [new1, new2]\nconnection_limit:\n"
	    "  per_ip_limit: 3\n"), err, sizeof(err)), 0);
	ck_assert_int_eq(config_keep_static(next, cfg, kept, sizeof(kept)), 1);
	ck_assert_str_eq(kept, "port");
	ck_assert_int_eq(next->port, 9000);
	ck_assert_int_eq(next->auth.ntokens, 2);
	ck_assert_str_eq(next->auth.tokens[1], "new2");
	ck_assert_int_eq(next->connection_limit.per_ip_limit, 3);
	ck_assert_int_eq(config_key_reloadable("auth.tokens"), 1);
	ck_assert_int_eq(config_key_reloadable("port"), 0);
	ck_assert_int_eq(config_key_reloadable("nope"), -1);
	free(next);
}
END_TEST

/* excluded_logs and excluded_operators: lists of strings from the file or
 * the environment (comma-separated), empty by default, reloadable. */
START_TEST(excluded_lists)
{
	ck_assert_int_eq(config_load(cfg, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->nexcluded_logs, 0);
	ck_assert_int_eq(cfg->nexcluded_operators, 0);
	ck_assert_msg(config_load(cfg, yaml("excluded_logs:\n"
	    "  - \"https://ct.example/log/\"\n  - Argon\n"
	    "excluded_operators: [\"Let's Encrypt\"]\n"), err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg->nexcluded_logs, 2);
	ck_assert_str_eq(cfg->excluded_logs[0], "https://ct.example/log/");
	ck_assert_str_eq(cfg->excluded_logs[1], "Argon");
	ck_assert_int_eq(cfg->nexcluded_operators, 1);
	ck_assert_str_eq(cfg->excluded_operators[0], "Let's Encrypt");
	setenv("CERTSTREAM_EXCLUDED_LOGS", "Xenon, https://b.example/", 1);
	setenv("CERTSTREAM_EXCLUDED_OPERATORS", "Google,Sectigo", 1);
	ck_assert_int_eq(config_load(cfg, tmp, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->nexcluded_logs, 2);
	ck_assert_str_eq(cfg->excluded_logs[0], "Xenon");
	ck_assert_str_eq(cfg->excluded_logs[1], "https://b.example/");
	ck_assert_int_eq(cfg->nexcluded_operators, 2);
	ck_assert_str_eq(cfg->excluded_operators[1], "Sectigo");
	ck_assert_int_eq(config_key_reloadable("excluded_logs"), 1);
	ck_assert_int_eq(config_key_reloadable("excluded_operators"), 1);
}
END_TEST

/* The shipped certstream.conf: valid, every key of the table present, and
 * each at its default (it is the reference an operator reads). */
START_TEST(shipped_conf_lists_every_key_at_its_default)
{
	struct config *def = malloc(sizeof(*def));
	char *text;
	long len;
	FILE *fp = fopen("certstream.conf", "r");

	ck_assert_ptr_nonnull(def);
	ck_assert_ptr_nonnull(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	text = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq((long)fread(text, 1, (size_t)len, fp), len);
	text[len] = '\0';
	fclose(fp);
	for (int i = 0; i < config_key_count(); i++) {
		const char *k = config_key_name(i);
		const char *leaf = strrchr(k, '.');
		char pat[96];

		snprintf(pat, sizeof(pat), "%s:", leaf ? leaf + 1 : k);
		ck_assert_msg(strstr(text, pat) != NULL,
		    "certstream.conf lacks %s", k);
	}
	ck_assert_msg(config_load(cfg, "certstream.conf", err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(config_load(def, NULL, err, sizeof(err)), 0);
	memset(cfg->path, 0, sizeof(cfg->path));
	ck_assert_msg(memcmp(cfg, def, sizeof(*cfg)) == 0,
	    "certstream.conf differs from the built-in defaults");
	free(text);
	free(def);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, excluded_lists);
	tcase_add_test(tc, defaults_are_production_values);
	tcase_add_test(tc, no_file_gives_defaults_and_empty_path);
	tcase_add_test(tc, every_type_is_read);
	tcase_add_test(tc, workers_auto_and_empty_file);
	tcase_add_test(tc, relative_paths_are_made_absolute);
	tcase_add_test(tc, unknown_keys_name_file_line_and_key);
	tcase_add_test(tc, wrong_types_are_refused);
	tcase_add_test(tc, nats_keys_and_source);
	tcase_add_test(tc, bounds_are_enforced);
	tcase_add_test(tc, yaml_syntax_error_names_line);
	tcase_add_test(tc, cross_field_validation_names_the_key);
	tcase_add_test(tc, env_overrides_file);
	tcase_add_test(tc, bad_env_names_the_variable);
	tcase_add_test(tc, reload_keeps_static_keys);
	tcase_add_test(tc, shipped_conf_lists_every_key_at_its_default);
	suite_add_tcase(s, tc);
	return s;
}
