/*
 * Thread stress of the connection-limits table (shm/limits.c) for
 * ThreadSanitizer (build/limits_stress-tsan, tests/system/ring_stress.sh):
 * T threads, each a worker id, admit and release connections from a few
 * hot addresses (the same slots, pinned and raced for) and a stream of
 * new ones (slots taken, given back, taken again) at once. Checked:
 *   - an address never has more than per_ip_limit admitted at once (each
 *     thread counts what it was admitted, in a counter of its own per
 *     address, before it releases);
 *   - everything released, the table's total and every slot count are 0;
 *   - no ThreadSanitizer report (the build exits 66 on one).
 * Usage: limits_stress [-t threads] [-n rounds]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm/limits.h"

#define HOT 4           /* hot addresses */
#define LIMIT 3         /* per_ip_limit */
#define HOLD 8          /* connections a thread holds at most */

static struct shm_limits *L;
static struct config cfg;
static int rounds = 20000;
static _Atomic int admitted[HOT];
static _Atomic int over;        /* admissions seen past LIMIT */

struct held {
	struct limits_hold h;
	int hot;                /* index into admitted[], or -1 */
};

static void
addr_of(struct sockaddr_in *in, uint32_t a)
{
	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(0x0a000000u | a);
}

static void
drop(struct held *c)
{
	if (c->hot >= 0)
		atomic_fetch_sub(&admitted[c->hot], 1);
	limits_release(L, &c->h);
}

static void *
run(void *arg)
{
	int worker = (int)(intptr_t)arg;
	struct held held[HOLD];
	unsigned seed = (unsigned)worker * 2654435761u, n = 0;
	struct sockaddr_in in;

	for (int r = 0; r < rounds; r++) {
		int hot = (int)(rand_r(&seed) % (HOT * 2));
		struct held c;

		if (n == HOLD || (n > 0 && rand_r(&seed) % 2 == 0)) {
			unsigned k = rand_r(&seed) % n;

			drop(&held[k]);
			held[k] = held[--n];
			continue;
		}
		/* half the time a hot address, else a new one per round */
		if (hot < HOT)
			addr_of(&in, (uint32_t)hot + 1);
		else
			addr_of(&in, 0x10000u + (uint32_t)worker * 0x100000u +
			    (uint32_t)r);
		c.hot = hot < HOT ? hot : -1;
		if (limits_acquire(L, &cfg, (struct sockaddr *)&in, 1,
		    worker, &c.h) != LIMITS_OK)
			continue;
		if (c.hot >= 0 &&
		    atomic_fetch_add(&admitted[c.hot], 1) + 1 > LIMIT)
			atomic_fetch_add(&over, 1);
		held[n++] = c;
	}
	while (n > 0)
		drop(&held[--n]);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t th[SHM_MAX_WORKERS];
	int nthreads = 4, opt, bad = 0;

	while ((opt = getopt(argc, argv, "t:n:")) != -1) {
		if (opt == 't')
			nthreads = atoi(optarg);
		else if (opt == 'n')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (nthreads < 1 || nthreads > SHM_MAX_WORKERS || rounds < 1)
		return 2;
	L = mmap(NULL, sizeof(*L), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (L == MAP_FAILED)
		return 1;
	L->seed = 12345;
	cfg.connection_limit.enabled = 1;
	cfg.connection_limit.per_ip_limit = LIMIT;
	cfg.connection_limit.ipv6_prefix = 64;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, run, (void *)(intptr_t)i) != 0)
			return 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&over) != 0) {
		fprintf(stderr, "limits_stress: %d admissions past the limit "
		    "of %d\n", atomic_load(&over), LIMIT);
		bad = 1;
	}
	if (atomic_load(&L->total) != 0) {
		fprintf(stderr, "limits_stress: total %u after every release\n",
		    atomic_load(&L->total));
		bad = 1;
	}
	for (int i = 0; i < SHM_IP_SLOTS; i++)
		if (atomic_load(&L->ip[i].count) != 0) {
			fprintf(stderr, "limits_stress: slot %d count %u after "
			    "every release\n", i, atomic_load(&L->ip[i].count));
			bad = 1;
		}
	printf("limits_stress: %d threads x %d rounds: %s\n", nthreads, rounds,
	    bad ? "FAILED" : "ok");
	return bad;
}
