#include "master/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static pid_t
pidfile_read(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

int
pidfile_open(const char *path, pid_t *running, char *err, size_t errlen)
{
	int fd;

	*running = 0;
	/* A symbolic link there would have us truncate its target as root. */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1) {
		snprintf(err, errlen, "pidfile %s: %s", path, errno == ELOOP ?
		    "is a symbolic link: refused" : strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int e = errno;

		if (e == EWOULDBLOCK) {
			*running = pidfile_read(fd);
			snprintf(err, errlen,
			    "already running (pid %ld, pidfile %s is locked)",
			    (long)*running, path);
		} else {
			snprintf(err, errlen, "pidfile %s: flock: %s", path,
			    strerror(e));
		}
		close(fd);
		return -1;
	}
	return fd;
}

int
pidfile_write(int fd, pid_t pid, char *err, size_t errlen)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);

	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "pidfile write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
pidfile_remove(int fd, const char *path)
{
	if (fd == -1)
		return;
	unlink(path);
	close(fd);
}
