/*
 * Churn for the filter benchmark (loadgen --churn RATE): RATE WebSocket
 * clients a second connect, each with one of the filter paths given, stay
 * --hold ms after their 101 and leave, for --duration seconds; arrivals
 * are a Poisson process (a fixed seed), as independent users' are. Every
 * tenth is a probe with a filter of its own that matches every record:
 * the time from its 101 to its first record is how soon a new filtered
 * client starts receiving. One thread, epoll, no allocation per
 * connection, so that the generator takes as little of the box's CPU as
 * it can from the server it measures; its own CPU is printed
 * (churn_cpu_pct). Prints "key value" lines.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "tests/bench/loadgen.h"

#define PROBE_WAIT_US 2000000   /* a probe without a record by then: none */
#define TAIL_US 2200000         /* after the last start, for the probes */
#define MAX_PATHS_CHURN 65536

enum cstate { C_FREE, C_CONNECTING, C_HEAD, C_HOLD, C_PROBE };

struct cconn {
	int fd;
	enum cstate st;
	int probe;              /* every tenth: times its first record */
	int64_t t101, deadline;
	size_t keep;            /* bytes of the match window kept */
	char win[64];           /* a probe: the end of what it read */
};

struct churn {
	const struct lg_churn_opts *o;
	struct sockaddr_in sa;
	char **paths;
	int npaths, next_path;
	struct cconn *c;
	int *free_ix, nfree;    /* slots not in use, a stack */
	int nc, ep;
	unsigned long long probe_no;
	uint64_t started, upgraded, refused, errors, probes, probes_empty;
	double *firsts;
	size_t nfirst, capfirst;
	char first_refusal[128];
};

static int
churn_paths(struct churn *ch, const char *file)
{
	FILE *f = fopen(file, "r");
	char line[4096];

	if (f == NULL)
		return -1;
	ch->paths = calloc(MAX_PATHS_CHURN, sizeof(*ch->paths));
	while (ch->paths != NULL && ch->npaths < MAX_PATHS_CHURN &&
	    fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0' && (ch->paths[ch->npaths] = strdup(line)) != NULL)
			ch->npaths++;
	}
	fclose(f);
	return ch->npaths > 0 ? 0 : -1;
}

static void
churn_close(struct churn *ch, struct cconn *k)
{
	close(k->fd);
	k->fd = -1;
	k->st = C_FREE;
	ch->free_ix[ch->nfree++] = (int)(k - ch->c);
}

