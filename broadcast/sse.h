/*
 * Server-Sent Events (WHATWG HTML §9.2) helpers for the workers: the
 * response head, the per-event prefix, comments, and Last-Event-ID
 * parsing. Pure: no I/O, no logging, no allocation; every writer fills a
 * caller buffer and returns the length, 0 if it does not fit.
 *
 * An event on the wire is SSE prefix + record JSON (one line) + "\n\n":
 *
 *   id: 918273\n
 *   data: {"message_type":...}\n
 *   \n
 */
#ifndef BROADCAST_SSE_H
#define BROADCAST_SSE_H

#include <stddef.h>
#include <stdint.h>

/* "id: " + 20 digits + "\ndata: " */
#define SSE_PREFIX_MAX 32
/* ": skipped " + 20 digits + " records\n\n" */
#define SSE_SKIPPED_MAX 48
/* "event: gap\ndata: " + the gap JSON (3 x 20 digits) + "\n\n" */
#define SSE_GAP_MAX 128
#define SSE_HEAD_MAX 512

#define SSE_HEARTBEAT ": heartbeat\n\n"
#define SSE_HEARTBEAT_LEN (sizeof(SSE_HEARTBEAT) - 1)
#define SSE_EVENT_END "\n\n"
#define SSE_EVENT_END_LEN 2

/* Parse a Last-Event-ID header value or ?lastEventId= value: plain decimal
 * u64, 1..20 digits, no sign, space or leading zero (except "0"), no
 * overflow. Returns 0 and sets *out, or -1. */
int sse_parse_last_event_id(const char *s, size_t len, uint64_t *out);

/* "id: N\ndata: " into out; returns its length, 0 if outlen is too small
 * (SSE_PREFIX_MAX always fits). */
size_t sse_event_prefix(char *out, size_t outlen, uint64_t id);

/* ": skipped N records\n\n" (loss is visible); returns length or 0. */
size_t sse_skipped_comment(char *out, size_t outlen, uint64_t n);

/* A stream that missed records (lapped, or resumed past what the ring
 * holds) is told before its next record: the gap JSON is
 * {"skipped":N,"from_id":A,"to_id":B} (A..B the ids not delivered, N how
 * many records this server issued among them). sse_gap_json writes it
 * (with prefix, e.g. "{\"message_type\":\"gap\"," for WebSocket, or "{"),
 * sse_gap_event the SSE event "event: gap\ndata: <json>\n\n", which has
 * no id: field (Last-Event-ID stays the last record's). Length or 0. */
size_t sse_gap_json(char *out, size_t outlen, const char *prefix, uint64_t n,
    uint64_t from, uint64_t to);
size_t sse_gap_event(char *out, size_t outlen, uint64_t n, uint64_t from,
    uint64_t to);

/* "HTTP/1.1 200 OK" head for text/event-stream: no-cache, CORS "*", no
 * proxy buffering, body delimited by close. retry_ms > 0 appends a
 * "retry:" field to the body start. Returns length or 0. */
size_t sse_response_head(char *out, size_t outlen, unsigned retry_ms);

#endif
