#include "master/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Deep enough for a burst of reconnects after a restart; the kernel caps it
 * at net.core.somaxconn. */
#define LISTEN_BACKLOG 4096

/*
 * SO_REUSEPORT would let a second daemon on the same port share its
 * connections without a word; a plain bind first fails with EADDRINUSE
 * when anything listens there already.
 */
static int
listen_probe(const struct addrinfo *ai, const char *host, int port, char *err,
    size_t errlen)
{
	int fd, on = 1, off = 0, rc = -1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* REUSEADDR: connections of a daemon that just stopped, in
	 * TIME_WAIT, do not count; a listener does. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		snprintf(err, errlen, "bind %s:%d: %s", host, port,
		    strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

static int
listen_open_one(const char *host, int port, int probe, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char portstr[16];
	int fd = -1, on = 1, off = 0, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "host %s: %s", host, gai_strerror(rc));
		return -1;
	}
	if (probe && listen_probe(res, host, port, err, errlen) == -1)
		goto fail;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
		snprintf(err, errlen, "setsockopt SO_REUSEPORT: %s",
		    strerror(errno));
		goto fail;
	}
	/* "::" serves IPv4 too, whatever the sysctl default says. */
	if (res->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == -1) {
		snprintf(err, errlen, "setsockopt IPV6_V6ONLY: %s",
		    strerror(errno));
		goto fail;
	}
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
		snprintf(err, errlen, "bind %s:%d: %s", host, port,
		    strerror(errno));
		goto fail;
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errlen, "listen %s:%d: %s", host, port,
		    strerror(errno));
		goto fail;
	}
	freeaddrinfo(res);
	return fd;
fail:
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

int
listen_open_all(const char *host, int port, int *fds, int n, char *err,
    size_t errlen)
{
	int i;

	for (i = 0; i < n; i++) {
		/* Only the first checks that the port is free: the others
		 * join it. */
		if ((fds[i] = listen_open_one(host, port, i == 0, err,
		    errlen)) == -1)
			goto fail;
	}
	return 0;
fail:
	while (i-- > 0) {
		close(fds[i]);
		fds[i] = -1;
	}
	return -1;
}
