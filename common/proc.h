/*
 * What /proc says about a process: the one reader of its files.
 */
#ifndef COMMON_PROC_H
#define COMMON_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Resident bytes of pid, or of this process when pid is 0, from
 * /proc/<pid>/statm (readable by any user). Returns 0 with *bytes set, or
 * -1 when it cannot be read (no such process, no /proc); does not log. */
int proc_rss(pid_t pid, uint64_t *bytes);

#endif
