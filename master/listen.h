/*
 * The listening sockets: one per worker, SO_REUSEPORT on the same address,
 * opened by the master before fork and kept for the daemon's lifetime, so a
 * replacement worker inherits its predecessor's queue. Helpers never log.
 */
#ifndef MASTER_LISTEN_H
#define MASTER_LISTEN_H

#include <stddef.h>

/* Open a non-blocking, close-on-exec TCP listener on host:port with
 * SO_REUSEPORT (IPv6 for a ':' host, dual-stack on "::"), after checking
 * that nothing else listens there. Returns the fd, or -1 with err filled
 * ("bind 127.0.0.1:8080: Address already in use"). */
int listen_open(const char *host, int port, char *err, size_t errlen);

/* Open n listeners into fds[0..n); all or none. */
int listen_open_all(const char *host, int port, int *fds, int n, char *err,
    size_t errlen);

#endif
