/*
 * One client connection of a worker: request head, routing, WebSocket or SSE
 * streaming from the ring, plain HTTP answers, closing.
 *
 * A streaming client is a cursor (a ring seq) plus a few bytes of state: it
 * never holds messages. When its socket is writable it gets writev() straight
 * from shared memory, from the cursor up to head, within a byte budget.
 */
#ifndef BROADCAST_CLIENT_H
#define BROADCAST_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "broadcast/worker_ctx.h"

struct client;

/* Take over an accepted, non-blocking socket from peer sa (counted in the
 * connection limits, answered 429/503 if over them). Returns 0, or -1
 * (fd closed). */
int client_open(struct wctx *w, int fd, const struct sockaddr *sa);

/* Close: counters and limits released, unlinked from w->clients, its
 * events gone. Freed (socket closed, memory released) by the reaper after
 * the current callback returns, so c stays readable to whoever holds it;
 * every client_* call on it does nothing. Closing twice is harmless. */
void client_close(struct client *c);

/* The reaper: an event of w->base that frees the clients closed since it
 * last ran. _fini frees them at once (the worker's teardown, after its
 * last client_close) and the event with them. */
int client_reaper_init(struct wctx *w);
void client_reaper_fini(struct wctx *w);

/* New records may be in the ring: a caught-up streaming client writes them
 * now (unless it already waits for its socket to drain). */
void client_deliver(struct client *c);

/* Every tick (a quarter second): header timeout, idle WebSocket timeout,
 * lingering close. */
void client_tick(struct client *c);

/* Timers: heartbeat (wsframe: the WebSocket text frame, built once per
 * beat; SSE clients get a comment), WebSocket ping. */
void client_heartbeat(struct client *c, const uint8_t *wsframe, size_t wslen);
void client_ping(struct client *c);

/* Graceful stop: WebSocket close 1001, SSE stream ended after the record in
 * flight, anything else closed. */
void client_shutdown(struct client *c);

/* A streaming client with records up to head (or the rest of one) still to
 * send: a graceful stop waits for it a while before the closes. */
int client_behind(const struct client *c, uint64_t head);

/* Next client in w->clients (safe to fetch before client_* may free c). */
struct client *client_next(const struct client *c);

#endif
