/* One CT entry to the lite, full and domains messages (see render.h). */
#include "ingest/render.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ingest/facts_json.h"
#include "shm/facts.h"
#include "ingest/x509_json.h"

#define CACHE_SLOTS 64   /* direct-mapped by SHA-256: intermediates are few */

struct cache_ent {
	uint8_t key[32];
	char *text;         /* the chain member's whole JSON object */
	size_t len;
};

struct render_cache {
	struct cache_ent e[CACHE_SLOTS];
};

struct render_priv {
	struct x509j *x;
	EVP_MD *sha256;
	struct x509j_buf out[RV_COUNT];
	struct x509j_buf leaf;    /* leaf_cert object, still open */
	struct x509j_buf doms;    /* all_domains array */
	struct x509j_buf chain;   /* chain array */
	struct x509j_buf tail;    /* cert_index .. end */
	struct x509j_buf one;     /* one chain member */
	struct factsj_buf facts;
};

void
render_out_init(struct render_out *out)
{
	memset(out, 0, sizeof(*out));
}

void
render_out_fini(struct render_out *out)
{
	struct render_priv *p = out->priv;
	size_t i;
	int v;

	if (p != NULL) {
		x509j_free(p->x);
		EVP_MD_free(p->sha256);
		for (v = 0; v < RV_COUNT; v++)
			x509j_buf_fini(&p->out[v]);
		x509j_buf_fini(&p->leaf);
		x509j_buf_fini(&p->doms);
		x509j_buf_fini(&p->chain);
		x509j_buf_fini(&p->tail);
		x509j_buf_fini(&p->one);
		factsj_buf_fini(&p->facts);
		free(p);
	}
	if (out->cache != NULL) {
		for (i = 0; i < CACHE_SLOTS; i++)
			free(out->cache->e[i].text);
		free(out->cache);
	}
	memset(out, 0, sizeof(*out));
}

