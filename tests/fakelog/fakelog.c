/*
 * fakelog: a fake Certificate Transparency log server for tests.
 * Serves several RFC 6962 and static-ct-api logs on 127.0.0.1, built from
 * real CT entries plus generated ones, growing on a timer, with faults
 * injected on request. See tests/fakelog/README.md.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "tests/fakelog/fl_srv.h"

#define MAX_LOGS 32

/* Long options without a one-letter code. */
enum {
	OPT_GROW_PER_REQUEST = 256, OPT_PUBLISH_MS, OPT_DELETE_PARTIALS,
	OPT_STALE_MS, OPT_GZIP_ALWAYS, OPT_COSIGNATURES, OPT_NO_RANGE,
	OPT_SAME_CERTS,
	OPT_PAIRS,
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fakelog [--port N] [--rfc6962 NAME]... [--static NAME]...\n"
	    "  [--initial-size N] [--max-size N] [--grow-per-sec N]\n"
	    "  [--batch-cap N] [--seed S] [--data DIR] [--real all|first|none]\n"
	    "  [--gzip-tiles] [--lint-certs] [--hold-secs N] [--fault LOG:KIND[:COUNT[:PARAM]]]\n"
	    "  [--key LOG=PEMFILE]... [--key-out FILE]\n"
	    "  [--tls-cert PEM --tls-key PEM]\n"
	    "  [--grow-per-request N] [--publish-ms N] [--delete-partials]\n"
	    "  [--stale-checkpoint-ms N] [--gzip-always] [--cosignatures N] [--pairs]\n"
	    "  [--no-range] [--same-certs]\n"
	    "fakelog --verify-note CHECKPOINT --note-key PUBKEY_B64_FILE\n");
	exit(2);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

static int
read_file(const char *path, struct fl_buf *out)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fl_buf_put(out, chunk, n);
	fclose(f);
	return out->err ? -1 : 0;
}

/* --verify-note: checks a checkpoint against a base64 SPKI (one line). */
static int
verify_note(const char *note_path, const char *key_path)
{
	struct fl_buf note = { 0 }, kb = { 0 }, spki = { 0 };
	char err[256];
	int rc = 1;

	if (read_file(note_path, &note) < 0 || read_file(key_path, &kb) < 0) {
		fprintf(stderr, "fakelog: cannot read %s or %s\n", note_path,
		    key_path);
		goto done;
	}
	while (kb.len > 0 && (kb.p[kb.len - 1] == '\n' || kb.p[kb.len - 1] == '\r'))
		kb.len--;
	fl_buf_put(&kb, "", 1);
	if (kb.err || fl_buf_unb64((const char *)kb.p, &spki) < 0) {
		fprintf(stderr, "fakelog: %s: not base64\n", key_path);
		goto done;
	}
	if (fl_sign_note_verify((const char *)note.p, note.len, spki.p, spki.len, err,
	    sizeof(err)) < 0) {
		printf("invalid: %s\n", err);
		goto done;
	}
	printf("valid\n");
	rc = 0;
done:
	fl_buf_free(&note);
	fl_buf_free(&kb);
	fl_buf_free(&spki);
	return rc;
}

struct fault_arg {
	char log[64];
	int kind;
	int count;
	long param;
};

