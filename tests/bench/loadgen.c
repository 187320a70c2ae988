/*
 * loadgen: certstream's load generator, its raw fan-out ceiling and a
 * publisher for a peer server. See tests/bench/README.md.
 *
 * Client mode forks --procs processes sharing --clients; the parent waits
 * until every client has connected, opens a counting window (--warmup,
 * then --duration) in shared memory, samples the CPU of the server pids it
 * was given at both ends, then merges the children's counters.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/loadgen.h"

#define MAX_PROCS 64
#define MAX_PATHS 16
#define MAX_PIDS 64

struct shared {
	volatile int64_t win[2];
	struct lg_stats st[MAX_PROCS];
};

struct pidset {
	int n;
	int pid[MAX_PIDS];
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen [client options] | --raw-server ... | --publish PATH ...\n"
	    "       | --churn RATE ...\n"
	    "client:  --port P [--host 127.0.0.1] [--clients N] [--procs P]\n"
	    "         [--mix '/=8,/domains-only=1,/sse?stream=lite=1'] [--ramp CONN/S]\n"
	    "         [--duration S] [--warmup S] [--stall K] [--idle]\n"
	    "         [--feed NDJSON] [--cpu-pids a,b] [--all-pids a,b]\n"
	    "         [--connect-timeout S] [--spread-src (process i binds 127.0.0.i+2)]\n"
	    "         [--paths-file FILE (one path a line, clients spread evenly;\n"
	    "          instead of --mix, for many distinct filter URLs)]\n"
	    "raw:     --raw-server --port P --msg-file NDJSON [--rate R (0 = saturate)]\n"
	    "         [--procs P (processes, each its own listener)]\n"
	    "         [--batch B] [--duration S]\n"
	    "publish: --publish PATH --port P --msg-file NDJSON --rate R --duration S\n"
	    "         [--pub-conns C]\n"
	    "churn:   --churn RATE --port P --paths-file FILE --duration S\n"
	    "         [--hold MS (500)]\n");
	exit(2);
}

static int
parse_pids(const char *s, struct pidset *ps)
{
	char *end;

	ps->n = 0;
	while (*s) {
		long v = strtol(s, &end, 10);

		if (end == s || v <= 0 || ps->n == MAX_PIDS)
			return -1;
		ps->pid[ps->n++] = (int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return 0;
}

/* utime + stime of a process in seconds (0 when it is gone). */
static double
proc_cpu(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* after ")": state is field 3; utime and stime are fields 14 and 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
set_cpu(const struct pidset *ps)
{
	double s = 0;

	for (int i = 0; i < ps->n; i++)
		s += proc_cpu(ps->pid[i]);
	return s;
}

static void
sleep_until(int64_t t)
{
	int64_t now;

	while ((now = lg_now_us()) < t) {
		int64_t d = t - now;
		struct timespec ts = { d / 1000000, (long)(d % 1000000) * 1000 };

		nanosleep(&ts, NULL);
	}
}

static int
parse_mix(char *s, const char **paths, int *weights)
{
	int n = 0;

	for (char *tok = strtok(s, ","); tok != NULL; tok = strtok(NULL, ",")) {
		char *eq = strrchr(tok, '=');

		if (n == MAX_PATHS)
			return -1;
		weights[n] = 1;
		/* "/sse?stream=lite=3": the weight is after the last '=' only when
		 * it is a number */
		if (eq != NULL && eq[1] >= '0' && eq[1] <= '9' &&
		    strspn(eq + 1, "0123456789") == strlen(eq + 1)) {
			*eq = '\0';
			weights[n] = atoi(eq + 1);
		}
		paths[n++] = tok;
	}
	return n;
}

/* Every line of path a path of weight 1 (lines kept for the run); -1 on
 * error, else the count. */
static int
read_paths(const char *path, const char ***pv, int **wv)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int n = 0, nalloc = 0;

	if (f == NULL)
		return -1;
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (n == nalloc) {
			nalloc = nalloc ? 2 * nalloc : 256;
			*pv = realloc(*pv, (size_t)nalloc * sizeof(**pv));
			*wv = realloc(*wv, (size_t)nalloc * sizeof(**wv));
			if (*pv == NULL || *wv == NULL)
				exit(1);
		}
		(*pv)[n] = strdup(line);
		(*wv)[n++] = 1;
	}
	free(line);
	fclose(f);
	return n;
}

/* The raw server over procs processes, each with its own SO_REUSEPORT
 * listener opened before any accepts; the first process stops the others
 * when it is stopped. */
