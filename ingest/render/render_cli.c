/* certstreamd --render: files of CT entries to certstream messages. */
#include "ingest/render/render_cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/base64.h"
#include "common/log.h"
#include "ingest/leaf.h"
#include "ingest/render/render.h"

#define CLI_MAX_FILE (1u << 30)

struct cli {
	FILE *out;
	struct render_out ro;
	struct render_source src;
	double seen;
	uint64_t start;        /* index of the first entry without one */
	unsigned long ok, failed;
};

static uint8_t *
read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *buf = NULL, *nb;
	size_t cap = 0, n = 0, r;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 131072;
			if (cap > CLI_MAX_FILE || (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				buf = NULL;
				goto done;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, 65536, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		buf = NULL;
		goto done;
	}
	buf[n] = '\0';
	*len = n;
done:
	if (f != stdin)
		fclose(f);
	return buf;
}

static void
emit(struct cli *c, const struct leaf_entry *e)
{
	char err[256];

	if (render_entry(e, &c->src, c->seen, &c->ro, err, sizeof(err)) != 0) {
		log_warnx("render: entry %llu: %s", (unsigned long long)e->index, err);
		c->failed++;
		return;
	}
	fwrite(c->ro.json[RV_FULL], 1, c->ro.len[RV_FULL], c->out);
	fputc('\n', c->out);
	c->ok++;
}

/* One {leaf_input, extra_data[, index]} object. */
static void
json_entry(struct cli *c, json_object *o, uint64_t *next)
{
	json_object *li, *xd, *ix;
	uint8_t *leaf = NULL, *extra = NULL;
	size_t ll = 0, xl = 0;
	struct leaf_entry e;
	uint64_t index = *next;
	int rc;

	if (json_object_object_get_ex(o, "index", &ix))
		index = (uint64_t)json_object_get_int64(ix);
	*next = index + 1;
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "leaf_input", &li) ||
	    !json_object_object_get_ex(o, "extra_data", &xd) ||
	    !json_object_is_type(li, json_type_string) ||
	    !json_object_is_type(xd, json_type_string)) {
		log_warnx("render: entry %llu: no leaf_input/extra_data strings",
		    (unsigned long long)index);
		c->failed++;
		return;
	}
	if ((leaf = base64_decode_alloc(json_object_get_string(li), &ll)) == NULL ||
	    (extra = base64_decode_alloc(json_object_get_string(xd), &xl)) == NULL) {
		log_warnx("render: entry %llu: bad base64", (unsigned long long)index);
		c->failed++;
		goto done;
	}
	if ((rc = leaf_decode_rfc6962(leaf, ll, extra, xl, &e)) != 0) {
		log_warnx("render: entry %llu: %s", (unsigned long long)index,
		    leaf_strerror(rc));
		c->failed++;
		goto done;
	}
	e.index = index;
	emit(c, &e);
done:
	free(leaf);
	free(extra);
}

static int
do_json(struct cli *c, char *text, size_t len)
{
	json_object *root, *entries;
	uint64_t next = c->start;
	char *line, *save = NULL;
	size_t i;

	root = json_tokener_parse(text);
	if (root != NULL && json_object_object_get_ex(root, "entries", &entries) &&
	    json_object_is_type(entries, json_type_array)) {
		for (i = 0; i < json_object_array_length(entries); i++)
			json_entry(c, json_object_array_get_idx(entries, i), &next);
		json_object_put(root);
		return 0;
	}
	json_object_put(root);
	/* NDJSON */
	(void)len;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		json_object *o;

		if (strspn(line, " \t\r") == strlen(line))
			continue;
		if ((o = json_tokener_parse(line)) == NULL) {
			log_warnx("render: entry %llu: not JSON",
			    (unsigned long long)next);
			next++;
			c->failed++;
			continue;
		}
		json_entry(c, o, &next);
		json_object_put(o);
	}
	return 0;
}

static int
do_tile(struct cli *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		struct leaf_entry e;
		int rc = leaf_decode_tile(buf, len, &off, NULL, NULL, &e);

		if (rc != 0) {
			/* lengths are lost: nothing after this can be found */
			log_warnx("render: tile offset %zu: %s", off, leaf_strerror(rc));
			c->failed++;
			return 0;
		}
		emit(c, &e);
	}
	return 0;
}

static void
cert_entry(struct cli *c, const uint8_t *der, size_t len, uint64_t index)
{
	struct leaf_entry e;

	memset(&e, 0, sizeof(e));
	e.type = LEAF_X509;
	e.cert.p = der;
	e.cert.len = len;
	e.signed_entry = e.cert;
	e.index = index;
	emit(c, &e);
}

static int
do_pem(struct cli *c, const uint8_t *buf, size_t len)
{
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	char *name = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	long dlen;
	uint64_t index = c->start;

	if (b == NULL)
		return -1;
	while (PEM_read_bio(b, &name, &hdr, &data, &dlen) == 1) {
		if (strcmp(name, "CERTIFICATE") == 0)
			cert_entry(c, data, (size_t)dlen, index++);
		OPENSSL_free(name);
		OPENSSL_free(hdr);
		OPENSSL_free(data);
	}
	ERR_clear_error();
	BIO_free(b);
	return index > c->start ? 0 : -1;
}

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL ? v : dflt;
}

int
render_cli_main(const char *path, FILE *out)
{
	struct cli c;
	uint8_t *buf;
	size_t len = 0, i;
	const char *seen;
	int rc = 2;

	memset(&c, 0, sizeof(c));
	c.out = out;
	render_out_init(&c.ro);
	c.src.url = env_or("CERTSTREAM_RENDER_URL", "");
	c.src.name = env_or("CERTSTREAM_RENDER_NAME", "");
	c.src.operator_name = env_or("CERTSTREAM_RENDER_OPERATOR", "");
	c.src.type = "rfc6962";
	c.start = strtoull(env_or("CERTSTREAM_RENDER_START", "0"), NULL, 10);
	if ((seen = getenv("CERTSTREAM_RENDER_SEEN")) != NULL)
		c.seen = strtod(seen, NULL);
	else {
		struct timeval tv;

		gettimeofday(&tv, NULL);
		c.seen = (double)tv.tv_sec + tv.tv_usec / 1e6;
	}
	if ((buf = read_all(path, &len)) == NULL) {
		log_warnx("render: %s: %s", path, errno ? strerror(errno) : "cannot read");
		goto done;
	}
	for (i = 0; i < len && strchr(" \t\r\n", buf[i]) != NULL; i++)
		;
	if (len == 0) {
		log_warnx("render: %s: empty", path);
	} else if (memmem(buf, len, "-----BEGIN CERTIFICATE-----", 27) != NULL) {
		if (do_pem(&c, buf, len) != 0)
			log_warnx("render: %s: no certificate in PEM", path);
		else
			rc = 0;
	} else if (buf[i] == '{') {
		rc = do_json(&c, (char *)buf, len);
	} else if (buf[0] == 0x30 && len > 4 && (buf[1] == 0x82 || buf[1] == 0x83)) {
		cert_entry(&c, buf, len, c.start);
		rc = 0;
	} else {
		c.src.type = "static";
		rc = do_tile(&c, buf, len);
	}
	if (rc == 0 && c.failed > 0)
		rc = 1;
	if (rc == 0 && c.ok == 0) {
		log_warnx("render: %s: no entries", path);
		rc = 1;
	}
	fflush(out);
done:
	free(buf);
	render_out_fini(&c.ro);
	return rc;
}
