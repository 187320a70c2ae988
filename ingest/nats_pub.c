/*
 * The JetStream publisher of an ingest node: a bounded FIFO of passed
 * entries, drained by one thread that publishes each record and waits
 * for the stream's acknowledgement before it moves the log's resume point.
 */
#include "ingest/nats_pub.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ingest/nats_conn.h"
#include "ingest/nats_env.h"

#define NP_ACK_WAIT_MS 1000  /* a stop waits for at most one */
#define NP_RETRY_MS 250

struct np_item {
	struct shm_log_status *st;
	uint64_t urlh;          /* the log's URL hash when queued (np_urlh) */
	uint64_t index;
	uint8_t *msg;           /* envelope, NULL: nothing to publish */
	size_t len;
	char id[65];            /* Msg-Id: hex SHA-256 of the certificate */
};

static struct {
	int on;
	const struct config *cfg;
	struct shm_ingest_stats *stats;
	natsConnection *nc;
	jsCtx *js;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	struct np_item *q;
	size_t cap, first, n;
	_Atomic int stop;
} P;

/* A log stopped while its entries wait may hand its slot to another log:
 * an ack then must not move that log's point. FNV-1a of the slot's URL. */
static uint64_t
np_urlh(const struct shm_log_status *st)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(st->url) && st->url[i] != '\0'; i++)
		h = (h ^ (uint8_t)st->url[i]) * 1099511628211ULL;
	return h;
}

static void
np_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Publish one envelope until the stream acknowledges it; 0, or -1 when
 * told to stop first. Errors are logged when their text changes. */
static int
np_publish(const struct np_item *it, char *last, size_t lastlen)
{
	jsPubOptions po;
	jsPubAck *ack = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	char why[256];

	jsPubOptions_Init(&po);
	po.MsgId = it->id;
	po.MaxWait = NP_ACK_WAIT_MS;
	for (;;) {
		if (atomic_load(&P.stop))
			return -1;
		s = js_Publish(&ack, P.js, P.cfg->nats.subject, it->msg,
		    (int)it->len, &po, &jerr);
		if (s == NATS_OK) {
			atomic_store(&P.stats->nats, SHM_NATS_UP);
			atomic_fetch_add(&P.stats->nats_acked, 1);
			atomic_store(&P.stats->nats_seq, ack->Sequence);
			jsPubAck_Destroy(ack);
			if (last[0] != '\0')
				log_info("nats: publishing again");
			last[0] = '\0';
			return 0;
		}
		(void)natsc_up(P.nc, P.stats);
		snprintf(why, sizeof(why), "%s (%d)", natsStatus_GetText(s),
		    (int)jerr);
		if (strcmp(why, last) != 0) {
			log_warnx("nats: publish to %s: %s; holding the logs' "
			    "positions and retrying", P.cfg->nats.subject, why);
			snprintf(last, lastlen, "%s", why);
		}
		if (s == NATS_NO_RESPONDERS || jerr != 0) {
			char err[512];

			/* the stream may be gone, or not created yet */
			if (natsc_stream_ensure(P.js, P.cfg, err, sizeof(err)) == -1)
				log_debug("nats: %s", err);
		}
		np_sleep_ms(NP_RETRY_MS);
	}
}

static void *
np_main(void *arg)
{
	struct np_item it;
	char last[512] = "", err[512];

	(void)arg;
	while (natsc_stream_ensure(P.js, P.cfg, err, sizeof(err)) == -1) {
		if (strcmp(err, last) != 0)
			log_warnx("nats: %s; retrying", err);
		snprintf(last, sizeof(last), "%s", err);
		np_sleep_ms(1000);
		if (atomic_load(&P.stop))
			return NULL;
	}
	last[0] = '\0';
	for (;;) {
		pthread_mutex_lock(&P.mu);
		while (P.n == 0 && !P.stop)
			pthread_cond_wait(&P.more, &P.mu);
		if (P.stop) {
			pthread_mutex_unlock(&P.mu);
			break;
		}
		it = P.q[P.first];
		pthread_mutex_unlock(&P.mu);

		if (it.msg != NULL && np_publish(&it, last, sizeof(last)) == -1)
			break;
		/* The stream has it and all before it: the resume point moves
		 * (one writer per log at a time: this thread, in order). */
		if (np_urlh(it.st) == it.urlh)
			atomic_store(&it.st->next_index, it.index + 1);

		pthread_mutex_lock(&P.mu);
		free(P.q[P.first].msg);
		P.q[P.first].msg = NULL;
		P.first = (P.first + 1) % P.cap;
		P.n--;
		atomic_store(&P.stats->nats_pending, P.n);
		pthread_cond_signal(&P.room);
		pthread_mutex_unlock(&P.mu);
	}
	return NULL;
}

