/*
 * Ring benchmark: 1 writer, R reader processes woken by eventfd, records of
 * about 300 bytes (three variants with their frame headers). Two phases on
 * fresh segments:
 *   full speed  the writer publishes as fast as it can (wake once per batch);
 *               readers peek, copy out (as writev would) and re-validate.
 *   paced       the writer publishes a few records every millisecond; a
 *               reader that spun instead of sleeping would show ~100% CPU.
 * Prints one "name value" line per figure:
 *   ring_records_per_sec, ring_writer_cpu_pct, ring_reader_cpu_pct (per
 *   reader, CPU / wall, full speed), ring_reader_cpu_pct_paced,
 *   ring_reader_skipped_pct.
 * Usage: ring_bench [-n records] [-r readers] [-b batch] [-s slots]
 * [-d data_bytes] [-m paced_ms]
 */
#include <errno.h>
#include <poll.h>
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

#define MAX_READERS 8
#define POOL 1024 /* distinct records, cycled */

struct bench_shared {
	_Atomic int done;
	uint64_t received[MAX_READERS];
	uint64_t skipped[MAX_READERS];
	uint64_t torn[MAX_READERS];
};

struct phase {
	double wall_s;           /* fork of readers to last reader exit */
	double writer_s;         /* writer's publishing time */
	double writer_cpu_s;
	double reader_cpu_s;     /* summed over readers */
	uint64_t received, skipped, torn;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + tv->tv_usec / 1e6;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return tv_s(&ru.ru_utime) + tv_s(&ru.ru_stime);
}

/* A worker's loop, minus the socket: copy the lite frame out, re-check. */
static void
reader_main(struct shm_seg *seg, struct bench_shared *sh, int idx, int efd)
{
	static uint8_t out[1 << 16];
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	struct iovec iov;
	uint64_t next = 0, tail, ev;

	for (;;) {
		if (next >= ring_head(seg)) {
			if (atomic_load(&sh->done) && next >= ring_head(seg))
				break;
			ring_arm_wake(seg, idx);
			if (ring_head(seg) > next || atomic_load(&sh->done))
				continue;
			if (poll(&pfd, 1, 1000) == 1)
				(void)!read(efd, &ev, sizeof(ev));
			continue;
		}
		tail = ring_tail(seg);
		if (next < tail) {
			sh->skipped[idx] += tail - next;
			next = tail;
			continue;
		}
		if (ring_peek(seg, next, RV_LITE, 1, &iov, NULL) == 0 &&
		    iov.iov_len <= sizeof(out)) {
			memcpy(out, iov.iov_base, iov.iov_len);
			if (ring_still_valid(seg, next)) {
				sh->received[idx]++;
				next++;
				continue;
			}
		}
		sh->torn[idx]++;
		next = ring_tail(seg) > next ? next : next + 1;
	}
}

/* Record n's three variants: ~160 + ~100 + ~40 bytes of JSON. */
static void
make_record(char *lite, char *full, char *dom, struct iovec iov[RV_COUNT],
    uint64_t n)
{
	int a, b, c;

	a = snprintf(lite, 200, "{\"message_type\":\"certificate_update\","
	    "\"data\":{\"update_type\":\"X509LogEntry\",\"cert_index\":%llu,"
	    "\"leaf\":\"www.example-%llu.com\",\"seen\":1700000000.%06llu}}",
	    (unsigned long long)n, (unsigned long long)(n % 9973),
	    (unsigned long long)(n % 1000000));
	b = snprintf(full, 200, "{\"message_type\":\"certificate_update\","
	    "\"data\":{\"cert_index\":%llu,\"as_der\":\"MIIFazCCBFOgAwIBAgIS"
	    "BA\"}}", (unsigned long long)n);
	c = snprintf(dom, 200, "{\"message_type\":\"dns_entries\",\"n\":%llu}",
	    (unsigned long long)n);
	iov[RV_LITE].iov_base = lite;
	iov[RV_LITE].iov_len = (size_t)a;
	iov[RV_FULL].iov_base = full;
	iov[RV_FULL].iov_len = (size_t)b;
	iov[RV_DOMAINS].iov_base = dom;
	iov[RV_DOMAINS].iov_len = (size_t)c;
}

