/*
 * The publisher's window of entries (nats_pub.c), kept apart so that its
 * rules can be unit-tested without a server: entries wait in log order;
 * several are sent at once (in flight); an acknowledgement may come for
 * any of them, but an entry leaves the window, and its log's resume point
 * moves past it, only once it and every entry before it are acknowledged.
 * A failed entry makes the window rewind: nothing more is sent until every
 * entry in flight is answered, then every entry not acknowledged is sent
 * again, in order (the stream drops what it already has by Msg-Id).
 *
 * No locking here: the caller holds its own lock around every call.
 */
#ifndef INGEST_NATS_WIN_H
#define INGEST_NATS_WIN_H

#include <stddef.h>
#include <stdint.h>

enum nwin_state { NWIN_QUEUED, NWIN_SENT, NWIN_ACKED };

struct nwin_item {
	void *st;               /* the log's status slot (opaque here) */
	uint64_t urlh;          /* the slot's URL hash when queued */
	uint64_t index;         /* the entry's index in its log */
	uint8_t *msg;           /* envelope, NULL: nothing to publish */
	size_t len;
	char id[65];            /* Msg-Id */
	enum nwin_state state;
	const void *tok;        /* what the acknowledgement names (SENT) */
};

struct nwin {
	struct nwin_item *q;    /* cap entries, a circular FIFO */
	size_t cap, first, n;
	size_t next;            /* offset from first of the next to look at */
	size_t inflight;        /* entries SENT */
	int rewind;             /* a send failed: resend once inflight is 0 */
};

/* 0, or -1 (out of memory). */
int nwin_init(struct nwin *w, size_t cap);
/* Frees the envelopes still in it, and the window. */
void nwin_free(struct nwin *w);

static inline int
nwin_full(const struct nwin *w)
{
	return w->n == w->cap;
}

/* Add an entry at the end (QUEUED); the window takes its envelope. The
 * caller checks nwin_full() first. */
void nwin_push(struct nwin *w, const struct nwin_item *it);

/*
 * The next entry to send, marked SENT with token tok, or NULL: nothing to
 * send, max entries already in flight, or a rewind waiting for answers.
 * Entries with no envelope are acknowledged on the way, in order.
 */
struct nwin_item *nwin_next(struct nwin *w, size_t max, const void *tok);

/* The send of it did not happen: it is QUEUED again, and sent next. */
void nwin_unsend(struct nwin *w, struct nwin_item *it);

/* The answer for token tok: acknowledged (ok) or failed. 0, or -1 when no
 * entry in flight has that token (an answer after a rewind: ignored). */
int nwin_answer(struct nwin *w, const void *tok, int ok);

/* The first entry if it is acknowledged: copied to out (the caller frees
 * out->msg) and removed; 1, else 0. */
int nwin_pop(struct nwin *w, struct nwin_item *out);

#endif
