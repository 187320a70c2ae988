/*
 * Configuration: load (defaults, then the YAML file, then CERTSTREAM_*
 * environment names), cross-key validation, what a reload keeps, and the
 * worker count. The keys are a table (config_keys.c), each set through one
 * setter (config_set.c); the file is walked by config_yaml.c.
 * Nothing here logs: errors are returned as "FILE:LINE: key: reason".
 */
#include "common/config_priv.h"

#include <ctype.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shm/layout.h"

/* ---- environment ---- */

static void
env_name(const struct ckey *k, char *out, size_t outlen)
{
	size_t i = 0;
	int n = snprintf(out, outlen, "CERTSTREAM_");

	for (const char *p = k->key; *p && (size_t)n + i + 1 < outlen; p++, i++)
		out[n + i] = *p == '.' ? '_' :
		    (char)toupper((unsigned char)*p);
	out[n + i] = '\0';
}

static int
env_apply_one(struct config *cfg, const struct ckey *k, const char *name,
    char *err, size_t errlen)
{
	const char *v = getenv(name);
	char why[256];

	if (v == NULL)
		return 0;
	if (config_key_set(cfg, k, v, why, sizeof(why)) < 0) {
		errbuf_set(err, errlen, "environment %s: %s: %s", name, k->key, why);
		return -1;
	}
	return 0;
}

