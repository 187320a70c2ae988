/*
 * Publisher for a peer server (nchan): the same lite messages, seen stamped
 * at send time, as keep-alive HTTP POSTs at a fixed rate, over one or more
 * connections (one process each, rate shared). A publisher that falls
 * behind sends at once and the achieved rate shows it. SIGTERM ends the
 * run early and still prints the figures.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/loadgen.h"

static volatile sig_atomic_t pub_stop;

static void
on_term(int sig)
{
	(void)sig;
	pub_stop = 1;
}

struct pub_stats {
	uint64_t sent, errors;
	int64_t max_lag_us;
};

static int
pub_connect(const struct lg_pub_opts *o)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read one HTTP response (head + Content-Length body); its status or -1. */
static int
read_response(int fd, char *buf, size_t cap)
{
	size_t have = 0, need;
	char *end, *cl;
	long body = 0;
	ssize_t n;

	for (;;) {
		if (have + 1 >= cap)
			return -1;
		if ((n = recv(fd, buf + have, cap - have - 1, 0)) <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	if ((cl = strcasestr(buf, "\r\nContent-Length:")) != NULL && cl < end)
		body = strtol(cl + 17, NULL, 10);
	need = (size_t)(end + 4 - buf) + (size_t)body;
	while (have < need) {
		size_t want = need - have > cap - 1 ? cap - 1 : need - have;

		if ((n = recv(fd, buf, want, 0)) <= 0)
			return -1;
		have += (size_t)n;
	}
	return (int)strtol(buf + 9, NULL, 10);
}

static void
pub_child(const struct lg_pub_opts *o, int id, struct pub_stats *ps)
{
	char *req, resp[16384], digits[LG_SEEN_LEN];
	size_t cap = o->msgs->max_len + 512, tpl = (size_t)id;
	double rate = o->rate / o->conns;
	int64_t start = lg_mono_us(), end = start + (int64_t)(o->duration * 1e6);
	uint64_t n = 0;
	int fd = -1;

	if ((req = malloc(cap)) == NULL)
		_exit(1);
	while (!pub_stop && lg_mono_us() < end) {
		int64_t due = start + (int64_t)((double)n * 1e6 / rate), now = lg_mono_us();
		const struct lg_msg *m = &o->msgs->m[tpl];
		int hl, st;

		if (due > now) {
			struct timespec ts = { 0, (long)(due - now) * 1000 };

			nanosleep(&ts, NULL);
		} else if (now - due > ps->max_lag_us) {
			ps->max_lag_us = now - due;
		}
		n++;
		if (fd == -1 && (fd = pub_connect(o)) == -1) {
			ps->errors++;
			usleep(10000);
			continue;
		}
		hl = snprintf(req, cap, "POST %s HTTP/1.1\r\nHost: %s\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		    o->path, o->host, m->len);
		memcpy(req + hl, m->json, m->len);
		lg_seen_format(digits, lg_now_us());
		memcpy(req + hl + m->seen_at, digits, LG_SEEN_LEN);
		if (write(fd, req, (size_t)hl + m->len) != (ssize_t)((size_t)hl + m->len) ||
		    (st = read_response(fd, resp, sizeof(resp))) < 200 || st >= 300) {
			if (pub_stop)
				break;
			ps->errors++;
			close(fd);
			fd = -1;
			continue;
		}
		ps->sent++;
		tpl = (tpl + (size_t)o->conns) % o->msgs->n;
	}
	if (fd != -1)
		close(fd);
	free(req);
	_exit(0);
}

int
lg_pub_run(const struct lg_pub_opts *o)
{
	struct pub_stats *ps;
	uint64_t sent = 0, errors = 0;
	int64_t lag = 0, t0;
	double wall;

	struct sigaction sa;
	pid_t *kids;

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term; /* no SA_RESTART: a blocked wait or recv returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	if ((kids = calloc((size_t)o->conns, sizeof(*kids))) == NULL)
		return -1;
	ps = mmap(NULL, sizeof(*ps) * (size_t)o->conns, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ps == MAP_FAILED)
		return -1;
	memset(ps, 0, sizeof(*ps) * (size_t)o->conns);
	t0 = lg_mono_us();
	for (int i = 0; i < o->conns; i++) {
		pid_t p = fork();

		if (p == -1)
			return -1;
		if (p == 0)
			pub_child(o, i, &ps[i]);
		kids[i] = p;
	}
	for (int left = o->conns; left > 0;) {
		if (wait(NULL) > 0) {
			left--;
		} else if (errno == EINTR && pub_stop) {
			for (int i = 0; i < o->conns; i++)
				kill(kids[i], SIGTERM);
		} else {
			break;
		}
	}
	free(kids);
	wall = (double)(lg_mono_us() - t0) / 1e6;
	for (int i = 0; i < o->conns; i++) {
		sent += ps[i].sent;
		errors += ps[i].errors;
		if (ps[i].max_lag_us > lag)
			lag = ps[i].max_lag_us;
	}
	printf("pub_sent %llu\npub_errors %llu\npub_rate %.1f\npub_target_rate %.1f\n"
	    "pub_max_lag_ms %.1f\n", (unsigned long long)sent,
	    (unsigned long long)errors, (double)sent / wall, o->rate,
	    (double)lag / 1000.0);
	munmap(ps, sizeof(*ps) * (size_t)o->conns);
	return 0;
}
