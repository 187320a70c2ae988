/*
 * certstreamd: flags, configuration, then the master.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "broadcast/tls.h"
#include "common/config.h"
#include "common/log.h"
#include "ingest/backfill.h"
#include "ingest/render/render_cli.h"
#include "ingest/replay.h"
#include "master/master.h"
#include "master/proctitle.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: certstreamd [-dnhV] [-c FILE] [-p PIDFILE] [--render FILE]\n"
	    "       certstreamd [-c FILE] --backfill LOG --start N --end M [-o FILE]\n"
	    "  -c FILE        configuration (default: $CERTSTREAM_CONFIG, else\n"
	    "                 ./certstream.conf, else /etc/certstream/certstream.conf)\n"
	    "  -n             check the configuration and exit\n"
	    "  -d             run in the background (daemon)\n"
	    "  -p PIDFILE     write and lock PIDFILE\n"
	    "  -V             print the version\n"
	    "  -h             this help\n"
	    "  --render FILE  render a CT entry file to JSON on stdout\n"
	    "  --backfill LOG entries N to M (inclusive) of LOG (URL, description\n"
	    "                 or log id), verified, as NDJSON to FILE (resumed) or\n"
	    "                 stdout\n");
}

/* The file to read when -c is not given. */
static const char *
default_config(void)
{
	const char *env = getenv("CERTSTREAM_CONFIG");

	if (env != NULL && *env != '\0')
		return env;
	if (access("certstream.conf", R_OK) == 0)
		return "certstream.conf";
	if (access("/etc/certstream/certstream.conf", R_OK) == 0)
		return "/etc/certstream/certstream.conf";
	return NULL;
}

/*
 * replay_feed_check reads the feed and renders its first usable record;
 * done in a child, so the pages that touches (the file's buffer, OpenSSL's
 * parsers) are not the master's for the daemon's lifetime. The child's
 * error comes back through a pipe.
 */
static int
check_feed_apart(const char *path, char *err, size_t errlen)
{
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	/* an inherited SIG_IGN would reap the child before waitpid */
	signal(SIGCHLD, SIG_DFL);
	if (pipe2(fd, O_CLOEXEC) == -1)
		return replay_feed_check(path, err, errlen);
	if ((pid = fork()) == -1) {
		close(fd[0]);
		close(fd[1]);
		return replay_feed_check(path, err, errlen);
	}
	if (pid == 0) {
		int rc = replay_feed_check(path, err, errlen);

		if (rc == -1)
			(void)!write(fd[1], err, strnlen(err, errlen));
		_exit(rc == -1 ? 1 : 0);
	}
	close(fd[1]);
	while ((n = read(fd[0], err, errlen - 1)) == -1 && errno == EINTR)
		;
	err[n > 0 ? n : 0] = '\0';
	close(fd[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "the check of the feed: waitpid: %s",
			    strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "the check of the feed failed");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "render", required_argument, NULL, 'R' },
		{ "backfill", required_argument, NULL, 'B' },
		{ "start", required_argument, NULL, 'S' },
		{ "end", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config cfg;
	struct master_opts opts = { 0, NULL };
	const char *conf = NULL, *render = NULL;
	struct backfill_opts bf = { NULL, NULL, NULL, NULL };
	char err[1024];
	int ch, check = 0;

	proctitle_init(argc, argv);
	while ((ch = getopt_long(argc, argv, "c:dnp:o:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'd':
			opts.daemonize = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'p':
			opts.pidfile = optarg;
			break;
		case 'V':
			printf("certstreamd %s\n", CERTSTREAM_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'R':
			render = optarg;
			break;
		case 'B':
			bf.log = optarg;
			break;
		case 'S':
			bf.start = optarg;
			break;
		case 'E':
			bf.end = optarg;
			break;
		case 'o':
			bf.out = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "certstreamd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (render != NULL)
		return render_cli_main(render, stdout);
	if (bf.log == NULL && (bf.start != NULL || bf.end != NULL ||
	    bf.out != NULL)) {
		fprintf(stderr, "certstreamd: --start, --end and -o go with "
		    "--backfill\n");
		return 2;
	}
	if (conf == NULL)
		conf = default_config();
	if (config_load(&cfg, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "certstreamd: %s\n", err);
		return 1;
	}
	/* a command of its own: no state file, no segment, no fork */
	if (bf.log != NULL)
		return backfill_main(&cfg, &bf);
	/* A replay feed that cannot be read would only make the ingest
	 * restart forever: refuse it before anything forks. */
	if (cfg.source == SOURCE_REPLAY &&
	    check_feed_apart(cfg.replay.file, err, sizeof(err)) == -1) {
		fprintf(stderr, "certstreamd: %s%s%s\n", conf ? conf : "",
		    conf ? ": replay.file: " : "replay.file: ", err);
		return 1;
	}
	/* A certificate or key that cannot serve would make every worker
	 * fail: refuse it here, naming the file. */
	if (cfg.tls.cert[0] != '\0') {
		SSL_CTX *ctx = tls_ctx_new(cfg.tls.cert, cfg.tls.key, err,
		    sizeof(err));

		if (ctx == NULL) {
			fprintf(stderr, "certstreamd: %s: %s\n",
			    conf ? conf : "(defaults)", err);
			return 1;
		}
		tls_ctx_free(ctx);
	}
	if (check) {
		printf("configuration OK%s%s\n", conf ? ": " : " (defaults)",
		    conf ? conf : "");
		return 0;
	}
	return master_run(&cfg, &opts);
}