static void
churn_start(struct churn *ch, int64_t now)
{
	struct epoll_event ev;
	struct cconn *k = NULL;
	int one = 1, fd;

	ch->started++;
	if (ch->nfree == 0) {   /* more open at once than sized for */
		ch->errors++;
		return;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1) {
		ch->errors++;
		return;
	}
	k = &ch->c[ch->free_ix[--ch->nfree]];
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(k, 0, sizeof(*k));
	k->fd = fd;
	if (connect(fd, (struct sockaddr *)&ch->sa, sizeof(ch->sa)) == -1 &&
	    errno != EINPROGRESS) {
		churn_close(ch, k);
		ch->errors++;
		return;
	}
	k->st = C_CONNECTING;
	k->probe = ch->started % 10 == 0;
	k->deadline = now + 10000000;   /* a connect that hangs: an error */
	ev.events = EPOLLOUT;
	ev.data.ptr = k;
	if (epoll_ctl(ch->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		churn_close(ch, k);
		ch->errors++;
	}
}

static void
churn_send(struct churn *ch, struct cconn *k)
{
	char req[4400], path[64];
	const char *p;
	struct epoll_event ev;
	int err = 0, n;
	socklen_t el = sizeof(err);

	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 || err != 0) {
		ch->errors++;
		churn_close(ch, k);
		return;
	}
	if (k->probe) {
		snprintf(path, sizeof(path), "/?keyword=.,zq%lluprobe",
		    ++ch->probe_no);
		p = path;
	} else {
		p = ch->paths[ch->next_path++ % ch->npaths];
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", p);
	if (n <= 0 || (size_t)n >= sizeof(req) ||
	    send(k->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		ch->errors++;
		churn_close(ch, k);
		return;
	}
	k->st = C_HEAD;
	ev.events = EPOLLIN;
	ev.data.ptr = k;
	if (epoll_ctl(ch->ep, EPOLL_CTL_MOD, k->fd, &ev) == -1) {
		ch->errors++;
		churn_close(ch, k);
	}
}

static void
churn_first(struct churn *ch, int64_t now, int64_t t101)
{
	if (ch->nfirst == ch->capfirst) {
		size_t cap = ch->capfirst ? ch->capfirst * 2 : 1024;
		double *f = realloc(ch->firsts, cap * sizeof(*f));

		if (f == NULL)
			return;
		ch->firsts = f;
		ch->capfirst = cap;
	}
	ch->firsts[ch->nfirst++] = (double)(now - t101) / 1000.0;
}

/* A probe's bytes: is "certificate_update" in them (across reads too)? */
static int
churn_probe_saw(struct cconn *k, const char *b, size_t n)
{
	static const char key[] = "certificate_update";
	const size_t kl = sizeof(key) - 1;
	char tmp[sizeof(k->win) + 4096];
	size_t m;

	while (n > 0) {
		size_t take = n > 4096 ? 4096 : n;

		memcpy(tmp, k->win, k->keep);
		memcpy(tmp + k->keep, b, take);
		m = k->keep + take;
		if (memmem(tmp, m, key, kl) != NULL)
			return 1;
		k->keep = m < kl ? m : kl - 1;
		memcpy(k->win, tmp + m - k->keep, k->keep);
		b += take;
		n -= take;
	}
	return 0;
}

static void
churn_read(struct churn *ch, struct cconn *k, int64_t now)
{
	char buf[16384];
	ssize_t n;

	for (;;) {
		n = recv(k->fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* closed by the server before we were done */
			if (k->st == C_HEAD || n < 0)
				ch->errors++;
			churn_close(ch, k);
			return;
		}
		if (k->st == C_HEAD) {
			const char *body, *eol;

			if (n < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0) {
				ch->refused++;
				if (ch->first_refusal[0] == '\0') {
					size_t l = (size_t)n;

					if ((eol = memchr(buf, '\r', l)) != NULL)
						l = (size_t)(eol - buf);
					snprintf(ch->first_refusal,
					    sizeof(ch->first_refusal), "\"%.*s\"",
					    (int)(l > 100 ? 100 : l), buf);
				}
				churn_close(ch, k);
				return;
			}
			ch->upgraded++;
			k->t101 = now;
			if (!k->probe) {
				k->st = C_HOLD;
				k->deadline = now + (int64_t)ch->o->hold_ms * 1000;
				continue;       /* drain what else came */
			}
			ch->probes++;
			k->st = C_PROBE;
			k->deadline = now + PROBE_WAIT_US;
			body = memmem(buf, (size_t)n, "\r\n\r\n", 4);
			if (body == NULL)
				continue;
			body += 4;
			if (churn_probe_saw(k, body, (size_t)(buf + n - body))) {
				churn_first(ch, now, k->t101);
				churn_close(ch, k);
				return;
			}
		} else if (k->st == C_PROBE) {
			if (churn_probe_saw(k, buf, (size_t)n)) {
				churn_first(ch, now, k->t101);
				churn_close(ch, k);
				return;
			}
		}
	}
}

/* Holds that are over leave; probes without a record by now count. */
static void
churn_expire(struct churn *ch, int64_t now)
{
	for (int i = 0; i < ch->nc; i++) {
		struct cconn *k = &ch->c[i];

		if (k->st == C_FREE || now < k->deadline)
			continue;
		if (k->st == C_PROBE)
			ch->probes_empty++;
		else if (k->st != C_HOLD)
			ch->errors++;   /* no 101 in 10 s */
		churn_close(ch, k);
	}
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
churn_report(struct churn *ch, double secs, double el)
{
	struct rusage ru;
	double cpu = 0;
	const double qs[3] = { 0.5, 0.99, 1 };
	const char *names[3] = { "p50", "p99", "max" };

	qsort(ch->firsts, ch->nfirst, sizeof(double), dcmp);
	printf("probes %llu\nprobes_without_record %llu\n",
	    (unsigned long long)ch->probes,
	    (unsigned long long)ch->probes_empty);
	for (int i = 0; i < 3; i++) {
		size_t at = (size_t)(qs[i] * (double)ch->nfirst);

		if (ch->nfirst == 0)
			printf("first_record_%s_ms -\n", names[i]);
		else
			printf("first_record_%s_ms %.1f\n", names[i],
			    ch->firsts[at < ch->nfirst ? at : ch->nfirst - 1]);
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("churn_cpu_pct %.1f\n", el > 0 ? cpu * 100 / el : 0);
	printf("churn_started %llu\nchurn_upgraded %llu\nchurn_refused %llu\n"
	    "churn_errors %llu\nchurn_first_refusal %s\nchurn_per_s %.0f\n"
	    "churn_secs %.1f\n", (unsigned long long)ch->started,
	    (unsigned long long)ch->upgraded, (unsigned long long)ch->refused,
	    (unsigned long long)ch->errors,
	    ch->first_refusal[0] ? ch->first_refusal : "-",
	    (double)ch->upgraded / secs, el);
}

int
lg_churn_run(const struct lg_churn_opts *o)
{
	struct churn ch;
	struct epoll_event evs[256];
	int64_t t0, now, next_at, end, last_scan = 0;
	unsigned short seed[3] = { 0x1234, 0x5678, 0x9abc };
	int rc = 1;

	memset(&ch, 0, sizeof(ch));
	ch.o = o;
	ch.ep = -1;
	if (o->rate <= 0 || o->duration <= 0 || churn_paths(&ch, o->paths_file) == -1) {
		fprintf(stderr, "loadgen: --churn needs a rate, a duration and "
		    "a --paths-file with paths\n");
		goto out;
	}
	ch.sa.sin_family = AF_INET;
	ch.sa.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &ch.sa.sin_addr) != 1) {
		fprintf(stderr, "loadgen: --churn: host %s\n", o->host);
		goto out;
	}
	/* open at once: the holds, the probes' waits, and room */
	ch.nc = (int)(o->rate * (o->hold_ms / 1000.0 + 1.0)) + 256;
	if ((ch.c = calloc((size_t)ch.nc, sizeof(*ch.c))) == NULL ||
	    (ch.free_ix = calloc((size_t)ch.nc, sizeof(int))) == NULL ||
	    (ch.ep = epoll_create1(0)) == -1) {
		perror("loadgen: churn");
		goto out;
	}
	for (int i = ch.nc - 1; i >= 0; i--)
		ch.free_ix[ch.nfree++] = i;
	t0 = lg_mono_us();
	end = t0 + (int64_t)(o->duration * 1e6);
	next_at = t0;
	for (;;) {
		int n, timeout;

		now = lg_mono_us();
		while (next_at <= now && next_at < end) {
			churn_start(&ch, now);
			/* exponential gaps: a Poisson process of the rate */
			next_at += (int64_t)(-log(1.0 - erand48(seed)) * 1e6 /
			    o->rate);
		}
		if (now - last_scan >= 5000) {
			churn_expire(&ch, now);
			last_scan = now;
		}
		if (now >= end + TAIL_US)
			break;
		timeout = next_at < end ? (int)((next_at - now + 999) / 1000) : 5;
		if (timeout > 5)
			timeout = 5;
		n = epoll_wait(ch.ep, evs, 256, timeout);
		now = lg_mono_us();
		for (int i = 0; i < n; i++) {
			struct cconn *k = evs[i].data.ptr;

			if (k->st == C_FREE)
				continue;
			if (k->st == C_CONNECTING)
				churn_send(&ch, k);
			else
				churn_read(&ch, k, now);
		}
	}
	for (int i = 0; i < ch.nc; i++)
		if (ch.c[i].st != C_FREE) {
			if (ch.c[i].st == C_PROBE)
				ch.probes_empty++;
			churn_close(&ch, &ch.c[i]);
		}
	churn_report(&ch, o->duration, (double)(lg_mono_us() - t0) / 1e6);
	rc = 0;
out:
	if (ch.ep != -1)
		close(ch.ep);
	free(ch.c);
	free(ch.free_ix);
	for (int i = 0; i < ch.npaths; i++)
		free(ch.paths[i]);
	free(ch.paths);
	free(ch.firsts);
	return rc;
}