static struct render_priv *
priv_get(struct render_out *out)
{
	struct render_priv *p;

	if (out->priv != NULL)
		return out->priv;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((out->cache = calloc(1, sizeof(*out->cache))) == NULL ||
	    (p->x = x509j_new()) == NULL ||
	    (p->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		x509j_free(p->x);
		free(out->cache);
		out->cache = NULL;
		free(p);
		return NULL;
	}
	out->priv = p;
	return p;
}

/* tlog-tiles path of tile n: groups of three digits, all but the last
 * prefixed with 'x' (1234067 -> x001/x234/067). */
static void
put_tile_path(struct x509j_buf *b, uint64_t n)
{
	char groups[8][4];
	int k = 0, i;

	do {
		snprintf(groups[k++], sizeof(groups[0]), "%03u", (unsigned)(n % 1000));
		n /= 1000;
	} while (n > 0 && k < 8);
	for (i = k - 1; i >= 0; i--) {
		if (i > 0)
			x509j_putc(b, 'x');
		x509j_put(b, groups[i], 3);
		if (i > 0)
			x509j_putc(b, '/');
	}
}

/* The URL without its trailing slashes. */
static void
put_base(struct x509j_buf *b, const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	x509j_put(b, url, n);
}

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static void
put_source(struct x509j_buf *b, const struct render_source *src, int full)
{
	const char *url = or_empty(src->url), *name = or_empty(src->name);

	x509j_puts(b, "\"source\":{\"url\":");
	x509j_str(b, url, strlen(url));
	x509j_puts(b, ",\"name\":");
	x509j_str(b, name, strlen(name));
	if (full) {
		const char *op = or_empty(src->operator_name);
		const char *type = src->type != NULL ? src->type :
		    "rfc6962";

		x509j_puts(b, ",\"operator\":");
		x509j_str(b, op, strlen(op));
		x509j_puts(b, ",\"type\":");
		x509j_str(b, type, strlen(type));
	}
	x509j_putc(b, '}');
}

/* The chain array, each member rendered once and then served from the
 * cache by its SHA-256. */
static int
render_chain(struct render_priv *p, struct render_cache *cache,
    const struct leaf_entry *e, char *err, size_t errlen)
{
	size_t i;

	p->chain.len = 0;
	x509j_putc(&p->chain, '[');
	for (i = 0; i < e->nchain; i++) {
		uint8_t h[32];
		unsigned int hl;
		struct cache_ent *ce;
		char *t;

		if (i > 0)
			x509j_putc(&p->chain, ',');
		if (!EVP_Digest(e->chain[i].p, e->chain[i].len, h, &hl, p->sha256, NULL)) {
			snprintf(err, errlen, "chain[%zu]: digest failed", i);
			return -1;
		}
		ce = &cache->e[h[0] % CACHE_SLOTS];
		if (ce->text != NULL && memcmp(ce->key, h, 32) == 0) {
			x509j_put(&p->chain, ce->text, ce->len);
			continue;
		}
		p->one.len = 0;
		if (x509j_cert(p->x, e->chain[i].p, e->chain[i].len,
		    X509J_DER | X509J_CLOSE, &p->one, NULL, err, errlen) != 0) {
			size_t n = strlen(err);

			snprintf(err + n, errlen - n, " (chain[%zu])", i);
			return -1;
		}
		x509j_put(&p->chain, p->one.p, p->one.len);
		/* a failed cache fill only costs a re-render next time */
		if ((t = malloc(p->one.len)) != NULL) {
			free(ce->text);
			memcpy(t, p->one.p, p->one.len);
			memcpy(ce->key, h, 32);
			ce->text = t;
			ce->len = p->one.len;
		}
	}
	x509j_putc(&p->chain, ']');
	return 0;
}

int
render_entry(const struct leaf_entry *e, const struct render_source *src,
    double seen, struct render_out *out, char *err, size_t errlen)
{
	struct render_priv *p;
	struct x509j_buf *lite, *full, *dom;
	char num[64];
	int v, n;

	for (v = 0; v < RV_COUNT; v++)
		out->len[v] = 0;
	if ((p = priv_get(out)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	lite = &p->out[RV_LITE];
	full = &p->out[RV_FULL];
	dom = &p->out[RV_DOMAINS];
	p->leaf.len = 0;
	p->doms.len = 0;
	p->tail.len = 0;
	for (v = 0; v < RV_COUNT; v++)
		p->out[v].len = 0;
	if (x509j_cert(p->x, e->cert.p, e->cert.len, X509J_LEAF, &p->leaf,
	    &p->doms, err, errlen) != 0)
		goto fail;
	if (render_chain(p, out->cache, e, err, errlen) != 0)
		goto fail;

	/* cert_index to the end: the same in lite and full */
	x509j_puts(&p->tail, ",\"cert_index\":");
	x509j_u64(&p->tail, e->index);
	x509j_puts(&p->tail, ",\"cert_link\":\"");
	put_base(&p->tail, or_empty(src->url));
	if (e->is_static) {
		x509j_puts(&p->tail, "/tile/data/");
		put_tile_path(&p->tail, e->index / 256);
	} else {
		n = snprintf(num, sizeof(num), "/ct/v1/get-entries?start=%" PRIu64
		    "&end=%" PRIu64, e->index, e->index);
		x509j_put(&p->tail, num, (size_t)n);
	}
	n = snprintf(num, sizeof(num), "\",\"seen\":%.6f", seen);
	x509j_put(&p->tail, num, (size_t)n);
	n = snprintf(num, sizeof(num), ",\"submission_timestamp\":%" PRIu64 ".%03u,",
	    e->timestamp_ms / 1000, (unsigned)(e->timestamp_ms % 1000));
	x509j_put(&p->tail, num, (size_t)n);
	put_source(&p->tail, src, 1);
	x509j_puts(&p->tail, "}}");

	x509j_puts(lite, "{\"message_type\":\"certificate_update\",\"data\":"
	    "{\"update_type\":");
	x509j_puts(lite, e->type == LEAF_PRECERT ? "\"PrecertLogEntry\"" : "\"X509LogEntry\"");
	x509j_puts(lite, ",\"leaf_cert\":");
	x509j_put(lite, p->leaf.p, p->leaf.len);
	/* full: the same head, as_der and chain, the same tail */
	x509j_put(full, lite->p, lite->len);
	x509j_puts(full, ",\"as_der\":");
	x509j_b64(full, e->cert.p, e->cert.len);
	x509j_puts(full, "},\"chain\":");
	x509j_put(full, p->chain.p, p->chain.len);
	x509j_put(full, p->tail.p, p->tail.len);
	x509j_putc(lite, '}');
	x509j_put(lite, p->tail.p, p->tail.len);

	x509j_puts(dom, "{\"message_type\":\"dns_entries\",\"data\":");
	x509j_put(dom, p->doms.p, p->doms.len);
	x509j_puts(dom, ",\"cert_index\":");
	x509j_u64(dom, e->index);
	n = snprintf(num, sizeof(num), ",\"seen\":%.6f,", seen);
	x509j_put(dom, num, (size_t)n);
	put_source(dom, src, 0);
	x509j_putc(dom, '}');

	for (v = 0; v < RV_COUNT; v++) {
		if (p->out[v].oom) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (p->leaf.oom || p->doms.oom || p->chain.oom || p->tail.oom) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (v = 0; v < RV_COUNT; v++) {
		out->json[v] = p->out[v].p;
		out->len[v] = p->out[v].len;
		out->cap[v] = p->out[v].cap;
	}
	/* Facts from the pieces just built (the issuer object and the
	 * all_domains array), by the same code a replayed feed's messages go
	 * through, so both give the same facts. */
	{
		const char *log[3] = { src->url, src->name, src->operator_name };

		out->facts_len = factsj_from_parts(e->type == LEAF_PRECERT ?
		    FACTS_PRECERT : FACTS_CERT, p->leaf.p, p->leaf.len,
		    p->doms.p, p->doms.len, log, &p->facts) == 0 ?
		    p->facts.len : 0;
	}
	out->facts = p->facts.p;        /* after: the call may move it */
	return 0;
fail:
	/* oom is sticky per buffer: clear it so the next entry can try */
	p->leaf.oom = p->doms.oom = p->chain.oom = p->tail.oom = p->one.oom = 0;
	for (v = 0; v < RV_COUNT; v++) {
		p->out[v].oom = 0;
		p->out[v].len = 0;
		if (p->out[v].p != NULL)
			p->out[v].p[0] = '\0';
		out->len[v] = 0;
	}
	out->facts_len = 0;
	return -1;
}
