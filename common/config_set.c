/*
 * Setting one key from text: the YAML walker, the environment and the
 * defaults all go through config_key_set, so a key behaves the same
 * wherever it is set. Parsers of booleans, integers and sizes; relative
 * paths made absolute. Nothing here logs: errors go to a buffer.
 */
#include "common/config_priv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"

/* Relative paths are taken against the directory the daemon started in,
 * captured once: a child re-reading the file after -d's chdir("/") or a
 * SIGHUP gets the same paths the master got. */
static char base_dir[PATH_MAX];

void
config_base_dir_capture(void)
{
	if (base_dir[0] == '\0' && getcwd(base_dir, sizeof(base_dir)) == NULL)
		base_dir[0] = '\0';
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int
parse_ll(const char *v, long long *out)
{
	char *end;

	errno = 0;
	if (*v == '\0' || isspace((unsigned char)*v))
		return -1;
	*out = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* "256MiB", "1G", "65536": sizes for byte and count keys. */
static int
parse_u64(const char *v, uint64_t *out)
{
	static const struct { const char *sfx; uint64_t mul; } units[] = {
		{ "", 1 }, { "k", 1000 }, { "kb", 1000 }, { "ki", 1024 },
		{ "kib", 1024 }, { "m", 1000000 }, { "mb", 1000000 },
		{ "mi", 1048576 }, { "mib", 1048576 }, { "g", 1000000000 },
		{ "gb", 1000000000 }, { "gi", 1073741824 }, { "gib", 1073741824 },
	};
	unsigned long long n;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*v))
		return -1;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].sfx) == 0) {
			if (n > UINT64_MAX / units[i].mul)
				return -1;
			*out = (uint64_t)n * units[i].mul;
			return 0;
		}
	}
	return -1;
}

