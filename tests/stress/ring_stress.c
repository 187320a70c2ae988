/*
 * Multi-process stress test of the ring: one writer (this process) and N
 * reader processes on an anonymous shared segment. Records have random
 * sizes; every byte is a function of the record's seq and variant, and each
 * variant carries its seq, length and a checksum. Readers sleep on eventfds,
 * read with ring_peek() + ring_still_valid(), and check:
 *   - sequence is strict: a gap only when lapped (next < tail), counted;
 *   - a record that ring_still_valid() accepts is byte-exact (never torn);
 *   - ring_peek() never fails for a seq in [tail, head);
 *   - no wake-up is lost: a reader asleep 1 s while head moved on is a
 *     violation; the writer pauses longer than that halfway (-p ms) so
 *     that readers do sleep, caught up, while nothing is published.
 * Exit status 0 only if every reader saw received + skipped == records and
 * no violation. Usage: ring_stress [-n records] [-r readers] [-s slots]
 * [-d data_bytes] [-t max_seconds] [-p pause_ms] [-T]
 * -T: readers are threads of this process, not processes, so that a
 * ThreadSanitizer build (build/ring_stress-tsan) sees every access.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "shm/ring.h"
#include "shm/segment.h"

#define MAX_READERS 16
#define MAX_VLEN 16384
#define PREFIX 16 /* seq (8), len (4), variant (4) */
#define SUMLEN 8

struct reader_result {
	uint64_t received;
	uint64_t skipped;       /* records jumped over when lapped */
	uint64_t laps;          /* times lapped */
	uint64_t discarded;     /* read, then found overwritten: voided */
	uint64_t torn_seen;     /* of those, content was indeed corrupt */
	uint64_t violations;
	uint64_t sleeps;
	uint64_t lost_wakeups;
	uint64_t bytes;
	double cpu_s;
};

struct shared {
	_Atomic int done;
	struct reader_result r[MAX_READERS];
};

static uint64_t
word_of(uint64_t seq, int v, uint64_t i)
{
	return (seq * 0x9E3779B97F4A7C15ULL) ^
	    ((i + 1 + ((uint64_t)v << 32)) * 0xBF58476D1CE4E5B9ULL);
}

static uint8_t
byte_of(uint64_t seq, int v, size_t j)
{
	return (uint8_t)(seq * 31 + (uint64_t)v * 7 + j);
}

/* Variant v of record seq, len bytes: header, words, tail bytes, sum. */
static void
gen_variant(uint8_t *p, size_t len, uint64_t seq, int v)
{
	uint64_t sum = 0, w;
	uint32_t l32 = (uint32_t)len, v32 = (uint32_t)v;
	size_t i, nw, j;

	if (len < PREFIX + SUMLEN) {
		for (j = 0; j < len; j++)
			p[j] = byte_of(seq, v, j);
		return;
	}
	memcpy(p, &seq, 8);
	memcpy(p + 8, &l32, 4);
	memcpy(p + 12, &v32, 4);
	nw = (len - PREFIX - SUMLEN) / 8;
	for (i = 0; i < nw; i++) {
		w = word_of(seq, v, i);
		memcpy(p + PREFIX + 8 * i, &w, 8);
		sum += w;
	}
	for (j = PREFIX + 8 * nw; j < len - SUMLEN; j++) {
		p[j] = byte_of(seq, v, j);
		sum += p[j];
	}
	sum ^= seq;
	memcpy(p + len - SUMLEN, &sum, 8);
}

/* 0 if p is exactly variant v of seq (any length), -1 otherwise. */
/*
 * Record bytes are read while the writer may overwrite them, by design
 * (ring.h): what was read counts only if ring_still_valid() holds after,
 * and read_record checks exactly that. So the two functions that read
 * record bytes are not instrumented by ThreadSanitizer (the -T build);
 * every slot field, counter and the protocol around them still is.
 */
#define RECORD_BYTES_READER __attribute__((no_sanitize_thread))

