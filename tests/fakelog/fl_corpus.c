#include "tests/fakelog/fl_corpus.h"

#include <dirent.h>
#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rfc_files[] = {
	"icarus_get-entries_120000000_DERIVED.json",
	"ctgo_get-entries_precert_x509.json",
	"ctgo_scanner_get-entries_4.json",
	"scrapectlog_get-entries_precert_x509_DERIVED.json",
};
static const char *const issuer_files[] = {
	"le-stg-root-x1.pem", "le-stg-r10.pem", "le-stg-r11.pem",
	"le-stg-e5-cross.pem", "le-stg-e6-cross.pem",
};
#define NTILES 4

/* Left out: its leaf TBS and extra_data precertificate come from two
 * different certificates (serial numbers differ), which a CT monitor such
 * as certspotter rightly reports as a malformed entry. */
static int
skipped(const char *path, size_t i)
{
	return strstr(path, "scrapectlog_get-entries_precert_x509") && i == 0;
}

static int
push(struct fl_entry **v, size_t *n, const struct fl_entry *e)
{
	void *np = realloc(*v, (*n + 1) * sizeof(**v));

	if (np == NULL)
		return -1;
	*v = np;
	(*v)[(*n)++] = *e;
	return 0;
}

static int
load_rfc(struct fl_corpus *c, const char *path, char *err, size_t errlen)
{
	json_object *root = json_object_from_file(path), *ents;
	int rc = -1;

	if (root == NULL || !json_object_object_get_ex(root, "entries", &ents) ||
	    !json_object_is_type(ents, json_type_array)) {
		snprintf(err, errlen, "%s: not a get-entries body", path);
		goto done;
	}
	for (size_t i = 0; i < json_object_array_length(ents); i++) {
		json_object *o = json_object_array_get_idx(ents, i), *li, *ed;
		struct fl_buf lb = { 0 }, eb = { 0 };
		struct fl_entry e;
		char perr[128];
		int bad;

		if (skipped(path, i))
			continue;
		if (!json_object_object_get_ex(o, "leaf_input", &li) ||
		    !json_object_object_get_ex(o, "extra_data", &ed)) {
			snprintf(err, errlen, "%s: entry %zu incomplete", path, i);
			goto done;
		}
		bad = fl_buf_unb64(json_object_get_string(li), &lb) < 0 ||
		    fl_buf_unb64(json_object_get_string(ed), &eb) < 0 ||
		    fl_entry_parse_rfc(lb.p, lb.len, eb.p, eb.len, &c->pool, &e,
			perr, sizeof(perr)) < 0;
		fl_buf_free(&lb);
		fl_buf_free(&eb);
		if (bad) {
			snprintf(err, errlen, "%s: entry %zu does not parse", path, i);
			goto done;
		}
		if (push(&c->rfc, &c->nrfc, &e) < 0) {
			fl_entry_free(&e);
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	rc = 0;
done:
	json_object_put(root);
	return rc;
}

static int
load_issuer(struct fl_corpus *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *x = NULL;
	unsigned char *der = NULL;
	int n, rc = -1;

	if (f == NULL || (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL ||
	    (n = i2d_X509(x, &der)) <= 0 ||
	    fl_pool_add(&c->pool, der, (size_t)n) < 0) {
		snprintf(err, errlen, "%s: cannot load certificate", path);
		goto done;
	}
	rc = 0;
done:
	OPENSSL_free(der);
	X509_free(x);
	if (f)
		fclose(f);
	return rc;
}

static int
load_tile(struct fl_corpus *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct fl_buf b = { 0 };
	char chunk[65536], perr[128];
	size_t n;
	struct fl_rd r;
	int rc = -1;

	if (f == NULL) {
		snprintf(err, errlen, "open %s failed", path);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fl_buf_put(&b, chunk, n);
	fclose(f);
	if (b.err) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	r = (struct fl_rd){ b.p, b.len, 0, 0 };
	while (r.off < r.len) {
		struct fl_entry e;

		if (fl_entry_parse_tile(&r, &c->pool, &e, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "%s: %s", path, perr);
			goto done;
		}
		if (push(&c->tiled, &c->ntiled, &e) < 0) {
			fl_entry_free(&e);
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	rc = 0;
done:
	fl_buf_free(&b);
	return rc;
}

static int
pem_only(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".pem") == 0;
}

/* Each certificate becomes an x509_entry with an empty chain. */
static int
load_lint(struct fl_corpus *c, const char *datadir, char *err, size_t errlen)
{
	struct dirent **names = NULL;
	char dir[1024], path[1300];
	int n, rc = -1;

	snprintf(dir, sizeof(dir), "%s/certs", datadir);
	if ((n = scandir(dir, &names, pem_only, alphasort)) < 0) {
		snprintf(err, errlen, "scandir %s failed", dir);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		FILE *f;
		X509 *x = NULL;
		unsigned char *der = NULL;
		int len;
		struct fl_entry e;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		memset(&e, 0, sizeof(e));
		if ((f = fopen(path, "r")) != NULL) {
			x = PEM_read_X509(f, NULL, NULL, NULL);
			fclose(f);
		}
		if (x == NULL || (len = i2d_X509(x, &der)) <= 0 ||
		    (e.cert = malloc((size_t)len)) == NULL) {
			X509_free(x);
			OPENSSL_free(der);
			snprintf(err, errlen, "%s: cannot load certificate", path);
			goto done;
		}
		memcpy(e.cert, der, (size_t)len);
		e.cert_len = (size_t)len;
		e.type = FL_X509_ENTRY;
		e.ts = 1767225600000ull + (uint64_t)i;  /* 2026-01-01 */
		X509_free(x);
		OPENSSL_free(der);
		if (push(&c->lint, &c->nlint, &e) < 0) {
			fl_entry_free(&e);
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	rc = 0;
done:
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
fl_corpus_load(struct fl_corpus *c, const char *datadir, int with_lint,
    char *err, size_t errlen)
{
	char path[1024];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(rfc_files) / sizeof(rfc_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/rfc6962/%s", datadir, rfc_files[i]);
		if (load_rfc(c, path, err, errlen) < 0)
			goto fail;
	}
	for (size_t i = 0; i < sizeof(issuer_files) / sizeof(issuer_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/issuers/%s", datadir,
		    issuer_files[i]);
		if (load_issuer(c, path, err, errlen) < 0)
			goto fail;
	}
	for (int i = 0; i < NTILES; i++) {
		snprintf(path, sizeof(path), "%s/navigli/%03d", datadir, i);
		if (load_tile(c, path, err, errlen) < 0)
			goto fail;
	}
	if (with_lint && load_lint(c, datadir, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	fl_corpus_free(c);
	return -1;
}

void
fl_corpus_free(struct fl_corpus *c)
{
	for (size_t i = 0; i < c->nrfc; i++)
		fl_entry_free(&c->rfc[i]);
	for (size_t i = 0; i < c->ntiled; i++)
		fl_entry_free(&c->tiled[i]);
	for (size_t i = 0; i < c->nlint; i++)
		fl_entry_free(&c->lint[i]);
	free(c->rfc);
	free(c->tiled);
	free(c->lint);
	fl_pool_free(&c->pool);
	memset(c, 0, sizeof(*c));
}
