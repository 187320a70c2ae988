/*
 * The JetStream publisher of an ingest node: a bounded window of passed
 * entries (nats_win.h), drained by one thread that publishes several at
 * once (js_PublishMsgAsync) and moves a log's resume point past an entry
 * only once the stream acknowledged it and every entry before it.
 */
#include "ingest/nats_pub.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ingest/nats_conn.h"
#include "ingest/nats_env.h"
#include "ingest/nats_win.h"
#include "shm/atomics.h"

#define NP_ACK_WAIT_MS 2000   /* an answer not in by then: a failure */
#define NP_RETRY_MS 250
#define NP_INFLIGHT 256       /* at most, and at most nats.max_pending */

static struct {
	int on;
	const struct config *cfg;
	struct shm_ingest_stats *stats;
	natsConnection *nc;
	jsCtx *js;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	struct nwin w;
	size_t inflight;        /* most entries in flight */
	int failed;             /* an answer was a failure: wait, check */
	char last[512];         /* the last failure logged */
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

/* A failure, logged when its text changes (under P.mu). */
static void
np_fail(const char *what, natsStatus s, int jerr)
{
	char why[256];

	snprintf(why, sizeof(why), "%s: %s (%d)", what, natsStatus_GetText(s),
	    jerr);
	if (strcmp(why, P.last) != 0)
		log_warnx("nats: publish to %s: %s; holding the logs' positions "
		    "and retrying", P.cfg->nats.subject, why);
	snprintf(P.last, sizeof(P.last), "%s", why);
}

/* The stream's answer for one message (a libnats thread). */
static void
np_answer(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
    void *closure)
{
	(void)js;
	(void)closure;
	pthread_mutex_lock(&P.mu);
	/* No word on the connection here: an answer read before a
	 * disconnect may be handed over after it (the connection's callbacks
	 * and natsc_up() say whether it is up). */
	if (nwin_answer(&P.w, msg, pa != NULL) == 0 && pa != NULL) {
		shm_fetch_add(&P.stats->nats_acked, 1, relaxed);
		shm_store(&P.stats->nats_seq, pa->Sequence, relaxed);
		if (P.last[0] != '\0')
			log_info("nats: publishing again");
		P.last[0] = '\0';
	} else if (pa == NULL) {
		P.failed = 1;
		np_fail("acknowledgement", pae != NULL ? pae->Err : NATS_ERR,
		    pae != NULL ? (int)pae->ErrCode : 0);
	}
	pthread_cond_signal(&P.more);
	pthread_mutex_unlock(&P.mu);
	natsMsg_Destroy(msg);
}

/* Entries acknowledged in order leave: their logs' points move (one
 * writer per log at a time: this thread, in order). Under P.mu. */
static void
np_retire(void)
{
	struct nwin_item it;
	struct shm_log_status *st;
	int n = 0;

	while (nwin_pop(&P.w, &it)) {
		st = it.st;
		if (np_urlh(st) == it.urlh)
			shm_store(&st->next_index, it.index + 1, relaxed);
		free(it.msg);
		n++;
	}
	if (n > 0) {
		shm_store(&P.stats->nats_pending, P.w.n, relaxed);
		pthread_cond_broadcast(&P.room);
	}
}

static void
np_wait(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	(void)pthread_cond_timedwait(&P.more, &P.mu, &ts);
}

/* Send one entry (P.mu held on entry and on return). 0, or -1: the send
 * failed, the entry is queued again. */
static int
np_send(struct nwin_item *it)
{
	jsPubOptions po;
	natsMsg *m = NULL;
	natsStatus s;

	/* The entry stays in the window while SENT: its bytes and id too. */
	s = natsMsg_Create(&m, P.cfg->nats.subject, NULL, (const char *)it->msg,
	    (int)it->len);
	if (s != NATS_OK) {
		nwin_unsend(&P.w, it);
		np_fail("message", s, 0);
		return -1;
	}
	it->tok = m;    /* the answer names the message */
	jsPubOptions_Init(&po);
	po.MsgId = it->id;
	po.MaxWait = NP_ACK_WAIT_MS;
	pthread_mutex_unlock(&P.mu);
	s = js_PublishMsgAsync(P.js, &m, &po);
	pthread_mutex_lock(&P.mu);
	if (s == NATS_OK || m == NULL)
		return 0;       /* the library has it: np_answer will come */
	natsMsg_Destroy(m);
	nwin_unsend(&P.w, it);
	np_fail("send", s, 0);
	return -1;
}

static void *
np_main(void *arg)
{
	struct nwin_item *it;
	char err[512], last[512] = "";

	(void)arg;
	while (natsc_stream_ensure(P.js, P.cfg, err, sizeof(err)) == -1) {
		if (strcmp(err, last) != 0)
			log_warnx("nats: %s; retrying", err);
		snprintf(last, sizeof(last), "%s", err);
		np_sleep_ms(1000);
		if (shm_load(&P.stop, relaxed))
			return NULL;
	}
	pthread_mutex_lock(&P.mu);
	while (!shm_load(&P.stop, relaxed)) {
		np_retire();
		if (P.failed && P.w.inflight == 0) {
			/* every answer is in: check the stream, then resend */
			P.failed = 0;
			pthread_mutex_unlock(&P.mu);
			(void)natsc_up(P.nc, P.stats);
			if (natsc_stream_ensure(P.js, P.cfg, err,
			    sizeof(err)) == -1)
				log_debug("nats: %s", err);
			np_sleep_ms(NP_RETRY_MS);
			pthread_mutex_lock(&P.mu);
			continue;
		}
		/* the token is set by np_send once the message exists */
		if ((it = nwin_next(&P.w, P.inflight, NULL)) == NULL) {
			np_wait(NP_RETRY_MS);
			continue;
		}
		if (np_send(it) == -1) {
			pthread_mutex_unlock(&P.mu);
			(void)natsc_up(P.nc, P.stats);
			np_sleep_ms(NP_RETRY_MS);
			pthread_mutex_lock(&P.mu);
		}
	}
	pthread_mutex_unlock(&P.mu);
	return NULL;
}

int
nats_pub_start(const struct config *cfg, struct shm_seg *seg)
{
	char err[512];

	memset(&P, 0, sizeof(P));
	P.cfg = cfg;
	P.stats = seg->ingest;
	P.inflight = (size_t)cfg->nats.max_pending < NP_INFLIGHT ?
	    (size_t)cfg->nats.max_pending : NP_INFLIGHT;
	if (nwin_init(&P.w, (size_t)cfg->nats.max_pending) == -1) {
		log_warn("%s: calloc(%d)", __func__, cfg->nats.max_pending);
		return -1;
	}
	pthread_mutex_init(&P.mu, NULL);
	pthread_cond_init(&P.more, NULL);
	pthread_cond_init(&P.room, NULL);
	if (natsc_open(cfg, P.stats, &P.nc, &P.js, np_answer, (int)P.inflight,
	    err, sizeof(err)) == -1) {
		log_error("%s", err);
		goto fail;
	}
	if (pthread_create(&P.th, NULL, np_main, NULL) != 0) {
		log_error("%s: pthread_create failed", __func__);
		natsc_close(P.nc, P.js, P.stats);
		goto fail;
	}
	P.on = 1;
	log_info("nats: publishing every record to stream %s, subject %s, up "
	    "to %zu at once", cfg->nats.stream, cfg->nats.subject, P.inflight);
	return 0;
fail:
	nwin_free(&P.w);
	pthread_mutex_destroy(&P.mu);
	pthread_cond_destroy(&P.more);
	pthread_cond_destroy(&P.room);
	return -1;
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
	struct nwin_item it;
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
	while (nwin_full(&P.w) && !P.stop) {
		if (!warned++)
			log_warnx("nats: %zu records wait for the stream; the "
			    "logs wait too", P.w.n);
		pthread_cond_wait(&P.room, &P.mu);
	}
	if (P.stop) {
		pthread_mutex_unlock(&P.mu);
		free(it.msg);
		return;
	}
	nwin_push(&P.w, &it);
	shm_store(&P.stats->nats_pending, P.w.n, relaxed);
	pthread_cond_signal(&P.more);
	pthread_mutex_unlock(&P.mu);
}

void
nats_pub_stop(void)
{
	if (!P.on)
		return;
	pthread_mutex_lock(&P.mu);
	shm_store(&P.stop, 1, relaxed);  /* the mutex and join order the rest */
	pthread_cond_broadcast(&P.more);
	pthread_cond_broadcast(&P.room);
	pthread_mutex_unlock(&P.mu);
	pthread_join(P.th, NULL);
	/* answers still due come (and are dropped) while the connection
	 * closes: the window outlives it */
	natsc_close(P.nc, P.js, P.stats);
	nwin_free(&P.w);
	pthread_mutex_destroy(&P.mu);
	pthread_cond_destroy(&P.more);
	pthread_cond_destroy(&P.room);
	P.on = 0;
}
