/*
 * The configuration file: a YAML document walked against the key table,
 * each scalar set through config_key_set. Errors name the file, the line
 * and the key ("FILE:LINE: key: reason"); two equal keys in one mapping
 * are an error.
 */
#include "common/config_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

struct yctx {
	yaml_document_t *doc;
	struct config *cfg;
	const char *file;
	int *lines;             /* per key: line it was set on (1-based), 0 */
	char *err;
	size_t errlen;
};

static int
yerr(struct yctx *y, const yaml_node_t *n, const char *key, const char *why)
{
	errbuf_set(y->err, y->errlen, "%s:%lu: %s: %s", y->file,
	    (unsigned long)n->start_mark.line + 1, key, why);
	return -1;
}

static const char *
yscalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain `key:` with nothing, or ~ / null. */
static int
yis_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE)
		return 0;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = yscalar(n);
	return *v == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

static int
ylog_entry(struct yctx *y, const struct ckey *k, const char *path,
    yaml_node_t *n)
{
	char why[256];
	struct config_log *l;
	yaml_node_pair_t *p;

	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, path, "each log must be a mapping (name, url)");
	if ((l = config_loglist_add(y->cfg, k, why, sizeof(why))) == NULL)
		return yerr(y, n, path, why);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		char sub[256];
		char *dst;
		size_t size;
		const char *name;

		if (kn == NULL || vn == NULL || kn->type != YAML_SCALAR_NODE)
			return yerr(y, n, path, "keys must be scalars");
		name = yscalar(kn);
		if ((size_t)snprintf(sub, sizeof(sub), "%s.%s", path, name) >=
		    sizeof(sub))
			return yerr(y, kn, path, "key too long");
		if (strcmp(name, "name") == 0) {
			dst = l->name;
			size = sizeof(l->name);
		} else if (strcmp(name, "url") == 0) {
			dst = l->url;
			size = sizeof(l->url);
		} else if (strcmp(name, "key") == 0) {
			dst = l->key;
			size = sizeof(l->key);
		} else if (strcmp(name, "operator") == 0) {
			dst = l->operator_name;
			size = sizeof(l->operator_name);
		} else {
			return yerr(y, kn, sub,
			    "unknown key (name, url, key, operator)");
		}
		if (vn->type != YAML_SCALAR_NODE)
			return yerr(y, vn, sub, "expected a string");
		if (config_set_string(dst, size, yscalar(vn), why, sizeof(why)) < 0)
			return yerr(y, vn, sub, why);
	}
	if (l->url[0] == '\0')
		return yerr(y, n, path, "a log needs a url");
	if (strncmp(l->url, "http://", 7) != 0 &&
	    strncmp(l->url, "https://", 8) != 0)
		return yerr(y, n, path, "url must be http:// or https://");
	if (l->name[0] == '\0')
		snprintf(l->name, sizeof(l->name), "%.*s", (int)sizeof(l->name) - 1,
		    l->url);
	return 0;
}

static int
yvalue(struct yctx *y, const struct ckey *k, const char *path, yaml_node_t *n)
{
	char why[256];
	yaml_node_item_t *it;

	y->lines[k - config_keys] = (int)n->start_mark.line + 1;
	if (k->type == KT_STRLIST || k->type == KT_LOGLIST) {
		if (yis_null(n)) {
			config_list_clear(y->cfg, k);
			return 0;
		}
		if (n->type == YAML_SCALAR_NODE) {
			if (k->type == KT_LOGLIST)
				return yerr(y, n, path,
				    "expected a list of logs (name, url)");
			if (config_key_set(y->cfg, k, yscalar(n), why, sizeof(why)) < 0)
				return yerr(y, n, path, why);
			return 0;
		}
		if (n->type != YAML_SEQUENCE_NODE)
			return yerr(y, n, path, "expected a list");
		config_list_clear(y->cfg, k);
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			yaml_node_t *e = yaml_document_get_node(y->doc, *it);

			if (e == NULL)
				return yerr(y, n, path, "bad list item");
			if (k->type == KT_LOGLIST) {
				if (ylog_entry(y, k, path, e) < 0)
					return -1;
				continue;
			}
			if (e->type != YAML_SCALAR_NODE)
				return yerr(y, e, path, "list items must be strings");
			if (config_strlist_add(y->cfg, k, yscalar(e), strlen(yscalar(e)),
			    why, sizeof(why)) < 0)
				return yerr(y, e, path, why);
		}
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE)
		return yerr(y, n, path, n->type == YAML_MAPPING_NODE ?
		    "expected a value, not a mapping" :
		    "expected a value, not a list");
	if (yis_null(n) && k->type != KT_STR && k->type != KT_PATH)
		return yerr(y, n, path, "missing value");
	if (config_key_set(y->cfg, k, yis_null(n) ? "" : yscalar(n), why,
	    sizeof(why)) < 0)
		return yerr(y, n, path, why);
	return 0;
}

static int
ymapping(struct yctx *y, const char *prefix, yaml_node_t *m)
{
	yaml_node_pair_t *p;

	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		const struct ckey *k;
		char path[256];

		if (kn == NULL || vn == NULL)
			return yerr(y, m, prefix[0] ? prefix : "(top)", "bad node");
		if (kn->type != YAML_SCALAR_NODE)
			return yerr(y, kn, prefix[0] ? prefix : "(top)",
			    "keys must be scalars");
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] ? "." : "", yscalar(kn)) >= sizeof(path))
			return yerr(y, kn, prefix, "key too long");
		/* YAML lets the last of two equal keys win silently: an
		 * operator editing one copy would see no effect. */
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *qn = yaml_document_get_node(y->doc, q->key);
			char why[64];

			if (qn && qn->type == YAML_SCALAR_NODE &&
			    strcmp(yscalar(qn), yscalar(kn)) == 0) {
				snprintf(why, sizeof(why),
				    "duplicate key (first on line %lu)",
				    (unsigned long)qn->start_mark.line + 1);
				return yerr(y, kn, path, why);
			}
		}
		if ((k = config_key_find(path)) != NULL) {
			if (yvalue(y, k, path, vn) < 0)
				return -1;
			continue;
		}
		if (!config_key_is_section(path))
			return yerr(y, kn, path, "unknown key");
		if (yis_null(vn))
			continue;
		if (vn->type != YAML_MAPPING_NODE)
			return yerr(y, vn, path, "expected a mapping");
		if (ymapping(y, path, vn) < 0)
			return -1;
	}
	return 0;
}

int
config_read_file(struct config *cfg, const char *file, int *lines, char *err,
    size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct yctx y = { &doc, cfg, file, lines, err, errlen };
	FILE *fp;
	int rc = -1, have_parser = 0, have_doc = 0;

	if ((fp = fopen(file, "r")) == NULL) {
		errbuf_set(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		errbuf_set(err, errlen, "%s: out of memory", file);
		goto out;
	}
	have_parser = 1;
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		errbuf_set(err, errlen, "%s:%lu: %s%s%s", file,
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "YAML error",
		    parser.context ? " " : "",
		    parser.context ? parser.context : "");
		goto out;
	}
	have_doc = 1;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || yis_null(root)) {
		rc = 0;         /* empty file: defaults */
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		yerr(&y, root, "(top)", "the file must be a mapping of keys");
		goto out;
	}
	rc = ymapping(&y, "", root);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	fclose(fp);
	return rc;
}