static int
raw_serve(const struct lg_raw_opts *ro, int procs)
{
	int lfd[MAX_PROCS], rc;
	pid_t kid[MAX_PROCS];

	for (int i = 0; i < procs; i++)
		if ((lfd[i] = lg_raw_listen(ro->host, ro->port)) == -1)
			return -1;
	for (int i = 1; i < procs; i++) {
		if ((kid[i] = fork()) == -1)
			return -1;
		if (kid[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
			for (int j = 0; j < procs; j++)
				if (j != i)
					close(lfd[j]);
			_exit(lg_raw_run(ro, lfd[i]) == 0 ? 0 : 1);
		}
	}
	for (int i = 1; i < procs; i++)
		close(lfd[i]);
	printf("raw_listening %d\nraw_procs %d\n", ro->port, procs);
	rc = lg_raw_run(ro, lfd[0]);
	close(lfd[0]);
	for (int i = 1; i < procs; i++) {
		kill(kid[i], SIGTERM);
		waitpid(kid[i], NULL, 0);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	enum { O_RAW = 256, O_PUB, O_MIX, O_CPU, O_ALL, O_FEED, O_MSG, O_CT,
		O_PUBC, O_IDLE, O_WARM, O_BATCH, O_SPREAD, O_PATHS,
		O_CHURN, O_HOLD };
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "clients", required_argument, NULL, 'n' },
		{ "procs", required_argument, NULL, 'P' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ramp", required_argument, NULL, 'r' },
		{ "stall", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'R' },
		{ "warmup", required_argument, NULL, O_WARM },
		{ "idle", no_argument, NULL, O_IDLE },
		{ "mix", required_argument, NULL, O_MIX },
		{ "cpu-pids", required_argument, NULL, O_CPU },
		{ "all-pids", required_argument, NULL, O_ALL },
		{ "feed", required_argument, NULL, O_FEED },
		{ "msg-file", required_argument, NULL, O_MSG },
		{ "connect-timeout", required_argument, NULL, O_CT },
		{ "raw-server", no_argument, NULL, O_RAW },
		{ "publish", required_argument, NULL, O_PUB },
		{ "pub-conns", required_argument, NULL, O_PUBC },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "spread-src", no_argument, NULL, O_SPREAD },
		{ "paths-file", required_argument, NULL, O_PATHS },
		{ "churn", required_argument, NULL, O_CHURN },
		{ "hold", required_argument, NULL, O_HOLD },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *feed_path = NULL, *msg_path = NULL;
	const char *pub_path = NULL, *paths[MAX_PATHS], *paths_file = NULL;
	const char **pathv = paths;
	int *weightv = NULL;
	char mixbuf[1024] = "/", err[256];
	int weights[MAX_PATHS], npaths, port = 0, nclients = 1, procs = 1;
	int spread = 0, nstall = 0, idle = 0, raw = 0, pubc = 1, batch = 64, ch, dur_set = 0;
	double duration = 5, warmup = 1, ramp = 0, rate = 0, ctimeout = 30;
	double churn = 0;
	int hold = 500;
	struct pidset cpu = { 0 }, all = { 0 }, kids = { 0 };
	struct lg_msgs feed, msgs;
	struct shared *sh;
	struct lg_stats tot;
	pid_t pids[MAX_PROCS];
	int64_t t0, connect_done = 0, hard_end;
	double cpu0, cpu1, all0, all1, kid0, kid1, win_s;
	int all_connected = 1;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'n': nclients = atoi(optarg); break;
		case 'P': procs = atoi(optarg); break;
		case 'd': duration = atof(optarg); dur_set = 1; break;
		case 'r': ramp = atof(optarg); break;
		case 's': nstall = atoi(optarg); break;
		case 'R': rate = atof(optarg); break;
		case O_WARM: warmup = atof(optarg); break;
		case O_IDLE: idle = 1; break;
		case O_MIX: snprintf(mixbuf, sizeof(mixbuf), "%s", optarg); break;
		case O_CPU: if (parse_pids(optarg, &cpu) == -1) usage(); break;
		case O_ALL: if (parse_pids(optarg, &all) == -1) usage(); break;
		case O_FEED: feed_path = optarg; break;
		case O_MSG: msg_path = optarg; break;
		case O_CT: ctimeout = atof(optarg); break;
		case O_RAW: raw = 1; break;
		case O_PUB: pub_path = optarg; break;
		case O_PUBC: pubc = atoi(optarg); break;
		case O_BATCH: batch = atoi(optarg); break;
		case O_SPREAD: spread = 1; break;
		case O_PATHS: paths_file = optarg; break;
		case O_CHURN: churn = atof(optarg); break;
		case O_HOLD: hold = atoi(optarg); break;
		default: usage();
		}
	}
	if (port <= 0 || port > 65535 || nclients < 1 || procs < 1 ||
	    procs > MAX_PROCS || nstall < 0 || nstall > nclients || duration <= 0 ||
	    batch < 1 || pubc < 1)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (churn > 0) {
		struct lg_churn_opts co = { host, port, churn, duration, hold,
		    paths_file };

		if (paths_file == NULL || hold < 0)
			usage();
		return lg_churn_run(&co) == 0 ? 0 : 1;
	}

	if (raw || pub_path != NULL) {
		if (msg_path == NULL)
			usage();
		if (lg_msgs_load(&msgs, msg_path, err, sizeof(err)) == -1) {
			fprintf(stderr, "loadgen: %s\n", err);
			return 1;
		}
		if (raw) {
			struct lg_raw_opts ro = { host, port, rate, batch, &msgs,
			    dur_set ? duration : 0 };

			ch = raw_serve(&ro, procs);
			lg_msgs_free(&msgs);
			return ch == 0 ? 0 : 1;
		} else {
			struct lg_pub_opts po = { host, port, pub_path, rate, duration,
			    pubc, &msgs };

			if (rate <= 0)
				usage();
			ch = lg_pub_run(&po);
			lg_msgs_free(&msgs);
			return ch == 0 ? 0 : 1;
		}
	}

	weightv = weights;
	if (paths_file != NULL) {
		pathv = NULL;
		weightv = NULL;
		if ((npaths = read_paths(paths_file, &pathv, &weightv)) <= 0) {
			fprintf(stderr, "loadgen: %s: no paths\n", paths_file);
			return 1;
		}
	} else if ((npaths = parse_mix(mixbuf, paths, weights)) <= 0)
		usage();
	if (feed_path != NULL && lg_msgs_load(&feed, feed_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "loadgen: %s\n", err);
		return 1;
	}
	if (procs > nclients)
		procs = nclients;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (sh == MAP_FAILED) {
		fprintf(stderr, "loadgen: mmap: %s\n", strerror(errno));
		return 1;
	}
	memset(sh, 0, sizeof(*sh));
	/* a run cut short by a timeout still shows how far it got */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	t0 = lg_now_us();
	hard_end = t0 + (int64_t)((ctimeout + warmup + duration + 5) * 1e6);
	for (int i = 0; i < procs; i++) {
		char src[32];
		struct lg_client_opts o = {
			.host = host, .port = port,
			.nclients = nclients / procs + (i < nclients % procs),
			.nstall = i == 0 ? nstall : 0,
			.ramp = ramp / procs,
			.paths = pathv, .npaths = npaths, .weights = weightv,
			.feed = feed_path ? &feed : NULL,
			.idle = idle, .win = sh->win, .hard_end_us = hard_end,
		};

		snprintf(src, sizeof(src), "127.0.0.%d", 2 + i);
		o.src = spread ? src : NULL;

		if ((pids[i] = fork()) == -1) {
			fprintf(stderr, "loadgen: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pids[i] == 0)
			_exit(lg_client_run(&o, &sh->st[i]) == 0 ? 0 : 1);
		kids.pid[kids.n++] = pids[i];
	}

	/* Connect phase: until every process reports all its clients done. */
	for (;;) {
		int done = 0;
		int64_t last = 0;

		for (int i = 0; i < procs; i++) {
			int64_t d = *(volatile int64_t *)&sh->st[i].connect_done_us;

			if (d != 0) {
				done++;
				if (d > last)
					last = d;
			}
		}
		if (done == procs) {
			connect_done = last;
			break;
		}
		if (lg_now_us() - t0 > (int64_t)(ctimeout * 1e6)) {
			all_connected = 0;
			break;
		}
		usleep(5000);
	}
	{
		uint64_t conn = 0, cerr = 0;

		for (int i = 0; i < procs; i++) {
			conn += sh->st[i].connected;
			cerr += sh->st[i].connect_errors;
		}
		printf("clients %d\nprocs %d\nconnected %llu\nconnect_errors_at_ready %llu\n"
		    "connect_time_s %.3f\nall_connected %d\n", nclients, procs,
		    (unsigned long long)conn, (unsigned long long)cerr,
		    connect_done ? (double)(connect_done - t0) / 1e6 :
		    (double)(lg_now_us() - t0) / 1e6, all_connected);
	}
	sh->win[1] = lg_now_us() + (int64_t)((warmup + duration) * 1e6);
	sh->win[0] = lg_now_us() + (int64_t)(warmup * 1e6);
	printf("ready 1\n");
	sleep_until(sh->win[0]);
	cpu0 = set_cpu(&cpu);
	all0 = set_cpu(&all);
	kid0 = set_cpu(&kids);
	sleep_until(sh->win[1]);
	cpu1 = set_cpu(&cpu);
	all1 = set_cpu(&all);
	kid1 = set_cpu(&kids);
	win_s = (double)(sh->win[1] - sh->win[0]) / 1e6;
	for (int i = 0; i < procs; i++)
		waitpid(pids[i], NULL, 0);

	memset(&tot, 0, sizeof(tot));
	for (int i = 0; i < procs; i++) {
		struct lg_stats *s = &sh->st[i];

		tot.connected += s->connected;
		tot.connect_errors += s->connect_errors;
		tot.closed += s->closed;
		tot.proto_errors += s->proto_errors;
		tot.messages += s->messages;
		tot.bytes += s->bytes;
		tot.heartbeats += s->heartbeats;
		tot.gaps += s->gaps;
		tot.skipped += s->skipped;
		tot.unparsed += s->unparsed;
		tot.total_messages += s->total_messages;
		lg_hist_merge(&tot.lat, &s->lat);
	}
	{
		double p50 = lg_hist_quantile(&tot.lat, 0.50) / 1000;
		double p90 = lg_hist_quantile(&tot.lat, 0.90) / 1000;
		double p99 = lg_hist_quantile(&tot.lat, 0.99) / 1000;
		double mx = (double)tot.lat.max_us / 1000;
		double dps = (double)tot.messages / win_s;
		double scpu = cpu1 - cpu0, acpu = all1 - all0, kcpu = kid1 - kid0;
		uint64_t errors = tot.connect_errors + tot.closed + tot.proto_errors;

		printf("window_s %.3f\nconnect_errors %llu\nclosed %llu\n"
		    "proto_errors %llu\nerrors %llu\nmessages %llu\nbytes %llu\n"
		    "deliveries_per_s %.0f\nmb_per_s %.2f\nheartbeats %llu\n"
		    "gaps %llu\nskipped %llu\nunparsed %llu\n"
		    "lat_p50_ms %.3f\nlat_p90_ms %.3f\nlat_p99_ms %.3f\n"
		    "lat_max_ms %.3f\nlat_mean_ms %.3f\n",
		    win_s, (unsigned long long)tot.connect_errors,
		    (unsigned long long)tot.closed,
		    (unsigned long long)tot.proto_errors,
		    (unsigned long long)errors, (unsigned long long)tot.messages,
		    (unsigned long long)tot.bytes, dps,
		    (double)tot.bytes / win_s / 1e6,
		    (unsigned long long)tot.heartbeats, (unsigned long long)tot.gaps,
		    (unsigned long long)tot.skipped, (unsigned long long)tot.unparsed,
		    p50, p90, p99, mx,
		    tot.lat.count ? tot.lat.sum_us / (double)tot.lat.count / 1000 : 0.0);
		printf("client_cpu_s %.3f\nclient_cpu_pct %.1f\n", kcpu,
		    100 * kcpu / win_s);
		if (cpu.n > 0)
			printf("server_cpu_s %.3f\nserver_cpu_pct %.1f\n"
			    "deliveries_per_server_cpu_s %.0f\n", scpu, 100 * scpu / win_s,
			    scpu > 0 ? (double)tot.messages / scpu : 0.0);
		if (all.n > 0)
			printf("all_cpu_s %.3f\nall_cpu_pct %.1f\n"
			    "deliveries_per_all_cpu_s %.0f\n", acpu, 100 * acpu / win_s,
			    acpu > 0 ? (double)tot.messages / acpu : 0.0);
		printf("# %d clients (%llu connected in %.2f s, %llu errors): "
		    "%.0f deliveries/s, %.1f MB/s, latency p50 %.2f p90 %.2f "
		    "p99 %.2f max %.2f ms, %llu gaps (%llu skipped), %llu heartbeats",
		    nclients, (unsigned long long)tot.connected,
		    connect_done ? (double)(connect_done - t0) / 1e6 : -1.0,
		    (unsigned long long)errors, dps, (double)tot.bytes / win_s / 1e6,
		    p50, p90, p99, mx, (unsigned long long)tot.gaps,
		    (unsigned long long)tot.skipped,
		    (unsigned long long)tot.heartbeats);
		if (cpu.n > 0)
			printf(", %.0f deliveries per server CPU-second", scpu > 0 ?
			    (double)tot.messages / scpu : 0.0);
		printf("\n");
	}
	if (feed_path != NULL)
		lg_msgs_free(&feed);
	munmap(sh, sizeof(*sh));
	return 0;
}
