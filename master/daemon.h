/*
 * -d: detach from the terminal. The starting process waits until the
 * daemon says it is up (or failed), so its exit status tells an init
 * script whether the start worked; errors during start-up still reach the
 * terminal because stdio is closed only once the daemon is ready.
 */
#ifndef MASTER_DAEMON_H
#define MASTER_DAEMON_H

#include <stddef.h>

/* Double fork and setsid; chdir("/"). Returns in the final process only,
 * with *notify_fd set for daemon_ready(). The original process exits 0
 * when daemon_ready() is called, 1 if the daemon exits first. Returns -1
 * with err filled if a fork fails (in the original process). */
int daemon_start(int *notify_fd, char *err, size_t errlen);

/* Tell the waiting parent the daemon is up, and point stdio at /dev/null. */
void daemon_ready(int notify_fd);

#endif
