/*
 * The state one RFC 6962 poller shares between its files: ct_rfc6962.c
 * (its life and tree heads), ct_rfc6962_win.c (get-entries windows and
 * publishing) and ct_rfc6962_hold.c (entries checked against the heads).
 * Private to them.
 */
#ifndef INGEST_CT_RFC6962_PRIV_H
#define INGEST_CT_RFC6962_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "ingest/ct.h"
#include "ingest/ct_pace.h"
#include "ingest/ct_rfc6962.h"
#include "ingest/fetch.h"

#define MAX_WINDOWS 64
#define HOLD_MAX 2048           /* entries held back for the head's check */
/* What a parsed entry costs beyond its bytes in the body: json-c's object
 * with its 16-slot hash table, two keys and two string objects. */
#define ENTRY_OVERHEAD 1024

struct win {
	int used;
	uint64_t start, end;        /* inclusive, within the verified tree */
	struct fetch_req *req;
	int done, failed;
	json_object *root;          /* the parsed body while done */
	json_object *entries;
	size_t n;
	size_t bytes;               /* counted against the budget while done */
	int attempts;               /* undecodable responses for this start */
	int slot;                   /* holds one of the operator's slots */
	struct r6962 *p;
	/* The hold check's work, kept for publishing so that no leaf is
	 * decoded or hashed twice: entry i < nlv has its leaf_input decoded
	 * at leaves + lv[i].off (lv[i].len, -1 when not base64) and, with
	 * lv[i].hashed, its leaf hash. */
	struct win_leaf {
		size_t off;
		long len;
		int hashed;
		uint8_t h[STH_HASH_LEN];
	} *lv;
	size_t nlv;
	uint8_t *leaves;
	size_t leaves_len, leaves_cap;
};

struct r6962 {
	struct ct_log *l;
	struct ct_pace pace;
	struct fetch_req *sth_req;
	uint64_t tree_size;         /* last verified */
	int have_tree;
	struct sth last;            /* the last verified STH, byte for byte */
	int fresh;                  /* a head verified by this run: fetch */
	struct sth pending;         /* signed, larger, awaiting its proof */
	struct fetch_req *cons_req; /* get-sth-consistency in flight */
	struct sth_frontier fr;     /* of entries 0..l->next-1, when bound */
	int bound;
	uint64_t hold_size;         /* the hold target's size; 0: none */
	uint8_t hold_root[STH_HASH_LEN];
	int hold_checked;           /* all below it in and checked (or not checkable) */
	uint64_t resp_cap;          /* largest short get-entries answer: the log's page */
	uint64_t fetch_next;        /* next index not yet in a window */
	size_t entry_bytes;         /* what the last answer cost an entry; 0: none yet */
	struct win win[MAX_WINDOWS];
	int nwin_max;
	struct ct_rfc6962_scratch scratch;
};

/* ---- ct_rfc6962.c ---- */

/* Cancel everything: the log failed. */
void ct_rfc6962_halt(struct r6962 *p);

/* ---- ct_rfc6962_win.c ---- */

/* Request what the verified tree holds beyond what is in flight. */
void ct_rfc6962_fill(struct r6962 *p);

/* Publish complete windows from the front. */
void ct_rfc6962_drain(struct r6962 *p);

/* Cancel window w and let go of its answer (and its operator slot). */
void ct_rfc6962_win_clear(struct win *w);

/* The window starting at start, or NULL. */
struct win *ct_rfc6962_win_at(struct r6962 *p, uint64_t start);

/* A free window slot, or NULL. */
struct win *ct_rfc6962_win_free(struct r6962 *p);

/* Drop w's answer and ask again from start. */
void ct_rfc6962_win_again(struct r6962 *p, struct win *w, uint64_t start);

/* A short answer: the rest becomes a window of its own. 0, or -1 when
 * no slot is free. */
int ct_rfc6962_split(struct r6962 *p, struct win *w);

/* ---- ct_rfc6962_hold.c ---- */

/* Entry idx is about to be published or passed: add its leaf (or its
 * leaf hash, hashed) to the frontier. */
void ct_rfc6962_bind_leaf(struct r6962 *p, uint64_t idx, const uint8_t *leaf,
    long leaf_len, const uint8_t *hashed);

/* The frontier reached the last verified head: 0, or -1 (the log
 * failed) when its root is not the head's. */
int ct_rfc6962_check_bound(struct r6962 *p);

/* End a reached hold target; take the last verified head as the next one
 * when it is close enough. */
void ct_rfc6962_hold_begin(struct r6962 *p);

/* Before publishing the front window: 1 to wait, 0 to go on, -1 failed. */
int ct_rfc6962_hold_wait(struct r6962 *p);

#endif
