/*
 * Google CT log list v3 parsing and the config's extra logs.
 */
#include "ingest/loglist.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

void
loglist_init(struct loglist *ll)
{
	memset(ll, 0, sizeof(*ll));
}

void
loglist_free(struct loglist *ll)
{
	free(ll->logs);
	memset(ll, 0, sizeof(*ll));
}

int
loglist_is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0;
}

/* host[:port] up to the first '/' (or the end): a DNS name or IPv4
 * address, or a bracketed IPv6 one; the port, if any, 1 to 5 digits. */
static int
authority_ok(const char *a)
{
	const char *p = a;
	size_t digits = 0;

	if (*p == '[') {
		for (p++; *p != ']'; p++)
			if (!(isxdigit((unsigned char)*p) || *p == ':' || *p == '.'))
				return 0;
		p++;
	} else {
		for (; isalnum((unsigned char)*p) || *p == '-' || *p == '.'; p++)
			;
	}
	if (p == a)
		return 0;
	if (*p == ':')
		for (p++; isdigit((unsigned char)*p); p++)
			digits++;
	if (p[-1] == ':' || digits > 5)
		return 0;
	return *p == '/' || *p == '\0';
}

/* Copy url into out with exactly one trailing '/'. */
static int
norm_url(char *out, size_t outlen, const char *url)
{
	size_t n = strlen(url), host;

	if (!loglist_is_url(url))
		return -1;
	host = strstr(url, "://") - url + 3;
	while (n > host && url[n - 1] == '/')
		n--;
	/* "http:///" has no host: refused, not turned into "http:/". */
	if (n == host || url[host] == '/' || n + 2 > outlen ||
	    !authority_ok(url + host))
		return -1;
	memcpy(out, url, n);
	out[n] = '/';
	out[n + 1] = '\0';
	return 0;
}

/* Submission URL without scheme and trailing '/'. */
static void
make_origin(char *out, size_t outlen, const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	p = p != NULL ? p + 3 : url;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	snprintf(out, outlen, "%.*s", (int)n, p);
}

const struct loglist_log *
loglist_find(const struct loglist *ll, const char *url)
{
	size_t i;

	for (i = 0; i < ll->n; i++)
		if (strcmp(ll->logs[i].url, url) == 0)
			return &ll->logs[i];
	return NULL;
}

/* A new slot, or the existing one for the same URL (replace = 1). */
static struct loglist_log *
add_log(struct loglist *ll, const char *url, int replace, int *dup)
{
	size_t i;

	*dup = 0;
	for (i = 0; i < ll->n; i++) {
		if (strcmp(ll->logs[i].url, url) == 0) {
			*dup = 1;
			return replace ? &ll->logs[i] : NULL;
		}
	}
	if (ll->n == ll->cap) {
		size_t ncap = ll->cap ? ll->cap * 2 : 64;
		struct loglist_log *nl = realloc(ll->logs, ncap * sizeof(*nl));

		if (nl == NULL)
			return NULL;
		ll->logs = nl;
		ll->cap = ncap;
	}
	memset(&ll->logs[ll->n], 0, sizeof(ll->logs[0]));
	return &ll->logs[ll->n++];
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The log's state name: the single key of its "state" object. */
static const char *
log_state(json_object *log)
{
	json_object *st;
	struct json_object_iterator it, end;

	if (!json_object_object_get_ex(log, "state", &st) ||
	    !json_object_is_type(st, json_type_object))
		return NULL;
	it = json_object_iter_begin(st);
	end = json_object_iter_end(st);
	if (json_object_iter_equal(&it, &end))
		return NULL;
	return json_object_iter_peek_name(&it);
}

static int
state_watched(const struct config *cfg, const char *state)
{
	int i;

	for (i = 0; i < cfg->ct_log.nstates; i++)
		if (strcasecmp(cfg->ct_log.states[i], state) == 0)
			return 1;
	return 0;
}

/* base64 SHA-256 of the DER key: the log id of a list that omits it.
 * "" when the key is not base64 (its poller then fails on the key). */
static void
key_log_id(char *out, size_t outlen, const char *key)
{
	unsigned char der[CONFIG_STR];
	uint8_t h[SHA256_DIGEST_LENGTH];
	size_t klen = strlen(key), pad = 0;
	int n;

	out[0] = '\0';
	if (klen == 0 || klen % 4 != 0 || klen / 4 * 3 > sizeof(der) ||
	    outlen < 4 * ((sizeof(h) + 2) / 3) + 1)
		return;
	n = EVP_DecodeBlock(der, (const unsigned char *)key, (int)klen);
	if (n < 0)
		return;
	while (pad < 2 && key[klen - 1 - pad] == '=')
		pad++;
	SHA256(der, (size_t)n - pad, h);
	EVP_EncodeBlock((unsigned char *)out, h, (int)sizeof(h));
}

static int
name_in(const char *name, const char (*list)[128], int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcasecmp(list[i], name) == 0)
			return 1;
	return 0;
}

