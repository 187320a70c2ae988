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

int
listen_open(const char *host, int port, char *err, size_t errlen)
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
		if ((fds[i] = listen_open(host, port, err, errlen)) == -1)
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