int
nats_pub_start(const struct config *cfg, struct shm_seg *seg)
{
	char err[512];

	memset(&P, 0, sizeof(P));
	P.cfg = cfg;
	P.stats = seg->ingest;
	P.cap = (size_t)cfg->nats.max_pending;
	if ((P.q = calloc(P.cap, sizeof(*P.q))) == NULL) {
		log_warn("%s: calloc(%zu)", __func__, P.cap);
		return -1;
	}
	if (natsc_open(cfg, P.stats, &P.nc, &P.js, err, sizeof(err)) == -1) {
		log_error("%s", err);
		free(P.q);
		return -1;
	}
	pthread_mutex_init(&P.mu, NULL);
	pthread_cond_init(&P.more, NULL);
	pthread_cond_init(&P.room, NULL);
	if (pthread_create(&P.th, NULL, np_main, NULL) != 0) {
		log_error("%s: pthread_create failed", __func__);
		natsc_close(P.nc, P.js, P.stats);
		free(P.q);
		return -1;
	}
	P.on = 1;
	log_info("nats: publishing every record to stream %s, subject %s",
	    cfg->nats.stream, cfg->nats.subject);
	return 0;
}

int
nats_pub_on(void)
{
	return P.on;
}

static void
np_hex(char out[65], const uint8_t key[32])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[key[i] >> 4];
		out[2 * i + 1] = hx[key[i] & 15];
	}
	out[64] = '\0';
}

void
nats_pub_entry(struct shm_log_status *st, uint64_t index,
    const struct ring_rec *r, const char *logid, const uint8_t key[32])
{
	struct np_item it;
	int warned = 0;

	memset(&it, 0, sizeof(it));
	it.st = st;
	it.urlh = np_urlh(st);
	it.index = index;
	if (r != NULL) {
		it.len = nats_env_size(r, strlen(logid));
		/* Never passed unpublished: a later entry's ack would move
		 * the resume point past it. */
		while ((it.msg = malloc(it.len)) == NULL) {
			log_warn("%s: malloc(%zu)", __func__, it.len);
			np_sleep_ms(1000);
		}
		(void)nats_env_encode(it.msg, r, logid);
		np_hex(it.id, key);
	}
	pthread_mutex_lock(&P.mu);
	while (P.n == P.cap && !P.stop) {
		if (!warned++)
			log_warnx("nats: %zu records wait for the stream; the "
			    "logs wait too", P.n);
		pthread_cond_wait(&P.room, &P.mu);
	}
	P.q[(P.first + P.n) % P.cap] = it;
	P.n++;
	atomic_store(&P.stats->nats_pending, P.n);
	pthread_cond_signal(&P.more);
	pthread_mutex_unlock(&P.mu);
}

void
nats_pub_stop(void)
{
	if (!P.on)
		return;
	pthread_mutex_lock(&P.mu);
	P.stop = 1;
	pthread_cond_broadcast(&P.more);
	pthread_cond_broadcast(&P.room);
	pthread_mutex_unlock(&P.mu);
	pthread_join(P.th, NULL);
	natsc_close(P.nc, P.js, P.stats);
	for (size_t i = 0; i < P.n; i++)
		free(P.q[(P.first + i) % P.cap].msg);
	free(P.q);
	pthread_mutex_destroy(&P.mu);
	pthread_cond_destroy(&P.more);
	pthread_cond_destroy(&P.room);
	P.on = 0;
}
