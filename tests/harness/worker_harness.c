/*
 * worker_harness: one real worker (worker_main) on an anonymous segment,
 * fed with synthetic records by this process, so the worker can be tested
 * without the master and the ingest.
 *
 *   worker_harness [--slots N] [--data BYTES] [--pad BYTES] [--count N]
 *       [--rate R] [--start INDEX] [--config FILE] [--heartbeat S]
 *       [--ping S] [--idle S] [--max-frame N] [--max-header N]
 *       [--header-timeout S] [--no-ingest]
 *
 * Prints "listening PORT" and "worker PID", publishes --count records at
 * --rate per second (0: as fast as possible), then reads commands on stdin:
 *
 *   publish N [RATE]  -> "published N head H"
 *   stats             -> "stats head H tail T"
 *   ingest 0|1        mark the (pretend) ingest dead or alive
 *   term              SIGTERM the worker -> "exit STATUS MILLISECONDS"
 *
 * EOF on stdin also stops the worker. Records: three variants per cert
 * (lite, full, domains) with cert_index counting up from --start.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broadcast/worker.h"
#include "common/config.h"
#include "common/log.h"
#include "shm/config_box.h"
#include "shm/ring.h"
#include "shm/segment.h"

#define REC_MAX 65536

struct harness {
	struct shm_seg seg;
	struct ring_writer rw;
	int wake_fd;
	pid_t worker;
	uint64_t index;         /* next cert_index */
	size_t pad;
	char *buf[RV_COUNT];
	char *padding;
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One synthetic record: the three variants share cert_index and seen. */
static int
publish_one(struct harness *h)
{
	struct iovec iov[RV_COUNT];
	int64_t seen = now_us();
	double s = (double)seen / 1e6;
	unsigned long long i = (unsigned long long)h->index;
	int n[RV_COUNT];

	n[RV_LITE] = snprintf(h->buf[RV_LITE], REC_MAX,
	    "{\"message_type\":\"certificate_update\",\"data\":{"
	    "\"update_type\":\"X509LogEntry\",\"leaf_cert\":{\"subject\":"
	    "{\"CN\":\"h%llu.example.com\"},\"all_domains\":"
	    "[\"h%llu.example.com\",\"www.h%llu.example.com\"],"
	    "\"pad\":\"%s\"},\"cert_index\":%llu,\"seen\":%.6f,"
	    "\"source\":{\"url\":\"https://harness.invalid/\","
	    "\"name\":\"harness\"}}}", i, i, i, h->padding, i, s);
	n[RV_FULL] = snprintf(h->buf[RV_FULL], REC_MAX,
	    "{\"message_type\":\"certificate_update\",\"data\":{"
	    "\"update_type\":\"X509LogEntry\",\"leaf_cert\":{\"subject\":"
	    "{\"CN\":\"h%llu.example.com\"},\"all_domains\":"
	    "[\"h%llu.example.com\",\"www.h%llu.example.com\"],"
	    "\"pad\":\"%s\",\"as_der\":\"TUlJQ%llu\"},\"chain\":[{\"as_der\":"
	    "\"TUlJRA==\"}],\"cert_index\":%llu,\"seen\":%.6f,"
	    "\"source\":{\"url\":\"https://harness.invalid/\","
	    "\"name\":\"harness\"}}}", i, i, i, h->padding, i, i, s);
	n[RV_DOMAINS] = snprintf(h->buf[RV_DOMAINS], REC_MAX,
	    "{\"message_type\":\"dns_entries\",\"data\":[\"h%llu.example.com\","
	    "\"www.h%llu.example.com\"],\"cert_index\":%llu,\"seen\":%.6f,"
	    "\"source\":{\"url\":\"https://harness.invalid/\","
	    "\"name\":\"harness\"}}", i, i, i, s);
	for (int v = 0; v < RV_COUNT; v++) {
		if (n[v] < 0 || n[v] >= REC_MAX)
			return -1;
		iov[v].iov_base = h->buf[v];
		iov[v].iov_len = (size_t)n[v];
	}
	if (ring_publish(&h->rw, iov, seen) == UINT64_MAX)
		return -1;
	h->index++;
	atomic_fetch_add(&h->seg.ingest->records, 1);
	return 0;
}

/* count records at rate per second (0: as fast as possible), in small
 * batches so the worker is woken often. */
static int
publish(struct harness *h, uint64_t count, double rate)
{
	double t0 = mono();
	uint64_t done = 0;

	while (done < count) {
		uint64_t due = count;

		if (rate > 0) {
			due = (uint64_t)((mono() - t0) * rate) + 1;
			if (due > count)
				due = count;
			if (due <= done) {
				struct timespec ts = { 0, 500000 };

				nanosleep(&ts, NULL);
				continue;
			}
		}
		if (due - done > 256)
			due = done + 256;
		for (; done < due; done++)
			if (publish_one(h) == -1)
				return -1;
		ring_wake(&h->rw);
	}
	return 0;
}

