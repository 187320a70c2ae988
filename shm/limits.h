/*
 * Connection limits shared by every worker through seg->limits: a total
 * count and an open-addressing table of peer addresses (IPv4 by /32, IPv6
 * by connection_limit.ipv6_prefix) with a live count and a
 * new-connections-per-second window each. Every connection is accounted whether or not limits are
 * enabled, so enabling them on SIGHUP starts from true counts.
 * Pure shared-memory arithmetic: no I/O, no logging.
 */
#ifndef SHM_LIMITS_H
#define SHM_LIMITS_H

#include <stdint.h>
#include <sys/socket.h>

#include "common/config.h"
#include "shm/layout.h"

enum limits_verdict {
	LIMITS_OK = 0,
	LIMITS_TOTAL = 1,       /* server full: 503 */
	LIMITS_PER_IP = 2,      /* too many from this address: 429 */
	LIMITS_RATE = 3,        /* this address connects too fast: 429 */
	LIMITS_FULL = 4,        /* no slot for a new address (a flood): 429 */
};

/* What a connection holds; pass it back to limits_release(). */
struct limits_hold {
	uint16_t slot;          /* table slot + 1, 0: address not tracked */
	uint8_t total;          /* counted in l->total */
	uint8_t worker;         /* whose row of l->held it is in */
};

/*
 * Account a new connection from sa (AF_INET or AF_INET6) at Unix second
 * now, held by worker (0 <= worker < SHM_MAX_WORKERS). On LIMITS_OK the
 * connection is counted in *hold; on a refusal nothing is held. With
 * limits enabled an admitted connection is always tracked by its address:
 * one that finds no room in the table is refused (LIMITS_FULL), and one
 * address never holds more than per_ip_limit, whichever workers admit it.
 * With exempt_loopback a loopback peer counts toward max_connections only:
 * it is never refused for its address's count, rate or table room.
 */
enum limits_verdict limits_acquire(struct shm_limits *l,
    const struct config *cfg, const struct sockaddr *sa, uint64_t now,
    int worker, struct limits_hold *hold);

/* limits_acquire's two halves, for tests that put another worker between
 * them: the pin takes the counts (*place: the address's place, 0 when not
 * tracked) and refuses only for the total or a full table; the judgement
 * then refuses for the address's count or rate. */
enum limits_verdict limits_acquire_pin(struct shm_limits *l,
    const struct config *cfg, const struct sockaddr *sa, int worker,
    struct limits_hold *hold, uint32_t *place);
enum limits_verdict limits_acquire_judge(struct shm_limits *l,
    const struct config *cfg, const struct sockaddr *sa, uint64_t now,
    uint32_t place, struct limits_hold *hold);

void limits_release(struct shm_limits *l, struct limits_hold *hold);

/*
 * Give back every count worker held: called by its successor before it
 * serves, when the predecessor died without releasing (kill -9). Returns
 * the connections given back. A predecessor killed between its two
 * updates leaves one count behind, never takes one too many.
 */
unsigned limits_reclaim(struct shm_limits *l, int worker);

#endif
