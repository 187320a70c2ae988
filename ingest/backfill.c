/*
 * certstreamd --backfill (backfill.h): the command's arguments, the log it
 * names, the output file (resumed after an interruption), the progress
 * line and the rendering of each entry as live ingest renders it.
 */
#include "ingest/backfill.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "ingest/ct.h"
#include "ingest/fetch.h"

#define PROGRESS_MS 500
/* The last line of a resumed file is read from at most this far back. */
#define TAIL_MAX (4u << 20)

static int
parse_index(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* URLs equal but for a trailing '/'. */
static int
same_url(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '/')
		la--;
	if (lb > 0 && b[lb - 1] == '/')
		lb--;
	return la == lb && strncmp(a, b, la) == 0;
}

/* The shipped copy of the log list, as the daemon falls back to it. */
static int
load_fallback(struct loglist *ll, const struct config *cfg, char *err,
    size_t errlen)
{
	static const char *const paths[] = {
		LOGLIST_FALLBACK,
		"/usr/local/share/certstream/log_list.json",
		"/usr/share/certstream/log_list.json",
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			return loglist_load_file(ll, paths[i], cfg, err, errlen);
	snprintf(err, errlen, "no shipped copy of the log list found");
	return -1;
}

/* The log list as the daemon reads it, but every state and no exclusion:
 * a range of a retired or excluded log can still be asked for. */
static int
load_list(struct backfill *b, struct loglist *ll, char *err, size_t errlen)
{
	static const char *const states[] = { "usable", "qualified",
	    "readonly", "retired", "rejected", "pending" };
	struct config *c;
	struct backfill_body body;
	char why[512];
	size_t i;
	int rc = -1;

	if ((c = malloc(sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*c = *b->cfg;
	c->nexcluded_logs = c->nexcluded_operators = 0;
	for (i = 0; i < sizeof(states) / sizeof(states[0]) &&
	    i < CONFIG_MAX_STATES; i++)
		snprintf(c->ct_log.states[i], sizeof(c->ct_log.states[i]), "%s",
		    states[i]);
	c->ct_log.nstates = (int)i;
	if (!loglist_is_url(c->ct_logs_url)) {
		if (loglist_load_file(ll, c->ct_logs_url, c, why, sizeof(why)) < 0)
			goto fallback;
	} else if (backfill_get(b, c->ct_logs_url, 0, &body, why,
	    sizeof(why)) < 0 || body.status != 200) {
		if (body.status != 0 && body.status != 200)
			snprintf(why, sizeof(why), "HTTP %ld", body.status);
		free(body.body);
		goto fallback;
	} else {
		int prc = loglist_parse(ll, body.body, body.len, c, why,
		    sizeof(why));

		free(body.body);
		if (prc < 0)
			goto fallback;
	}
	goto config;
fallback:
	fprintf(stderr, "certstreamd: log list %s: %s; using the shipped copy\n",
	    c->ct_logs_url, why);
	loglist_free(ll);
	loglist_init(ll);
	if (load_fallback(ll, c, err, errlen) < 0)
		goto done;
config:
	if (loglist_add_config(ll, c, err, errlen) < 0)
		goto done;
	rc = 0;
done:
	free(c);
	return rc;
}

/* The log named by its URL, its log id, its description (any case), or
 * else a piece of its description that only one log has. */
static int
find_log(const struct loglist *ll, const char *name, struct loglist_log *out,
    char *err, size_t errlen)
{
	const struct loglist_log *hit = NULL;
	size_t i, nsub = 0;

	for (i = 0; i < ll->n; i++) {
		const struct loglist_log *l = &ll->logs[i];

		if (same_url(l->url, name) || strcmp(l->log_id, name) == 0 ||
		    strcasecmp(l->name, name) == 0) {
			*out = *l;
			return 0;
		}
	}
	for (i = 0; i < ll->n; i++)
		if (strcasestr(ll->logs[i].name, name) != NULL) {
			hit = &ll->logs[i];
			nsub++;
		}
	if (nsub == 1) {
		*out = *hit;
		return 0;
	}
	if (nsub > 1)
		snprintf(err, errlen, "\"%s\" names %zu logs of the log list; give "
		    "a URL, a log id or a whole description", name, nsub);
	else
		snprintf(err, errlen, "no log of the log list is \"%s\" (a URL, "
		    "a log id or a description)", name);
	return -1;
}

/* cert_index and source.url of one line; -1 if it is not a message. */
static int
line_index(const char *s, size_t len, char *url, size_t urllen,
    uint64_t *index)
{
	json_object *o, *d, *src, *u, *ix;
	int rc = -1;

	if (len > INT32_MAX || (o = json_tokener_parse(s)) == NULL)
		return -1;
	if (json_object_object_get_ex(o, "data", &d) &&
	    json_object_object_get_ex(d, "cert_index", &ix) &&
	    json_object_is_type(ix, json_type_int) &&
	    json_object_object_get_ex(d, "source", &src) &&
	    json_object_object_get_ex(src, "url", &u) &&
	    json_object_is_type(u, json_type_string)) {
		*index = json_object_get_uint64(ix);
		snprintf(url, urllen, "%s", json_object_get_string(u));
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

/*
 * Open the output file to resume it: a torn last line (no newline: the
 * run before was killed while writing it) is cut off, and the run goes on
 * after the last complete line's cert_index, which must be of this log
 * and range. b->next is set.
 */
static int
open_out(struct backfill *b, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL, url[CONFIG_STR];
	off_t keep, from;
	ssize_t n;
	size_t len, i, ls;
	uint64_t idx;
	int fd, rc = -1;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
	    fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (sb.st_size > 0) {
		from = sb.st_size > (off_t)TAIL_MAX ? sb.st_size - TAIL_MAX : 0;
		len = (size_t)(sb.st_size - from);
		if ((buf = malloc(len + 1)) == NULL ||
		    (n = pread(fd, buf, len, from)) != (ssize_t)len) {
			snprintf(err, errlen, "%s: cannot read it back", path);
			goto done;
		}
		buf[len] = '\0';
		/* the end of the last complete line */
		for (i = len; i > 0 && buf[i - 1] != '\n'; i--)
			;
		keep = from + (off_t)i;
		if (keep < sb.st_size) {
			fprintf(stderr, "certstreamd: %s: cutting a torn last line "
			    "(%lld bytes)\n", path, (long long)(sb.st_size - keep));
			if (ftruncate(fd, keep) < 0) {
				snprintf(err, errlen, "%s: ftruncate: %s", path,
				    strerror(errno));
				goto done;
			}
		}
		if (i > 0) {
			buf[i - 1] = '\0';
			for (ls = i - 1; ls > 0 && buf[ls - 1] != '\n'; ls--)
				;
			if (line_index(buf + ls, i - 1 - ls, url, sizeof(url),
			    &idx) < 0 || !same_url(url, b->info.url) ||
			    idx < b->first || idx > b->end) {
				snprintf(err, errlen, "%s holds something other than "
				    "entries %" PRIu64 "-%" PRIu64 " of %s; give another "
				    "file", path, b->first, b->end, b->info.url);
				goto done;
			}
			b->next = idx + 1;
			fprintf(stderr, "certstreamd: %s: resuming after entry %"
			    PRIu64 "\n", path, idx);
		}
	}
	if (lseek(fd, 0, SEEK_END) < 0 || (b->out = fdopen(fd, "a")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	fd = -1;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static void
progress(struct backfill *b, int last)
{
	int64_t now = clock_mono_ms();
	double secs = (double)(now - b->began_ms) / 1000.0;
	uint64_t done = b->next - b->first, total = b->end + 1 - b->first;

	if (!b->tty || (!last && now - b->shown_ms < PROGRESS_MS))
		return;
	b->shown_ms = now;
	fprintf(stderr, "\r%s: %" PRIu64 " of %" PRIu64 " entries (next %" PRIu64
	    "), %.0f/s   %s", b->info.url, done, total, b->next,
	    secs > 0 ? (double)done / secs : 0.0, last ? "\n" : "");
	fflush(stderr);
}

int
backfill_emit(struct backfill *b, const struct leaf_entry *e, char *err,
    size_t errlen)
{
	struct render_source src;
	struct timespec ts;
	char why[256];

	clock_gettime(CLOCK_REALTIME, &ts);
	src.url = b->info.url;
	src.name = b->info.name;
	src.operator_name = b->info.operator_name;
	src.type = b->info.type == LOGLIST_STATIC ? "static" : "rfc6962";
	if (render_entry(e, &src, (double)ts.tv_sec + ts.tv_nsec / 1e9,
	    &b->rout, why, sizeof(why)) < 0) {
		if (b->tty)
			fputc('\n', stderr);
		fprintf(stderr, "certstreamd: %s: entry %" PRIu64 ": %s; passed\n",
		    b->info.url, e->index, why);
		b->skipped++;
	} else if (fwrite(b->rout.json[RV_FULL], 1, b->rout.len[RV_FULL],
	    b->out) != b->rout.len[RV_FULL] || fputc('\n', b->out) == EOF) {
		snprintf(err, errlen, "write: %s", strerror(errno));
		return -1;
	}
	b->next = e->index + 1;
	progress(b, 0);
	return 0;
}

int
backfill_main(const struct config *cfg, const struct backfill_opts *o)
{
	struct backfill *b;
	struct loglist ll;
	struct fetch_opts fo;
	char err[1024];
	int rc = 1;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		fprintf(stderr, "certstreamd: out of memory\n");
		return 1;
	}
	loglist_init(&ll);
	render_out_init(&b->rout);
	b->cfg = cfg;
	if (parse_index(o->start, &b->first) < 0 ||
	    parse_index(o->end, &b->end) < 0 || b->end < b->first) {
		fprintf(stderr, "certstreamd: --backfill needs --start N and --end "
		    "M, decimal, N <= M\n");
		rc = 2;
		goto done;
	}
	b->next = b->first;
	if ((b->base = event_base_new()) == NULL) {
		snprintf(err, sizeof(err), "event_base_new failed");
		goto fail;
	}
	ct_fetch_opts(cfg, &fo);
	fo.budget_bytes = 0;
	if ((b->fetch = fetch_new(b->base, &fo, err, sizeof(err))) == NULL)
		goto fail;
	if (load_list(b, &ll, err, sizeof(err)) < 0 ||
	    find_log(&ll, o->log, &b->info, err, sizeof(err)) < 0)
		goto fail;
	if (b->info.key[0] == '\0') {
		snprintf(err, sizeof(err), "%s: the log list gives no key: its "
		    "entries cannot be verified", b->info.url);
		goto fail;
	}
	if (sth_key_init(&b->key, b->info.key, err, sizeof(err)) < 0)
		goto fail;
	if (o->out == NULL)
		b->out = stdout;
	else if (open_out(b, o->out, err, sizeof(err)) < 0)
		goto fail;
	b->tty = isatty(STDERR_FILENO);
	b->began_ms = b->shown_ms = clock_mono_ms();
	if (b->next <= b->end &&
	    (b->info.type == LOGLIST_STATIC ? backfill_tiles(b, err,
	    sizeof(err)) : backfill_rfc6962(b, err, sizeof(err))) < 0)
		goto fail;
	if (fflush(b->out) == EOF || (o->out != NULL && fsync(fileno(b->out)) < 0)) {
		snprintf(err, sizeof(err), "write: %s", strerror(errno));
		goto fail;
	}
	progress(b, 1);
	fprintf(stderr, "certstreamd: %s: entries %" PRIu64 "-%" PRIu64 " done"
	    "%s", b->info.url, b->first, b->end, b->skipped ? "" : "\n");
	if (b->skipped)
		fprintf(stderr, " (%" PRIu64 " could not be rendered)\n",
		    b->skipped);
	rc = 0;
	goto done;
fail:
	if (b->out != NULL)
		fflush(b->out);
	if (b->tty && b->next > b->first)
		fputc('\n', stderr);
	fprintf(stderr, "certstreamd: backfill%s%s: %s\n",
	    b->info.url[0] ? " of " : "", b->info.url, err);
done:
	if (b->out != NULL && b->out != stdout)
		fclose(b->out);
	if (b->key.pkey != NULL)
		sth_key_fini(&b->key);
	issuer_cache_free(&b->issuers);
	render_out_fini(&b->rout);
	loglist_free(&ll);
	fetch_free(b->fetch);
	if (b->base != NULL)
		event_base_free(b->base);
	free(b);
	return rc;
}