static int
parse_fault(const char *s, struct fault_arg *fa)
{
	char buf[256], *save = NULL, *t;

	snprintf(buf, sizeof(buf), "%s", s);
	memset(fa, 0, sizeof(*fa));
	fa->count = 1;
	if ((t = strtok_r(buf, ":", &save)) == NULL)
		return -1;
	snprintf(fa->log, sizeof(fa->log), "%s", t);
	if ((t = strtok_r(NULL, ":", &save)) == NULL ||
	    (fa->kind = fl_log_fault_parse(t)) < 0)
		return -1;
	if ((t = strtok_r(NULL, ":", &save)) != NULL)
		fa->count = atoi(t);
	if ((t = strtok_r(NULL, ":", &save)) != NULL)
		fa->param = atol(t);
	return fa->count < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "rfc6962", required_argument, NULL, 'r' },
		{ "static", required_argument, NULL, 's' },
		{ "initial-size", required_argument, NULL, 'i' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "grow-per-sec", required_argument, NULL, 'g' },
		{ "batch-cap", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 'S' },
		{ "data", required_argument, NULL, 'd' },
		{ "real", required_argument, NULL, 'R' },
		{ "gzip-tiles", no_argument, NULL, 'z' },
		{ "lint-certs", no_argument, NULL, 'L' },
		{ "hold-secs", required_argument, NULL, 'H' },
		{ "fault", required_argument, NULL, 'f' },
		{ "key-out", required_argument, NULL, 'k' },
		{ "key", required_argument, NULL, 'y' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'T' },
		{ "verify-note", required_argument, NULL, 'V' },
		{ "note-key", required_argument, NULL, 'K' },
		{ "grow-per-request", required_argument, NULL, OPT_GROW_PER_REQUEST },
		{ "publish-ms", required_argument, NULL, OPT_PUBLISH_MS },
		{ "delete-partials", no_argument, NULL, OPT_DELETE_PARTIALS },
		{ "stale-checkpoint-ms", required_argument, NULL, OPT_STALE_MS },
		{ "gzip-always", no_argument, NULL, OPT_GZIP_ALWAYS },
		{ "cosignatures", required_argument, NULL, OPT_COSIGNATURES },
		{ "no-range", no_argument, NULL, OPT_NO_RANGE },
		{ "same-certs", no_argument, NULL, OPT_SAME_CERTS },
		{ "pairs", no_argument, NULL, OPT_PAIRS },
		{ NULL, 0, NULL, 0 },
	};
	const char *names[MAX_LOGS], *seed = "fakelog", *data = "tests/data/fakelog";
	const char *key_out = NULL, *vnote = NULL, *vkey = NULL;
	const char *tls_cert = NULL, *tls_key = NULL;
	int is_static[MAX_LOGS], nlogs = 0, port = 0, c, nfaults = 0, lint = 0;
	int same_certs = 0;
	int pairs = 0;
	struct fault_arg faults[MAX_LOGS];
	const char *keys[MAX_LOGS];
	int nkeys = 0, ncosig = 0;
	struct fl_cosig cosig;
	size_t initial = 1100, max_size = 100000;
	enum fl_real real = FL_REAL_ALL;
	struct fl_srv srv;
	struct fl_corpus corpus;
	struct fl_gen gen;
	struct fl_log logs[MAX_LOGS];
	struct event *sigev[2] = { NULL, NULL };
	char err[512] = "";
	struct timespec t0, t1;
	FILE *ko;

	memset(&srv, 0, sizeof(srv));
	srv.batch_cap = 1000;
	srv.hold_secs = 600;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'r':
		case 's':
			if (nlogs == MAX_LOGS || strlen(optarg) == 0 ||
			    strlen(optarg) > 60 || strchr(optarg, '/'))
				usage();
			names[nlogs] = optarg;
			is_static[nlogs++] = c == 's';
			break;
		case 'i':
			initial = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			max_size = strtoul(optarg, NULL, 10);
			break;
		case 'g':
			srv.grow_per_sec = strtod(optarg, NULL);
			break;
		case 'b':
			srv.batch_cap = strtoul(optarg, NULL, 10);
			if (srv.batch_cap == 0)
				usage();
			break;
		case 'S':
			seed = optarg;
			break;
		case 'd':
			data = optarg;
			break;
		case 'R':
			if (strcmp(optarg, "all") == 0)
				real = FL_REAL_ALL;
			else if (strcmp(optarg, "first") == 0)
				real = FL_REAL_FIRST;
			else if (strcmp(optarg, "none") == 0)
				real = FL_REAL_NONE;
			else
				usage();
			break;
		case 'z':
			srv.gzip_tiles = 1;
			break;
		case 'L':
			lint = 1;
			break;
		case 'H':
			srv.hold_secs = atol(optarg);
			break;
		case 'f':
			if (nfaults == MAX_LOGS || parse_fault(optarg, &faults[nfaults]) < 0)
				usage();
			nfaults++;
			break;
		case 'k':
			key_out = optarg;
			break;
		case 'y':
			if (nkeys == MAX_LOGS || strchr(optarg, '=') == NULL)
				usage();
			keys[nkeys++] = optarg;
			break;
		case 'C':
			tls_cert = optarg;
			break;
		case 'T':
			tls_key = optarg;
			break;
		case 'V':
			vnote = optarg;
			break;
		case 'K':
			vkey = optarg;
			break;
		case OPT_GROW_PER_REQUEST:
			srv.grow_per_request = strtoul(optarg, NULL, 10);
			break;
		case OPT_PUBLISH_MS:
			srv.publish_ms = atol(optarg);
			if (srv.publish_ms < 0)
				usage();
			break;
		case OPT_DELETE_PARTIALS:
			srv.delete_partials = 1;
			break;
		case OPT_STALE_MS:
			srv.stale_ms = atol(optarg);
			if (srv.stale_ms < 0)
				usage();
			break;
		case OPT_GZIP_ALWAYS:
			srv.gzip_always = 1;
			break;
		case OPT_COSIGNATURES:
			ncosig = atoi(optarg);
			if (ncosig < 0 || ncosig > FL_COSIG_MAX)
				usage();
			break;
		case OPT_NO_RANGE:
			srv.no_range = 1;
			break;
		case OPT_SAME_CERTS:
			same_certs = 1;
			break;
		case OPT_PAIRS:
			pairs = 1;
			break;
		default:
			usage();
		}
	}
	if (vnote || vkey) {
		if (!vnote || !vkey)
			usage();
		return verify_note(vnote, vkey);
	}
	if (optind != argc)
		usage();
	if (nlogs == 0) {
		names[nlogs] = "log1";
		is_static[nlogs++] = 0;
	}
	if (initial > max_size)
		max_size = initial;
	log_init("stderr", LOG_LVL_INFO, "fakelog");
	signal(SIGPIPE, SIG_IGN);
	if (fl_corpus_load(&corpus, data, lint, err, sizeof(err)) < 0)
		fatalx("corpus: %s", err);
	if (fl_gen_init(&gen, seed, data, &corpus.pool, err, sizeof(err)) < 0)
		fatalx("generator: %s", err);
	gen.pairs = pairs;
	if (fl_cosig_init(&cosig, &gen, ncosig, err, sizeof(err)) < 0)
		fatalx("%s", err);
	srv.cosig = &cosig;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < nlogs; i++) {
		int with_real = real == FL_REAL_ALL || (real == FL_REAL_FIRST && i == 0);

		for (int j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				fatalx("log %s given twice", names[i]);
		if (fl_log_init(&logs[i], names[i], is_static[i], with_real,
		    max_size, &corpus, &gen, err, sizeof(err)) < 0)
			fatalx("log %s: %s", names[i], err);
		/* --same-certs: every log generates the first log's
		 * certificates, as real CT logs share most of theirs */
		if (same_certs)
			snprintf(logs[i].cert_name, sizeof(logs[i].cert_name),
			    "%s", names[0]);
		/* --publish-ms: a static log's entries show at its next publish. */
		logs[i].auto_publish = !(is_static[i] && srv.publish_ms > 0);
		if (fl_log_grow(&logs[i], initial, err, sizeof(err)) < 0 ||
		    fl_log_publish(&logs[i]) < 0)
			fatalx("log %s: %s", names[i], err[0] ? err : "out of memory");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("built %d logs of %zu entries in %.2f s", nlogs, initial,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (int i = 0; i < nkeys; i++) {
		const char *eq = strchr(keys[i], '=');
		int k;

		for (k = 0; k < nlogs; k++)
			if (strlen(logs[k].name) == (size_t)(eq - keys[i]) &&
			    strncmp(logs[k].name, keys[i], (size_t)(eq - keys[i])) == 0)
				break;
		if (k == nlogs)
			fatalx("--key %s: no such log", keys[i]);
		/* Replaces the key derived from the seed. */
		fl_sign_key_fini(&logs[k].key);
		if (fl_sign_key_load(&logs[k].key, eq + 1, err, sizeof(err)) < 0)
			fatalx("--key: %s", err);
	}
	for (int i = 0; i < nfaults; i++) {
		int k;

		for (k = 0; k < nlogs; k++)
			if (strcmp(logs[k].name, faults[i].log) == 0)
				break;
		if (k == nlogs || fl_log_fault_add(&logs[k], faults[i].kind,
		    faults[i].count, 0, faults[i].param) < 0)
			fatalx("--fault %s: no such log or too many", faults[i].log);
	}
	if ((srv.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	srv.logs = logs;
	srv.nlogs = nlogs;
	srv.corpus = &corpus;
	srv.gen = &gen;
	if ((tls_cert != NULL) != (tls_key != NULL))
		usage();
	if (tls_cert && fl_srv_tls(&srv, tls_cert, tls_key, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (fl_srv_start(&srv, port, err, sizeof(err)) < 0)
		fatalx("%s", err);
	sigev[0] = evsignal_new(srv.base, SIGTERM, on_signal, srv.base);
	sigev[1] = evsignal_new(srv.base, SIGINT, on_signal, srv.base);
	if (!sigev[0] || !sigev[1] || evsignal_add(sigev[0], NULL) < 0 ||
	    evsignal_add(sigev[1], NULL) < 0)
		fatalx("signal events failed");
	ko = key_out ? fopen(key_out, "w") : NULL;
	if (key_out && ko == NULL)
		fatal("open %s", key_out);
	for (int i = 0; i < nlogs; i++) {
		printf("log %s %s %s %s\n", logs[i].name,
		    logs[i].is_static ? "static" : "rfc6962", logs[i].key.spki_b64,
		    logs[i].key.log_id_b64);
		if (ko)
			fprintf(ko, "%s %s %s\n", logs[i].name, logs[i].key.spki_b64,
			    logs[i].key.log_id_b64);
	}
	if (ko)
		fclose(ko);
	printf("listening 127.0.0.1:%d\n", srv.port);
	fflush(stdout);
	log_info("serving %d logs on 127.0.0.1:%d", nlogs, srv.port);
	event_base_dispatch(srv.base);
	log_info("stopping");
	fl_srv_stop(&srv);
	for (int i = 0; i < 2; i++)
		event_free(sigev[i]);
	event_base_free(srv.base);
	for (int i = 0; i < nlogs; i++)
		fl_log_fini(&logs[i]);
	fl_cosig_fini(&cosig);
	fl_gen_fini(&gen);
	fl_corpus_free(&corpus);
	return 0;
}