RECORD_BYTES_READER static int
check_variant(const uint8_t *p, size_t len, uint64_t seq, int v)
{
	uint64_t sum = 0, w, s2, got_seq;
	uint32_t l32, v32;
	size_t i, nw, j;

	if (len < PREFIX + SUMLEN) {
		for (j = 0; j < len; j++)
			if (p[j] != byte_of(seq, v, j))
				return -1;
		return 0;
	}
	memcpy(&got_seq, p, 8);
	memcpy(&l32, p + 8, 4);
	memcpy(&v32, p + 12, 4);
	if (got_seq != seq || l32 != len || v32 != (uint32_t)v)
		return -1;
	nw = (len - PREFIX - SUMLEN) / 8;
	for (i = 0; i < nw; i++) {
		memcpy(&w, p + PREFIX + 8 * i, 8);
		if (w != word_of(seq, v, i))
			return -1;
		sum += w;
	}
	for (j = PREFIX + 8 * nw; j < len - SUMLEN; j++) {
		if (p[j] != byte_of(seq, v, j))
			return -1;
		sum += p[j];
	}
	memcpy(&s2, p + len - SUMLEN, 8);
	return s2 == (sum ^ seq) ? 0 : -1;
}

/* Parse a server WS frame header; returns header length or -1. */
RECORD_BYTES_READER static int
parse_frame(const uint8_t *p, size_t avail, uint64_t *plen)
{
	if (avail < 2 || p[0] != 0x81 || (p[1] & 0x80))
		return -1;
	if ((p[1] & 0x7f) < 126) {
		*plen = p[1];
		return 2;
	}
	if ((p[1] & 0x7f) == 126) {
		if (avail < 4)
			return -1;
		*plen = ((uint64_t)p[2] << 8) | p[3];
		return *plen >= 126 ? 4 : -1;
	}
	if (avail < 10)
		return -1;
	*plen = 0;
	for (int i = 0; i < 8; i++)
		*plen = (*plen << 8) | p[2 + i];
	return *plen > 0xffff ? 10 : -1;
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Mostly small, sometimes up to MAX_VLEN: the shape of real certificates
 * (lite ~1-2 KiB, full with chains larger) while keeping the run fast. */
static size_t
rand_len(uint64_t *s)
{
	uint64_t r = rng_next(s);

	if ((r & 31) == 0)
		return (size_t)((r >> 8) % (MAX_VLEN + 1));
	return (size_t)((r >> 8) % 640);
}

static int use_threads;  /* -T */

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(use_threads ? RUSAGE_THREAD : RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Returns 0 if the record read was clean, 1 if it was voided (lapped during
 * the read), -1 on a violation (message logged). */
static int
read_record(struct shm_seg *seg, uint64_t seq, struct reader_result *res)
{
	struct iovec iov;
	int64_t seen;
	uint64_t plen;
	int hl, bad = 0;
	uint64_t bytes = 0;

	for (int v = 0; v < RV_COUNT; v++) {
		if (ring_peek(seg, seq, (enum ring_variant)v, 1, &iov,
		    &seen) == -1) {
			if (ring_tail(seg) <= seq) {
				log_error("seq %llu: ring_peek failed for a "
				    "record in [tail, head)",
				    (unsigned long long)seq);
				return -1;
			}
			return 1;
		}
		hl = parse_frame(iov.iov_base, iov.iov_len, &plen);
		if (hl < 0 || (uint64_t)hl + plen != iov.iov_len ||
		    check_variant((const uint8_t *)iov.iov_base + hl,
		    (size_t)plen, seq, v) == -1 ||
		    seen != (int64_t)(seq * 3 + 1))
			bad = 1;
		bytes += iov.iov_len;
	}
	if (!ring_still_valid(seg, seq)) {
		res->torn_seen += (uint64_t)bad;
		return 1;
	}
	if (bad) {
		log_error("seq %llu: torn or wrong record accepted by "
		    "ring_still_valid", (unsigned long long)seq);
		return -1;
	}
	res->bytes += bytes;
	return 0;
}

static int
reader_main(struct shm_seg *seg, struct shared *sh, int idx, int efd)
{
	struct reader_result *res = &sh->r[idx];
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t next = 0, tail, ev;
	int rc, n;

	for (;;) {
		if (next >= ring_head(seg)) {
			if (atomic_load(&sh->done) && next >= ring_head(seg))
				break;
			ring_arm_wake(seg, idx);
			if (ring_head(seg) > next || atomic_load(&sh->done))
				continue;
			res->sleeps++;
			n = poll(&pfd, 1, 1000);
			if (n == -1 && errno != EINTR) {
				log_warn("reader %d: poll", idx);
				res->violations++;
				break;
			}
			if (n == 0) {
				/* Asleep a whole second: legitimate only if
				 * nothing was published meanwhile. */
				if (ring_head(seg) > next) {
					res->lost_wakeups++;
					res->violations++;
					log_error("reader %d: lost wake-up at "
					    "seq %llu", idx,
					    (unsigned long long)next);
				}
				continue;
			}
			if (read(efd, &ev, sizeof(ev)) != (ssize_t)sizeof(ev) &&
			    errno != EAGAIN) {
				log_warn("reader %d: read eventfd", idx);
				res->violations++;
				break;
			}
			continue;
		}
		tail = ring_tail(seg);
		if (next < tail) {
			res->laps++;
			res->skipped += tail - next;
			next = tail;
			continue;
		}
		rc = read_record(seg, next, res);
		if (rc == -1) {
			res->violations++;
			if (res->violations > 10)
				break;
			res->received++;
			next++;
		} else if (rc == 1) {
			res->discarded++;
		} else {
			res->received++;
			next++;
		}
	}
	res->cpu_s = cpu_seconds();
	return res->violations == 0 ? 0 : 1;
}

/* -T: one reader as a thread; its exit status goes in rc. */
struct reader_thread {
	pthread_t t;
	struct shm_seg *seg;
	struct shared *sh;
	int idx, efd, rc;
};

static void *
reader_thread_main(void *arg)
{
	struct reader_thread *rt = arg;

	rt->rc = reader_main(rt->seg, rt->sh, rt->idx, rt->efd);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ring_stress [-n records] [-r readers] "
	    "[-s slots] [-d data_bytes] [-t max_seconds] [-p pause_ms] [-T]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	uint64_t records = 1000000, nslots = 4096, data_size = 4u << 20;
	int nreaders = 4, max_s = 120, pause_ms = 1300, c, failed = 0, st;
	struct shm_seg seg;
	struct shared *sh = MAP_FAILED;
	struct ring_writer w;
	int efd[MAX_READERS];
	pid_t pid[MAX_READERS];
	static struct reader_thread rt[MAX_READERS];
	static uint8_t buf[RV_COUNT][MAX_VLEN];
	struct iovec iov[RV_COUNT];
	uint64_t rng = 0x2545F4914F6CDD1DULL, seq, bytes = 0, one = 1;
	double t0, el, wcpu;
	char err[256];

	log_init("stderr", LOG_LVL_INFO, "ring_stress");
	while ((c = getopt(argc, argv, "n:r:s:d:t:p:T")) != -1) {
		switch (c) {
		case 'n': records = strtoull(optarg, NULL, 10); break;
		case 'r': nreaders = atoi(optarg); break;
		case 's': nslots = strtoull(optarg, NULL, 10); break;
		case 'd': data_size = strtoull(optarg, NULL, 10); break;
		case 't': max_s = atoi(optarg); break;
		case 'p': pause_ms = atoi(optarg); break;
		case 'T': use_threads = 1; break;
		default: usage();
		}
	}
	if (nreaders < 1 || nreaders > MAX_READERS || records == 0)
		usage();
	if (shm_seg_create_anon(&seg, nslots, data_size, (uint32_t)nreaders,
	    err, sizeof(err)) == -1)
		fatalx("segment: %s", err);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fatal("mmap(control)");
	memset(sh, 0, sizeof(*sh));
	for (int i = 0; i < nreaders; i++) {
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (efd[i] == -1)
			fatal("eventfd");
	}
	/* Children die with us if the run hangs (alarm kills the writer). */
	alarm((unsigned)max_s);
	for (int i = 0; use_threads && i < nreaders; i++) {
		rt[i] = (struct reader_thread){ .seg = &seg, .sh = sh, .idx = i,
		    .efd = efd[i] };
		if ((errno = pthread_create(&rt[i].t, NULL, reader_thread_main,
		    &rt[i])) != 0)
			fatal("pthread_create");
	}
	for (int i = 0; !use_threads && i < nreaders; i++) {
		pid[i] = fork();
		if (pid[i] == -1)
			fatal("fork");
		if (pid[i] == 0) {
			alarm((unsigned)max_s);
			_exit(reader_main(&seg, sh, i, efd[i]));
		}
	}

	ring_writer_init(&w, &seg, efd, nreaders);
	t0 = now_s();
	for (uint64_t n = 0; n < records; n++) {
		for (int v = 0; v < RV_COUNT; v++) {
			iov[v].iov_len = rand_len(&rng);
			gen_variant(buf[v], iov[v].iov_len, n, v);
			iov[v].iov_base = buf[v];
		}
		seq = ring_publish(&w, iov, (int64_t)(n * 3 + 1));
		if (seq != n) {
			log_error("writer: publish of %llu returned %llu",
			    (unsigned long long)n, (unsigned long long)seq);
			failed = 1;
			break;
		}
		bytes += iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;
		ring_wake(&w);
		if (n == records / 2 && pause_ms > 0) {
			struct timespec ts = { pause_ms / 1000,
				(long)(pause_ms % 1000) * 1000000 };

			nanosleep(&ts, NULL);
			t0 += ts.tv_sec + ts.tv_nsec / 1e9;
		}
	}
	el = now_s() - t0;
	wcpu = cpu_seconds();
	atomic_store(&sh->done, 1);
	for (int i = 0; i < nreaders; i++)
		(void)!write(efd[i], &one, sizeof(one));

	for (int i = 0; i < nreaders; i++) {
		struct reader_result *r = &sh->r[i];

		if (use_threads) {
			pthread_join(rt[i].t, NULL);
			st = rt[i].rc << 8;
		} else if (waitpid(pid[i], &st, 0) == -1) {
			st = -1;
		}
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			log_error("reader %d: exit status %#x", i, st);
			failed = 1;
		}
		printf("reader %d: received %llu skipped %llu laps %llu "
		    "discarded %llu (torn content %llu) violations %llu "
		    "sleeps %llu lost_wakeups %llu MB %.1f cpu_s %.2f\n", i,
		    (unsigned long long)r->received,
		    (unsigned long long)r->skipped,
		    (unsigned long long)r->laps,
		    (unsigned long long)r->discarded,
		    (unsigned long long)r->torn_seen,
		    (unsigned long long)r->violations,
		    (unsigned long long)r->sleeps,
		    (unsigned long long)r->lost_wakeups, r->bytes / 1e6,
		    r->cpu_s);
		if (!failed && r->received + r->skipped != records) {
			log_error("reader %d: received %llu + skipped %llu != "
			    "%llu records", i, (unsigned long long)r->received,
			    (unsigned long long)r->skipped,
			    (unsigned long long)records);
			failed = 1;
		}
		if (r->violations)
			failed = 1;
	}
	printf("writer: records %llu MB %.1f seconds %.2f records_per_sec %.0f "
	    "cpu_s %.2f tail %llu head %llu\n", (unsigned long long)records,
	    bytes / 1e6, el, records / el, wcpu,
	    (unsigned long long)ring_tail(&seg),
	    (unsigned long long)ring_head(&seg));
	printf("ring_stress: %s\n", failed ? "FAILED" : "ok");
	for (int i = 0; i < nreaders; i++)
		close(efd[i]);
	munmap(sh, sizeof(*sh));
	shm_seg_close(&seg);
	return failed ? 1 : 0;
}
