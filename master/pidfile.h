/*
 * The pidfile, locked with flock() for as long as the daemon runs: a second
 * instance finds the lock taken and refuses; a pidfile left by a killed
 * daemon holds no lock and is simply taken over. Helpers never log.
 */
#ifndef MASTER_PIDFILE_H
#define MASTER_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Open and lock path. Returns the fd, or -1 with err filled; if another
 * process holds the lock, *running is set to its pid (from the file, 0 if
 * unreadable) and err says so. */
int pidfile_open(const char *path, pid_t *running, char *err, size_t errlen);

/* Write pid (replacing the content). 0 or -1 with err. */
int pidfile_write(int fd, pid_t pid, char *err, size_t errlen);

/* Unlink path and close fd (at exit). */
void pidfile_remove(int fd, const char *path);

#endif