static int
listen_loopback(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static int
stop_worker(struct harness *h)
{
	double t0 = mono();
	int status = 0;

	if (h->worker <= 0)
		return 0;
	kill(h->worker, SIGTERM);
	while (waitpid(h->worker, &status, 0) == -1 && errno == EINTR)
		;
	printf("exit %d %d\n", WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status), (int)((mono() - t0) * 1000));
	fflush(stdout);
	h->worker = 0;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: worker_harness [--slots N] [--data BYTES] "
	    "[--pad BYTES] [--count N] [--rate R] [--start INDEX] "
	    "[--config FILE] [--heartbeat S] [--ping S] [--idle S] "
	    "[--max-frame N] [--max-header N] [--header-timeout S] "
	    "[--no-ingest]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "slots", required_argument, NULL, 's' },
		{ "data", required_argument, NULL, 'd' },
		{ "pad", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "start", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'f' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "ping", required_argument, NULL, 'P' },
		{ "idle", required_argument, NULL, 'I' },
		{ "max-frame", required_argument, NULL, 'F' },
		{ "max-header", required_argument, NULL, 'M' },
		{ "header-timeout", required_argument, NULL, 'T' },
		{ "no-ingest", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	static struct harness h;
	static struct config cfg;
	uint64_t slots = 4096, data = 8u << 20, count = 0;
	double rate = 0;
	int opt, port = 0, lfd, ingest = 1, rc = 1;
	int hb = -1, ping = -1, idle = -1, maxf = -1, maxh = -1, hto = -1;
	const char *cfgpath = NULL;
	char err[512], line[256];

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': slots = strtoull(optarg, NULL, 10); break;
		case 'd': data = strtoull(optarg, NULL, 10); break;
		case 'p': h.pad = strtoull(optarg, NULL, 10); break;
		case 'c': count = strtoull(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'i': h.index = strtoull(optarg, NULL, 10); break;
		case 'f': cfgpath = optarg; break;
		case 'H': hb = atoi(optarg); break;
		case 'P': ping = atoi(optarg); break;
		case 'I': idle = atoi(optarg); break;
		case 'F': maxf = atoi(optarg); break;
		case 'M': maxh = atoi(optarg); break;
		case 'T': hto = atoi(optarg); break;
		case 'n': ingest = 0; break;
		default: usage();
		}
	}
	if (h.pad > REC_MAX / 2)
		usage();
	log_init("stderr", LOG_LVL_INFO, "harness");
	config_defaults(&cfg);
	if (cfgpath != NULL && config_load(&cfg, cfgpath, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (hb >= 0)
		cfg.server.heartbeat_interval_secs = hb;
	if (ping >= 0)
		cfg.server.ping_interval_secs = ping;
	if (idle >= 0)
		cfg.server.idle_timeout_secs = idle;
	if (maxf >= 0)
		cfg.server.max_frame_bytes = maxf;
	if (maxh >= 0)
		cfg.server.max_header_bytes = maxh;
	if (hto >= 0)
		cfg.server.header_timeout_secs = hto;

	for (int v = 0; v < RV_COUNT; v++)
		if ((h.buf[v] = malloc(REC_MAX)) == NULL)
			fatal("malloc");
	if ((h.padding = malloc(h.pad + 1)) == NULL)
		fatal("malloc");
	memset(h.padding, 'x', h.pad);
	h.padding[h.pad] = '\0';

	if (shm_seg_create_anon(&h.seg, slots, data, 1, err, sizeof(err)) == -1)
		fatalx("segment: %s", err);
	if ((lfd = listen_loopback(&port)) == -1)
		fatal("listen on 127.0.0.1");
	if ((h.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	ring_writer_init(&h.rw, &h.seg, &h.wake_fd, 1);
	atomic_store(&h.seg.ingest->pid, (uint32_t)getpid());
	atomic_store(&h.seg.ingest->alive, (uint32_t)ingest);

	h.worker = fork();
	if (h.worker == -1)
		fatal("fork");
	if (h.worker == 0) {
		/* Never outlive the harness (a test that crashed). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* exit(), not _exit(): the sanitizer build checks for leaks. */
		exit(worker_main(&cfg, &h.seg, 0, lfd, h.wake_fd));
	}
	signal(SIGPIPE, SIG_IGN);
	printf("listening %d\nworker %d\n", port, (int)h.worker);
	fflush(stdout);
	/* Accepting clients before the first record is up to the test. */
	if (count > 0) {
		if (publish(&h, count, rate) == -1)
			fatalx("publish failed");
		printf("published %llu head %llu\n", (unsigned long long)count,
		    (unsigned long long)ring_head(&h.seg));
		fflush(stdout);
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		unsigned long long n = 0;
		double r = 0;
		int v;

		if (sscanf(line, "publish %llu %lf", &n, &r) >= 1) {
			if (publish(&h, n, r) == -1) {
				printf("error publish\n");
			} else {
				printf("published %llu head %llu\n", n,
				    (unsigned long long)ring_head(&h.seg));
			}
		} else if (strncmp(line, "stats", 5) == 0) {
			printf("stats head %llu tail %llu\n",
			    (unsigned long long)ring_head(&h.seg),
			    (unsigned long long)ring_tail(&h.seg));
		} else if (sscanf(line, "ingest %d", &v) == 1) {
			atomic_store(&h.seg.ingest->alive, (uint32_t)(v != 0));
			printf("ingest %d\n", v != 0);
		} else if (strncmp(line, "reload", 6) == 0) {
			/* As the master does on SIGHUP: parse the file here,
			 * hand it over through the segment, signal the worker. */
			struct config *nc = malloc(sizeof(*nc));

			if (nc == NULL) {
				printf("error reload\n");
			} else if (cfgpath == NULL || config_load(nc, cfgpath,
			    err, sizeof(err)) == -1) {
				log_warnx("reload refused, keeping the running "
				    "configuration: %s", cfgpath ? err : "no file");
				printf("reload refused\n");
			} else {
				config_box_put(&h.seg, nc);
				kill(h.worker, SIGHUP);
				printf("reload sent\n");
			}
			free(nc);
		} else if (strncmp(line, "term", 4) == 0) {
			stop_worker(&h);
		} else {
			printf("error unknown command\n");
		}
		fflush(stdout);
	}
	stop_worker(&h);
	rc = 0;
	close(h.wake_fd);
	close(lfd);
	shm_seg_close(&h.seg);
	for (int v = 0; v < RV_COUNT; v++)
		free(h.buf[v]);
	free(h.padding);
	return rc;
}
