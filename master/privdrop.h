/*
 * Who the ingest and the workers run as (`user:`/`group:`), the switch to
 * that user in each child, and a check, made before the children start,
 * that this user can reach the files they open. The master itself keeps
 * its privileges: it binds the port, creates the segment, writes the
 * pidfile and reopens its log. Helpers never log: they fill err.
 */
#ifndef MASTER_PRIVDROP_H
#define MASTER_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

#include "common/config.h"

/* user: auto takes this user when it exists, else PRIVDROP_FALLBACK. */
#define PRIVDROP_USER "certstream"
#define PRIVDROP_FALLBACK "nobody"

struct privdrop {
	int drop;           /* the children switch to uid/gid */
	uid_t uid;
	gid_t gid;
	char name[64];      /* the user they run as ("" = the master's own) */
	char note[160];     /* user: auto fell back to PRIVDROP_FALLBACK: why */
};

/*
 * Resolve cfg->user and cfg->group. "" and "root" keep the master's user;
 * "auto" is PRIVDROP_USER, else PRIVDROP_FALLBACK (note says so), and only
 * when started as root (a daemon started as a user has nothing to drop);
 * any other name must exist, and switching to it needs root unless it is
 * already the master's. 0, or -1 with err.
 */
int privdrop_resolve(const struct config *cfg, struct privdrop *p, char *err,
    size_t errlen);

/* Switch this process to p's uid and gid (supplementary groups cleared).
 * 0, or -1 with errno set. A no-op when p->drop is 0. */
int privdrop_apply(const struct privdrop *p);

/*
 * In a child switched to p's user: can it read and write what the ingest
 * and the workers will open (the state file and its directory, the replay
 * file, a log list given as a file, the TLS files, a log file)? 0 when it
 * can or nothing is dropped, -1 with err naming the key, the path and the
 * user otherwise.
 */
int privdrop_check(const struct privdrop *p, const struct config *cfg,
    char *err, size_t errlen);

#endif