static int
run_phase(struct phase *ph, uint64_t records, int nreaders, int batch,
    uint64_t nslots, uint64_t data_size, int paced_ms, uint64_t *rec_bytes)
{
	struct shm_seg seg;
	struct bench_shared *sh;
	struct ring_writer w;
	static char lite[POOL][200], full[POOL][200], dom[POOL][200];
	static struct iovec pool[POOL][RV_COUNT];
	char err[256];
	int efd[MAX_READERS];
	pid_t pid[MAX_READERS];
	struct rusage ru;
	uint64_t one = 1, n = 0;
	double t0, tw, cpu0, deadline;
	int st, rc = 0;

	memset(ph, 0, sizeof(*ph));
	/* Rendered beforehand: the timed loop measures the ring alone. */
	for (int i = 0; i < POOL; i++)
		make_record(lite[i], full[i], dom[i], pool[i], (uint64_t)i);
	if (shm_seg_create_anon(&seg, nslots, data_size, (uint32_t)nreaders,
	    err, sizeof(err)) == -1)
		fatalx("segment: %s", err);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fatal("mmap(control)");
	for (int i = 0; i < nreaders; i++)
		if ((efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
			fatal("eventfd");
	t0 = now_s();
	for (int i = 0; i < nreaders; i++) {
		if ((pid[i] = fork()) == -1)
			fatal("fork");
		if (pid[i] == 0) {
			reader_main(&seg, sh, i, efd[i]);
			_exit(0);
		}
	}
	ring_writer_init(&w, &seg, efd, nreaders);
	cpu0 = self_cpu_s();
	tw = now_s();
	if (paced_ms == 0) {
		while (n < records) {
			for (int k = 0; k < batch && n < records; k++, n++) {
				if (ring_publish(&w, pool[n % POOL],
				    (int64_t)n) != n)
					fatalx("publish %llu failed",
					    (unsigned long long)n);
			}
			ring_wake(&w);
		}
	} else {
		/* A trickle: `batch` records every millisecond. */
		struct timespec ms = { 0, 1000000 };

		deadline = tw + paced_ms / 1000.0;
		while (now_s() < deadline) {
			for (int k = 0; k < batch; k++, n++) {
				if (ring_publish(&w, pool[n % POOL],
				    (int64_t)n) != n)
					fatalx("publish failed");
			}
			ring_wake(&w);
			nanosleep(&ms, NULL);
		}
		records = n;
	}
	ph->writer_s = now_s() - tw;
	ph->writer_cpu_s = self_cpu_s() - cpu0;
	*rec_bytes = seg.ctl->bytes_total / (records ? records : 1);
	atomic_store(&sh->done, 1);
	for (int i = 0; i < nreaders; i++)
		(void)!write(efd[i], &one, sizeof(one));
	for (int i = 0; i < nreaders; i++) {
		if (wait4(pid[i], &st, 0, &ru) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			log_error("reader %d failed (status %#x)", i, st);
			rc = -1;
		}
		ph->reader_cpu_s += tv_s(&ru.ru_utime) + tv_s(&ru.ru_stime);
		ph->received += sh->received[i];
		ph->skipped += sh->skipped[i];
		ph->torn += sh->torn[i];
	}
	ph->wall_s = now_s() - t0;
	if (ph->received + ph->skipped != records * (uint64_t)nreaders) {
		log_error("readers: received %llu + skipped %llu != %llu",
		    (unsigned long long)ph->received,
		    (unsigned long long)ph->skipped,
		    (unsigned long long)(records * (uint64_t)nreaders));
		rc = -1;
	}
	for (int i = 0; i < nreaders; i++)
		close(efd[i]);
	munmap(sh, sizeof(*sh));
	shm_seg_close(&seg);
	return rc;
}

int
main(int argc, char **argv)
{
	uint64_t records = 5000000, nslots = 65536, data_size = 32u << 20;
	uint64_t rec_bytes, paced_bytes;
	int nreaders = 2, batch = 64, paced_ms = 1000, c;
	struct phase fast, paced;

	log_init("stderr", LOG_LVL_INFO, "ring_bench");
	while ((c = getopt(argc, argv, "n:r:b:s:d:m:")) != -1) {
		switch (c) {
		case 'n': records = strtoull(optarg, NULL, 10); break;
		case 'r': nreaders = atoi(optarg); break;
		case 'b': batch = atoi(optarg); break;
		case 's': nslots = strtoull(optarg, NULL, 10); break;
		case 'd': data_size = strtoull(optarg, NULL, 10); break;
		case 'm': paced_ms = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: ring_bench [-n records] "
			    "[-r readers] [-b batch] [-s slots] [-d bytes] "
			    "[-m paced_ms]\n");
			return 2;
		}
	}
	if (nreaders < 1 || nreaders > MAX_READERS || batch < 1 ||
	    records == 0 || paced_ms < 1)
		fatalx("bad arguments");

	if (run_phase(&fast, records, nreaders, batch, nslots, data_size, 0,
	    &rec_bytes) == -1)
		return 1;
	if (run_phase(&paced, 0, nreaders, 4, nslots, data_size, paced_ms,
	    &paced_bytes) == -1)
		return 1;

	printf("ring_record_bytes %llu\n", (unsigned long long)rec_bytes);
	printf("ring_readers %d\n", nreaders);
	printf("ring_records_per_sec %.0f\n", records / fast.writer_s);
	printf("ring_writer_cpu_pct %.1f\n",
	    100.0 * fast.writer_cpu_s / fast.writer_s);
	printf("ring_reader_cpu_pct %.1f\n",
	    100.0 * fast.reader_cpu_s / nreaders / fast.wall_s);
	printf("ring_reader_skipped_pct %.2f\n", 100.0 * (double)fast.skipped /
	    ((double)records * nreaders));
	printf("ring_reader_torn %llu\n", (unsigned long long)fast.torn);
	printf("ring_paced_records_per_sec %.0f\n",
	    (paced.received + paced.skipped) / (double)nreaders /
	    paced.writer_s);
	printf("ring_reader_cpu_pct_paced %.1f\n",
	    100.0 * paced.reader_cpu_s / nreaders / paced.wall_s);
	return 0;
}
