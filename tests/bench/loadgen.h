/*
 * Load generator for certstream benchmarks (tests/bench/loadgen*.c).
 *
 *   client mode      N WebSocket/SSE clients over P processes; latency =
 *                    receive time - data.seen (CLOCK_REALTIME, same host)
 *   --raw-server     the ceiling: fan-out of pre-framed messages with one
 *                    writev per client per batch
 *   --publish URL    keep-alive HTTP POST publisher (for nchan)
 *   --churn RATE     filtered WebSocket clients that connect and leave
 *                    (loadgen_churn.c)
 *
 * Every figure is printed as a "key value" line, then a human summary.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stddef.h>
#include <stdint.h>

/* Latency histogram in microseconds: 64 exact buckets, then 32 per power of
 * two (about 3% resolution), up to 2^40 us. Plain counters: one per process,
 * merged by the parent. */
#define LG_HIST_BUCKETS (64 + 35 * 32)

struct lg_hist {
	uint64_t count;
	uint64_t max_us;
	double sum_us;
	uint64_t b[LG_HIST_BUCKETS];
};

void lg_hist_add(struct lg_hist *h, int64_t us);
void lg_hist_merge(struct lg_hist *into, const struct lg_hist *from);
/* The value at quantile q (0..1), in microseconds: the upper edge of its
 * bucket. 0 when empty. */
double lg_hist_quantile(const struct lg_hist *h, double q);

/* Messages loaded from an NDJSON feed of certificate_update lines, turned
 * into the lite variant (no as_der, no chain) with a fixed-width "seen"
 * placeholder that lg_msgs_stamp overwrites in place. */
#define LG_SEEN_LEN 17 /* "1000000000.000000" */

struct lg_msg {
	char *json;     /* lite JSON */
	size_t len;
	size_t seen_at; /* offset of the seen digits in json */
};

struct lg_msgs {
	struct lg_msg *m;
	size_t n;
	size_t max_len;
	int64_t *index; /* cert_index of each message, feed order */
};

int lg_msgs_load(struct lg_msgs *ms, const char *path, char *err, size_t errlen);
void lg_msgs_free(struct lg_msgs *ms);
/* Write the seen digits for time us (realtime microseconds) at dst. */
void lg_seen_format(char *dst, int64_t us);

int64_t lg_now_us(void);       /* CLOCK_REALTIME */
int64_t lg_mono_us(void);      /* CLOCK_MONOTONIC */
/* Find the seen value and cert_index in a message (searching from its end,
 * where they are); -1 when absent. */
int lg_parse_msg(const char *p, size_t len, int64_t *seen_us, int64_t *cert_index,
    int *heartbeat);

/* Per-process client statistics, in shared memory so the parent merges. */
struct lg_stats {
	uint64_t connected;     /* handshakes completed */
	uint64_t connect_errors;
	uint64_t closed;        /* connections the server closed */
	uint64_t proto_errors;
	uint64_t messages;      /* data messages in the window */
	uint64_t bytes;         /* bytes read in the window */
	uint64_t heartbeats;
	uint64_t gaps;          /* gap events (out-of-order or skip) */
	uint64_t skipped;       /* messages missing according to the sequence */
	uint64_t unparsed;      /* messages without seen */
	uint64_t total_messages; /* whole run, window or not */
	int64_t connect_done_us; /* realtime when this process had all clients */
	struct lg_hist lat;
};

struct lg_client_opts {
	const char *host;
	int port;
	const char *src;        /* source address to bind, or NULL */
	int nclients;           /* this process */
	int nstall;             /* of which this many never read */
	double ramp;            /* connections per second, this process (0 = all) */
	const char **paths;     /* stream mix: one path per client slot */
	int npaths;
	const int *weights;
	const struct lg_msgs *feed; /* cert_index sequence for gap checks, or NULL */
	int idle;               /* connect, hold, never count */
	/* [start, end) realtime of the counting window, set by the parent in
	 * shared memory once every process has connected; 0 = not yet */
	const volatile int64_t *win;
	int64_t hard_end_us;    /* give up connecting and stop here */
};

/* Run one client process to the end of its window; fills st. */
int lg_client_run(const struct lg_client_opts *o, struct lg_stats *st);

struct lg_raw_opts {
	const char *host;
	int port;
	double rate;            /* messages per second; 0 = saturating */
	int batch;              /* messages published per loop turn (saturating) */
	const struct lg_msgs *msgs;
	double duration;        /* seconds after the first client; 0 = until SIGTERM */
};

/* A listening socket on host:port with SO_REUSEPORT, or -1. */
int lg_raw_listen(const char *host, int port);
/* Serve on lfd until SIGTERM/SIGINT (or duration); prints raw_* lines. */
int lg_raw_run(const struct lg_raw_opts *o, int lfd);

struct lg_pub_opts {
	const char *host;
	int port;
	const char *path;
	double rate;
	double duration;
	int conns;              /* parallel keep-alive connections */
	const struct lg_msgs *msgs;
};

int lg_pub_run(const struct lg_pub_opts *o);

struct lg_churn_opts {
	const char *host;
	int port;
	double rate;            /* new clients a second */
	double duration;        /* seconds of arrivals */
	int hold_ms;            /* a client stays this long after its 101 */
	const char *paths_file; /* filter paths, one a line, taken in turn */
};

/* Run the churn to its end; prints churn_* and probe lines. */
int lg_churn_run(const struct lg_churn_opts *o);

#endif
