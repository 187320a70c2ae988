/*
 * The listening sockets: one per worker, SO_REUSEPORT on the same address,
 * opened by the master before fork and kept for the daemon's lifetime, so a
 * replacement worker inherits its predecessor's queue. Helpers never log.
 */
#ifndef MASTER_LISTEN_H
#define MASTER_LISTEN_H

#include <stddef.h>

/* Open n non-blocking, close-on-exec TCP listeners on host:port into
 * fds[0..n), all or none, with SO_REUSEPORT (IPv6 for a ':' host,
 * dual-stack on "::"), after checking that nothing else listens there.
 * Returns 0, or -1 with err filled ("bind 127.0.0.1:8080: Address already
 * in use"). */
int listen_open_all(const char *host, int port, int *fds, int n, char *err,
    size_t errlen);

#endif
