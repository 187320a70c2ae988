/*
 * The publisher's in-order acknowledgement window (rules in nats_win.h).
 */
#include "ingest/nats_win.h"

#include <stdlib.h>

static struct nwin_item *
nwin_at(struct nwin *w, size_t off)
{
	return &w->q[(w->first + off) % w->cap];
}

int
nwin_init(struct nwin *w, size_t cap)
{
	*w = (struct nwin){ 0 };
	if (cap == 0 || (w->q = calloc(cap, sizeof(*w->q))) == NULL)
		return -1;
	w->cap = cap;
	return 0;
}

void
nwin_free(struct nwin *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(nwin_at(w, i)->msg);
	free(w->q);
	*w = (struct nwin){ 0 };
}

void
nwin_push(struct nwin *w, const struct nwin_item *it)
{
	struct nwin_item *d = nwin_at(w, w->n);

	*d = *it;
	d->state = NWIN_QUEUED;
	d->tok = NULL;
	w->n++;
}

struct nwin_item *
nwin_next(struct nwin *w, size_t max, const void *tok)
{
	struct nwin_item *it;

	if (w->rewind) {
		if (w->inflight > 0)
			return NULL;
		/* every answer is in: start again at the first not acked */
		w->rewind = 0;
		w->next = 0;
	}
	for (; w->next < w->n; w->next++) {
		it = nwin_at(w, w->next);
		if (it->state == NWIN_ACKED)
			continue;
		if (it->msg == NULL) {
			it->state = NWIN_ACKED;
			continue;
		}
		if (w->inflight >= max)
			return NULL;
		it->state = NWIN_SENT;
		it->tok = tok;
		w->inflight++;
		w->next++;
		return it;
	}
	return NULL;
}

void
nwin_unsend(struct nwin *w, struct nwin_item *it)
{
	size_t off = ((size_t)(it - w->q) + w->cap - w->first) % w->cap;

	if (it->state != NWIN_SENT)
		return;
	it->state = NWIN_QUEUED;
	it->tok = NULL;
	w->inflight--;
	if (off < w->next)
		w->next = off;
}

int
nwin_answer(struct nwin *w, const void *tok, int ok)
{
	struct nwin_item *it;

	for (size_t i = 0; i < w->n; i++) {
		it = nwin_at(w, i);
		if (it->state != NWIN_SENT || it->tok != tok)
			continue;
		it->tok = NULL;
		w->inflight--;
		if (ok)
			it->state = NWIN_ACKED;
		else {
			it->state = NWIN_QUEUED;
			w->rewind = 1;
		}
		return 0;
	}
	return -1;
}

int
nwin_pop(struct nwin *w, struct nwin_item *out)
{
	struct nwin_item *it;

	if (w->n == 0 || (it = nwin_at(w, 0))->state != NWIN_ACKED)
		return 0;
	*out = *it;
	it->msg = NULL;
	w->first = (w->first + 1) % w->cap;
	w->n--;
	if (w->next > 0)
		w->next--;
	return 1;
}