int
loglist_excluded(const struct config *cfg, const struct loglist_log *l)
{
	char nurl[CONFIG_STR], origin[CONFIG_STR];
	const char *e;
	int i;

	if (name_in(l->operator_name, cfg->excluded_operators,
	    cfg->nexcluded_operators))
		return 1;
	for (i = 0; i < cfg->nexcluded_logs; i++) {
		e = cfg->excluded_logs[i];
		if (loglist_is_url(e)) {
			if (norm_url(nurl, sizeof(nurl), e) == 0 &&
			    strcmp(nurl, l->url) == 0)
				return 1;
			make_origin(origin, sizeof(origin), e);
			if (l->type == LOGLIST_STATIC && l->origin[0] != '\0' &&
			    strcmp(origin, l->origin) == 0)
				return 1;
			continue;
		}
		if ((l->log_id[0] != '\0' && strcmp(e, l->log_id) == 0) ||
		    strcasestr(l->name, e) != NULL)
			return 1;
	}
	return 0;
}

static int
id_listed(const struct loglist *ll, const char *log_id)
{
	size_t i;

	for (i = 0; i < ll->n; i++)
		if (strcmp(ll->logs[i].log_id, log_id) == 0)
			return 1;
	return 0;
}

static int
add_listed(struct loglist *ll, json_object *log, enum loglist_type type,
    const char *opname, const struct config *cfg, char *err, size_t errlen)
{
	const char *desc = jstr(log, "description"), *key = jstr(log, "key");
	const char *state = log_state(log), *url, *sub = NULL;
	const char *lid = jstr(log, "log_id");
	char nurl[CONFIG_STR], subu[CONFIG_STR];
	struct loglist_log c, *l;
	int dup;

	if (state == NULL || !state_watched(cfg, state))
		return 0;
	if (type == LOGLIST_RFC6962) {
		url = jstr(log, "url");
	} else {
		url = jstr(log, "monitoring_url");
		sub = jstr(log, "submission_url");
	}
	if (url == NULL || key == NULL || desc == NULL) {
		snprintf(err, errlen, "log list: a %s log lacks url, key or "
		    "description", state);
		return -1;
	}
	/* The submission URL only names the origin, but a bad one is as
	 * wrong as a bad monitoring URL. */
	if (norm_url(nurl, sizeof(nurl), url) < 0 || strlen(key) >=
	    sizeof(c.key) ||
	    (sub != NULL && norm_url(subu, sizeof(subu), sub) < 0) ||
	    (lid != NULL && (lid[0] == '\0' || strlen(lid) >= sizeof(c.log_id)))) {
		snprintf(err, errlen, "log list: bad url, key or log_id for "
		    "\"%.80s\"", desc);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.type = type;
	snprintf(c.name, sizeof(c.name), "%s", desc);
	memcpy(c.url, nurl, sizeof(nurl));
	snprintf(c.operator_name, sizeof(c.operator_name), "%s", opname);
	snprintf(c.key, sizeof(c.key), "%s", key);
	if (lid != NULL)
		snprintf(c.log_id, sizeof(c.log_id), "%s", lid);
	else
		key_log_id(c.log_id, sizeof(c.log_id), key);
	snprintf(c.state, sizeof(c.state), "%s", state);
	if (type == LOGLIST_STATIC)
		make_origin(c.origin, sizeof(c.origin), sub != NULL ? sub : url);
	if (loglist_excluded(cfg, &c) ||
	    (c.log_id[0] != '\0' && id_listed(ll, c.log_id)))
		return 0;
	l = add_log(ll, nurl, 0, &dup);
	if (l == NULL) {
		if (dup)
			return 0;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*l = c;
	return 0;
}

int
loglist_parse(struct loglist *ll, const char *json, size_t len,
    const struct config *cfg, char *err, size_t errlen)
{
	static const char *kinds[2] = { "logs", "tiled_logs" };
	struct json_tokener *tok = NULL;
	json_object *root = NULL, *ops, *op, *arr;
	size_t i, j;
	int k, rc = -1;

	tok = json_tokener_new_ex(64);
	if (tok == NULL || len > INT32_MAX) {
		snprintf(err, errlen, "log list: out of memory");
		goto done;
	}
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (root == NULL || json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "log list: not JSON (%s)",
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		goto done;
	}
	if (!json_object_object_get_ex(root, "operators", &ops) ||
	    !json_object_is_type(ops, json_type_array)) {
		snprintf(err, errlen, "log list: no operators array");
		goto done;
	}
	for (i = 0; i < json_object_array_length(ops); i++) {
		const char *opname;

		op = json_object_array_get_idx(ops, i);
		if (!json_object_is_type(op, json_type_object)) {
			snprintf(err, errlen, "log list: operator %zu is not an "
			    "object", i);
			goto done;
		}
		opname = jstr(op, "name");
		for (k = 0; k < 2; k++) {
			if (!json_object_object_get_ex(op, kinds[k], &arr))
				continue;
			if (!json_object_is_type(arr, json_type_array)) {
				snprintf(err, errlen, "log list: %s of operator %zu "
				    "is not an array", kinds[k], i);
				goto done;
			}
			for (j = 0; j < json_object_array_length(arr); j++) {
				json_object *log = json_object_array_get_idx(arr, j);

				if (!json_object_is_type(log, json_type_object)) {
					snprintf(err, errlen, "log list: a log is not "
					    "an object");
					goto done;
				}
				if (add_listed(ll, log, (enum loglist_type)k,
				    opname != NULL ? opname : "", cfg, err,
				    errlen) < 0)
					goto done;
			}
		}
	}
	rc = 0;
done:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

int
loglist_load_file(struct loglist *ll, const char *path,
    const struct config *cfg, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, n;
	int rc = -1;

	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	buf = malloc(LOGLIST_MAX_BYTES);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	while ((n = fread(buf + len, 1, LOGLIST_MAX_BYTES - len, f)) > 0)
		len += n;
	if (ferror(f) || len == LOGLIST_MAX_BYTES) {
		snprintf(err, errlen, "%s: unreadable or over %d bytes", path,
		    LOGLIST_MAX_BYTES);
		goto done;
	}
	rc = loglist_parse(ll, buf, len, cfg, err, errlen);
done:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
add_config_logs(struct loglist *ll, const struct config_log *logs, int n,
    enum loglist_type type, char *err, size_t errlen)
{
	char nurl[CONFIG_STR];
	struct loglist_log *l;
	int i, dup;

	for (i = 0; i < n; i++) {
		if (norm_url(nurl, sizeof(nurl), logs[i].url) < 0) {
			snprintf(err, errlen, "%s: bad url \"%.100s\"",
			    type == LOGLIST_STATIC ? "static_logs" : "custom_logs",
			    logs[i].url);
			return -1;
		}
		l = add_log(ll, nurl, 1, &dup);
		if (l == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memset(l, 0, sizeof(*l));
		l->type = type;
		snprintf(l->name, sizeof(l->name), "%.*s", (int)sizeof(l->name) - 1,
		    logs[i].name[0] ? logs[i].name : nurl);
		memcpy(l->url, nurl, sizeof(nurl));
		snprintf(l->operator_name, sizeof(l->operator_name), "%s",
		    logs[i].operator_name);
		snprintf(l->key, sizeof(l->key), "%s", logs[i].key);
		snprintf(l->state, sizeof(l->state), "custom");
		if (type == LOGLIST_STATIC)
			make_origin(l->origin, sizeof(l->origin), nurl);
	}
	return 0;
}

int
loglist_add_config(struct loglist *ll, const struct config *cfg, char *err,
    size_t errlen)
{
	if (add_config_logs(ll, cfg->custom_logs, cfg->ncustom_logs,
	    LOGLIST_RFC6962, err, errlen) < 0)
		return -1;
	return add_config_logs(ll, cfg->static_logs, cfg->nstatic_logs,
	    LOGLIST_STATIC, err, errlen);
}