int
config_set_string(char *dst, size_t size, const char *v, char *why, size_t wlen)
{
	size_t n = strlen(v);

	if (n >= size) {
		errbuf_set(why, wlen, "too long (%zu bytes, at most %zu)", n, size - 1);
		return -1;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

int
config_set_path(char *dst, size_t size, const char *v, char *why, size_t wlen)
{
	char buf[PATH_MAX + CONFIG_STR];

	if (*v == '\0' || *v == '/' || base_dir[0] == '\0')
		return config_set_string(dst, size, v, why, wlen);
	snprintf(buf, sizeof(buf), "%s/%s",
	    strcmp(base_dir, "/") == 0 ? "" : base_dir, v);
	return config_set_string(dst, size, buf, why, wlen);
}

static int
check_bounds(const struct ckey *k, double x, char *why, size_t wlen)
{
	if (x < k->min || x > k->max) {
		errbuf_set(why, wlen, "out of range [%.15g, %.15g]", k->min,
		    k->max);
		return -1;
	}
	return 0;
}

/* An int key from text: `what` names the form expected, for the error. */
static int
set_int(const struct ckey *k, int *f, const char *v, const char *what,
    char *why, size_t wlen)
{
	long long ll;

	if (parse_ll(v, &ll) < 0) {
		errbuf_set(why, wlen, "not %s: \"%s\"", what, v);
		return -1;
	}
	if (check_bounds(k, (double)ll, why, wlen) < 0)
		return -1;
	*f = (int)ll;
	return 0;
}

int
config_strlist_add(struct config *cfg, const struct ckey *k, const char *v,
    size_t len, char *why, size_t wlen)
{
	int *n = config_list_count(cfg, k);
	char *slot;

	trim(&v, &len);
	if (len == 0)
		return 0;
	if ((size_t)*n >= k->nmax) {
		errbuf_set(why, wlen, "too many entries (at most %zu)", k->nmax);
		return -1;
	}
	if (len >= k->elem) {
		errbuf_set(why, wlen, "entry too long (%zu bytes, at most %zu)", len,
		    k->elem - 1);
		return -1;
	}
	slot = (char *)config_field(cfg, k) + (size_t)*n * k->elem;
	memcpy(slot, v, len);
	slot[len] = '\0';
	(*n)++;
	return 0;
}

struct config_log *
config_loglist_add(struct config *cfg, const struct ckey *k, char *why,
    size_t wlen)
{
	int *n = config_list_count(cfg, k);
	struct config_log *l;

	if ((size_t)*n >= k->nmax) {
		errbuf_set(why, wlen, "too many logs (at most %zu)", k->nmax);
		return NULL;
	}
	l = (struct config_log *)config_field(cfg, k) + *n;
	memset(l, 0, sizeof(*l));
	(*n)++;
	return l;
}

void
config_list_clear(struct config *cfg, const struct ckey *k)
{
	*config_list_count(cfg, k) = 0;
	memset(config_field(cfg, k), 0, k->size);
}

/*
 * Set key k from the text v (a YAML scalar, an environment value or the
 * default). Lists take comma-separated items; a log list from text is a
 * list of URLs, each its own name.
 */
int
config_key_set(struct config *cfg, const struct ckey *k, const char *v,
    char *why, size_t wlen)
{
	void *f = config_field(cfg, k);
	uint64_t u;
	double d;
	char *end;
	int b;

	switch (k->type) {
	case KT_STR:
		return config_set_string(f, k->size, v, why, wlen);
	case KT_PATH:
		return config_set_path(f, k->size, v, why, wlen);
	case KT_INT:
		return set_int(k, f, v, "an integer", why, wlen);
	case KT_U64:
		if (parse_u64(v, &u) < 0) {
			errbuf_set(why, wlen, "not a size: \"%s\"", v);
			return -1;
		}
		if (check_bounds(k, (double)u, why, wlen) < 0)
			return -1;
		*(uint64_t *)f = u;
		return 0;
	case KT_BOOL:
		if (parse_bool(v, &b) < 0) {
			errbuf_set(why, wlen, "not a boolean (true/false): \"%s\"", v);
			return -1;
		}
		*(int *)f = b;
		return 0;
	case KT_DOUBLE:
		errno = 0;
		d = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno != 0 || !isfinite(d)) {
			errbuf_set(why, wlen, "not a number: \"%s\"", v);
			return -1;
		}
		if (check_bounds(k, d, why, wlen) < 0)
			return -1;
		*(double *)f = d;
		return 0;
	case KT_LEVEL: {
		enum log_level lvl;
		static const char *const names[] = { "debug", "info", "warn",
			"error" };

		if (log_level_parse(v, &lvl) < 0) {
			errbuf_set(why, wlen,
			    "not a log level (debug, info, warn, error): \"%s\"", v);
			return -1;
		}
		return config_set_string(f, k->size, names[lvl], why, wlen);
	}
	case KT_SOURCE:
		if (strcasecmp(v, "ct") == 0)
			*(enum config_source *)f = SOURCE_CT;
		else if (strcasecmp(v, "replay") == 0)
			*(enum config_source *)f = SOURCE_REPLAY;
		else if (strcasecmp(v, "nats") == 0)
			*(enum config_source *)f = SOURCE_NATS;
		else {
			errbuf_set(why, wlen, "not a source (ct, replay, nats): \"%s\"",
			    v);
			return -1;
		}
		return 0;
	case KT_WORKERS:
		if (strcasecmp(v, "auto") == 0) {
			*(int *)f = 0;
			return 0;
		}
		return set_int(k, f, v, "a number or \"auto\"", why, wlen);
	case KT_LOGTARGET:
		if (*v == '\0') {
			errbuf_set(why, wlen, "empty (stderr, syslog or a file path)");
			return -1;
		}
		if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0)
			return config_set_string(f, k->size, v, why, wlen);
		return config_set_path(f, k->size, v, why, wlen);
	case KT_STRLIST:
		config_list_clear(cfg, k);
		for (const char *p = v; *p;) {
			const char *c = strchr(p, ',');
			size_t n = c ? (size_t)(c - p) : strlen(p);

			if (config_strlist_add(cfg, k, p, n, why, wlen) < 0)
				return -1;
			p += n + (c ? 1 : 0);
		}
		return 0;
	case KT_LOGLIST:
		config_list_clear(cfg, k);
		for (const char *p = v; *p;) {
			const char *c = strchr(p, ',');
			size_t n = c ? (size_t)(c - p) : strlen(p);
			const char *s = p;
			struct config_log *l;

			p += n + (c ? 1 : 0);
			trim(&s, &n);
			if (n == 0)
				continue;
			if ((l = config_loglist_add(cfg, k, why, wlen)) == NULL)
				return -1;
			if (n >= sizeof(l->url) || n >= sizeof(l->name)) {
				errbuf_set(why, wlen, "URL too long");
				return -1;
			}
			memcpy(l->url, s, n);
			memcpy(l->name, s, n);
		}
		return 0;
	}
	errbuf_set(why, wlen, "unhandled type");
	return -1;
}

void
config_defaults(struct config *cfg)
{
	char why[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < config_nkeys; i++) {
		/* Defaults are constants of this file: they cannot fail. */
		config_key_set(cfg, &config_keys[i], config_keys[i].def, why, sizeof(why));
	}
}
