/*
 * NATS connection set-up from the config, and the stream an ingest node
 * creates when it is missing.
 */
#include "ingest/nats_conn.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "shm/atomics.h"

static void
natsc_on_disc(natsConnection *nc, void *arg)
{
	struct shm_ingest_stats *stats = arg;

	(void)nc;
	/* natsc_close() sets OFF first: a disconnect we asked for is no news */
	if (shm_load(&stats->nats, relaxed) == SHM_NATS_OFF)
		return;
	shm_store(&stats->nats, SHM_NATS_DOWN, relaxed);
	log_warnx("nats: disconnected; reconnecting");
}

static void
natsc_on_conn(natsConnection *nc, void *arg)
{
	struct shm_ingest_stats *stats = arg;
	char url[256] = "";

	(void)natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	shm_store(&stats->nats, SHM_NATS_UP, relaxed);
	log_info("nats: connected to %s", url);
}

/* nats.url is "a,b,c" (spaces allowed): each its own server. */
static natsStatus
natsc_servers(natsOptions *o, const char *list)
{
	char buf[CONFIG_STR], *p, *save = NULL;
	const char *srv[64];
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (p = strtok_r(buf, ", ", &save); p != NULL && n < 64;
	    p = strtok_r(NULL, ", ", &save))
		srv[n++] = p;
	if (n == 0)
		return NATS_INVALID_ARG;
	/* no random order: the first named is tried first, as written */
	(void)natsOptions_SetNoRandomize(o, true);
	return natsOptions_SetServers(o, srv, n);
}

int
natsc_open(const struct config *cfg, struct shm_ingest_stats *stats,
    natsConnection **nc, jsCtx **js, jsPubAckHandler ack, int inflight,
    char *err, size_t errlen)
{
	jsOptions jo;
	const struct config *c = cfg;
	natsOptions *o = NULL;
	natsStatus s;
	const char *what = "natsOptions_Create";

	*nc = NULL;
	*js = NULL;
	shm_store(&stats->nats, SHM_NATS_DOWN, relaxed);
	if ((s = natsOptions_Create(&o)) != NATS_OK)
		goto fail;
	what = "nats.url";
	if ((s = natsc_servers(o, c->nats.url)) != NATS_OK)
		goto fail;
	what = "options";
	if ((s = natsOptions_SetName(o, "certstreamd")) != NATS_OK ||
	    (s = natsOptions_SetMaxReconnect(o, -1)) != NATS_OK ||
	    (s = natsOptions_SetReconnectWait(o, 250)) != NATS_OK ||
	    (s = natsOptions_SetTimeout(o, 2000)) != NATS_OK ||
	    (s = natsOptions_SetDisconnectedCB(o, natsc_on_disc, stats)) !=
	    NATS_OK ||
	    (s = natsOptions_SetReconnectedCB(o, natsc_on_conn, stats)) !=
	    NATS_OK ||
	    (s = natsOptions_SetRetryOnFailedConnect(o, true, natsc_on_conn,
	    stats)) != NATS_OK)
		goto fail;
	what = "nats.user";
	if (c->nats.user[0] != '\0' && (s = natsOptions_SetUserInfo(o,
	    c->nats.user, c->nats.password)) != NATS_OK)
		goto fail;
	what = "nats.token";
	if (c->nats.token[0] != '\0' &&
	    (s = natsOptions_SetToken(o, c->nats.token)) != NATS_OK)
		goto fail;
	what = "nats.creds";
	if (c->nats.creds[0] != '\0' && (s =
	    natsOptions_SetUserCredentialsFromFiles(o, c->nats.creds, NULL)) !=
	    NATS_OK)
		goto fail;
	what = "nats.tls_ca";
	if (c->nats.tls_ca[0] != '\0' && ((s = natsOptions_SetSecure(o, true)) !=
	    NATS_OK || (s = natsOptions_LoadCATrustedCertificates(o,
	    c->nats.tls_ca)) != NATS_OK))
		goto fail;
	what = "nats.tls_cert";
	if (c->nats.tls_cert[0] != '\0' && ((s = natsOptions_SetSecure(o,
	    true)) != NATS_OK || (s = natsOptions_LoadCertificatesChain(o,
	    c->nats.tls_cert, c->nats.tls_key)) != NATS_OK))
		goto fail;
	what = "connect";
	s = natsConnection_Connect(nc, o);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
		goto fail;
	if (s == NATS_NOT_YET_CONNECTED)
		log_warnx("nats: no server of %s answers yet; retrying",
		    c->nats.url);
	else    /* connected at once: the callback is for a later connect */
		natsc_on_conn(*nc, stats);
	what = "JetStream";
	if ((s = jsOptions_Init(&jo)) != NATS_OK)
		goto fail;
	jo.PublishAsync.AckHandler = ack;
	/* the caller's window is the bound; the library's count drops only
	 * after the answer's callback returns, so it gets room to spare */
	jo.PublishAsync.MaxPending = 2 * (int64_t)inflight;
	if ((s = natsConnection_JetStream(js, *nc, &jo)) != NATS_OK)
		goto fail;
	natsOptions_Destroy(o);
	return 0;
fail:
	snprintf(err, errlen, "nats: %s: %s (%s)", what, natsStatus_GetText(s),
	    nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
	natsConnection_Destroy(*nc);
	*nc = NULL;
	natsOptions_Destroy(o);
	return -1;
}

int
natsc_up(natsConnection *nc, struct shm_ingest_stats *stats)
{
	int up = nc != NULL &&
	    natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;

	shm_store(&stats->nats, up ? SHM_NATS_UP : SHM_NATS_DOWN, relaxed);
	return up;
}

int
natsc_stream_ensure(jsCtx *js, const struct config *cfg, char *err,
    size_t errlen)
{
	const char *subj[1] = { cfg->nats.subject };
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	jsErrCode jerr = 0;
	natsStatus s;

	s = js_GetStreamInfo(&si, js, cfg->nats.stream, NULL, &jerr);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (s != NATS_NOT_FOUND) {
		snprintf(err, errlen, "stream %s: %s (%d)", cfg->nats.stream,
		    natsStatus_GetText(s), (int)jerr);
		return -1;
	}
	jsStreamConfig_Init(&sc);
	sc.Name = cfg->nats.stream;
	sc.Subjects = subj;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.MaxAge = (int64_t)cfg->nats.max_age_secs * 1000000000;
	sc.MaxBytes = cfg->nats.max_bytes > 0 ? (int64_t)cfg->nats.max_bytes : -1;
	sc.Replicas = cfg->nats.replicas;
	sc.Duplicates = (int64_t)cfg->nats.duplicate_window_secs * 1000000000;
	s = js_AddStream(&si, js, &sc, NULL, &jerr);
	if (s != NATS_OK) {
		snprintf(err, errlen, "creating stream %s: %s (%d) %s",
		    cfg->nats.stream, natsStatus_GetText(s), (int)jerr,
		    nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
		return -1;
	}
	jsStreamInfo_Destroy(si);
	log_info("nats: stream %s created (subject %s, %d replicas)",
	    cfg->nats.stream, cfg->nats.subject, cfg->nats.replicas);
	return 0;
}

void
natsc_close(natsConnection *nc, jsCtx *js, struct shm_ingest_stats *stats)
{
	shm_store(&stats->nats, SHM_NATS_OFF, relaxed);
	jsCtx_Destroy(js);
	if (nc != NULL)
		natsConnection_Close(nc);
	natsConnection_Destroy(nc);
	nats_CloseAndWait(2000);
}
