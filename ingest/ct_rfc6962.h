/*
 * The RFC 6962 poller of one log: get-sth every poll interval (verified
 * before anything is trusted), then get-entries for the new range in
 * batch_size windows, fetch_concurrency windows in flight, published strictly
 * in index order. A short response continues from the last index received;
 * 429, 5xx, timeouts and bad bodies back off exponentially (Retry-After
 * honoured). A shrinking tree, a bad signature or a response with more
 * entries than asked stops the log (ct_log_fail).
 */
#ifndef INGEST_CT_RFC6962_H
#define INGEST_CT_RFC6962_H

#include "ingest/ct.h"

/* Start polling l (l->poller is set). 0 or -1. */
int ct_rfc6962_start(struct ct_log *l);

/* Cancel timers and requests, free l->poller. */
void ct_rfc6962_stop(struct ct_log *l);

#endif