int
config_apply_env(struct config *cfg, char *err, size_t errlen)
{
	char name[128];

	for (size_t i = 0; i < config_nkeys; i++) {
		/* The rust alias first, so our own name wins when both are set. */
		if (config_keys[i].alias &&
		    env_apply_one(cfg, &config_keys[i], config_keys[i].alias, err,
		    errlen) < 0)
			return -1;
		env_name(&config_keys[i], name, sizeof(name));
		if (env_apply_one(cfg, &config_keys[i], name, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* ---- validation ---- */

/* Cross-field checks; on error *key names the key at fault. */
static int
validate(const struct config *cfg, const char **key, char *why, size_t wlen)
{
	if (cfg->host[0] == '\0') {
		*key = "host";
		errbuf_set(why, wlen, "empty");
		return -1;
	}
	if (cfg->shm_name[0] != '\0' &&
	    (cfg->shm_name[0] != '/' || strchr(cfg->shm_name + 1, '/') != NULL ||
	    cfg->shm_name[1] == '\0')) {
		*key = "shm_name";
		errbuf_set(why, wlen, "must be \"/name\" with no other '/'");
		return -1;
	}
	if (cfg->source == SOURCE_REPLAY && cfg->replay.file[0] == '\0') {
		*key = "replay.file";
		errbuf_set(why, wlen, "source is replay but no replay.file is set");
		return -1;
	}
	if (cfg->nats.publish && cfg->source != SOURCE_CT) {
		*key = "nats.publish";
		errbuf_set(why, wlen, "records are published from CT ingest only "
		    "(source: ct)");
		return -1;
	}
	if ((cfg->source == SOURCE_NATS || cfg->nats.publish) &&
	    cfg->nats.url[0] == '\0') {
		*key = "nats.url";
		errbuf_set(why, wlen, "empty, but NATS is used");
		return -1;
	}
	if (cfg->auth.enabled && cfg->auth.ntokens == 0) {
		*key = "auth.tokens";
		errbuf_set(why, wlen, "auth.enabled is true but no token is set");
		return -1;
	}
	if (cfg->auth.header_name[0] == '\0') {
		*key = "auth.header_name";
		errbuf_set(why, wlen, "empty");
		return -1;
	}
	if ((cfg->tls.cert[0] == '\0') != (cfg->tls.key[0] == '\0')) {
		*key = cfg->tls.cert[0] ? "tls.key" : "tls.cert";
		errbuf_set(why, wlen, "tls.cert and tls.key go together");
		return -1;
	}
	if (cfg->group[0] != '\0' &&
	    (cfg->user[0] == '\0' || strcmp(cfg->user, "root") == 0)) {
		*key = "group";
		errbuf_set(why, wlen, "group needs user");
		return -1;
	}
	if (cfg->ct_logs_url[0] == '\0') {
		*key = "ct_logs_url";
		errbuf_set(why, wlen, "empty");
		return -1;
	}
	if (strcmp(cfg->ct_log.redirects, "same-origin") != 0 &&
	    strcmp(cfg->ct_log.redirects, "https") != 0 &&
	    strcmp(cfg->ct_log.redirects, "none") != 0) {
		*key = "ct_log.redirects";
		errbuf_set(why, wlen, "must be same-origin, https or none");
		return -1;
	}
	for (const char *c = cfg->ct_log.contact; *c != '\0'; c++) {
		if (*c < 0x20 || *c > 0x7e) {
			*key = "ct_log.contact";
			errbuf_set(why, wlen, "printable ASCII only (it goes into the "
			    "User-Agent header)");
			return -1;
		}
	}
	if (cfg->buffer_bytes / 4 < 65536) {
		*key = "buffer_bytes";
		errbuf_set(why, wlen, "too small: a record may take a quarter of it");
		return -1;
	}
	return 0;
}

int
config_validate(const struct config *cfg, char *err, size_t errlen)
{
	const char *key = "";
	char why[256];

	if (validate(cfg, &key, why, sizeof(why)) < 0) {
		errbuf_set(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	int lines[CONFIG_NKEYS_MAX];
	const char *key = "";
	char why[256];
	const struct ckey *k;

	config_base_dir_capture();
	config_defaults(cfg);
	memset(lines, 0, sizeof(lines));
	if (path != NULL && *path != '\0') {
		char why2[256];

		if (config_set_path(cfg->path, sizeof(cfg->path), path, why2,
		    sizeof(why2)) < 0) {
			errbuf_set(err, errlen, "%s: %s", path, why2);
			return -1;
		}
		if (config_read_file(cfg, path, lines, err, errlen) < 0)
			return -1;
	}
	if (config_apply_env(cfg, err, errlen) < 0)
		return -1;
	if (validate(cfg, &key, why, sizeof(why)) < 0) {
		k = config_key_find(key);
		if (k != NULL && lines[k - config_keys] > 0)
			errbuf_set(err, errlen, "%s:%d: %s: %s", path,
			    lines[k - config_keys], key, why);
		else if (path != NULL && *path != '\0')
			errbuf_set(err, errlen, "%s: %s: %s", path, key, why);
		else
			errbuf_set(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

int
config_workers(const struct config *cfg)
{
	cpu_set_t set;
	long n;

	if (cfg->workers > 0)
		return cfg->workers;
	/* The cores this process may run on (taskset, cpusets), else all. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > SHM_MAX_WORKERS)
		n = SHM_MAX_WORKERS;
	return (int)n;
}

static int
key_equal(const struct config *a, const struct config *b, const struct ckey *k)
{
	switch (k->type) {
	case KT_STR:
	case KT_PATH:
	case KT_LEVEL:
	case KT_LOGTARGET:
		return strncmp(config_cfield(a, k), config_cfield(b, k), k->size) == 0;
	case KT_STRLIST:
	case KT_LOGLIST:
		if (*(const int *)((const char *)a + k->cnt_off) !=
		    *(const int *)((const char *)b + k->cnt_off))
			return 0;
		return memcmp(config_cfield(a, k), config_cfield(b, k), k->size) == 0;
	default:
		return memcmp(config_cfield(a, k), config_cfield(b, k), k->size) == 0;
	}
}

int
config_keep_static(struct config *next, const struct config *cur, char *keys_out,
    size_t outlen)
{
	int n = 0;
	size_t used = 0;

	if (keys_out && outlen)
		keys_out[0] = '\0';
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct ckey *k = &config_keys[i];

		if (k->reload || key_equal(next, cur, k))
			continue;
		memcpy((char *)next + k->off, config_cfield(cur, k), k->size);
		if (k->cnt_off)
			memcpy((char *)next + k->cnt_off,
			    (const char *)cur + k->cnt_off, sizeof(int));
		if (keys_out && used < outlen) {
			int w = snprintf(keys_out + used, outlen - used, "%s%s",
			    n ? ", " : "", k->key);
			if (w > 0)
				used += (size_t)w;
		}
		n++;
	}
	return n;
}
