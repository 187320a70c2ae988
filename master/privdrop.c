/*
 * The children's user: resolved once at start-up, switched to in each
 * child after fork, and checked against the files the children open.
 */
#include "master/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "ingest/loglist.h"

int
privdrop_resolve(const struct config *cfg, struct privdrop *p, char *err,
    size_t errlen)
{
	const char *name = cfg->user;
	struct passwd *pw;
	struct group *gr;

	memset(p, 0, sizeof(*p));
	if (name[0] == '\0' || strcmp(name, "root") == 0)
		return 0;
	if (strcmp(name, "auto") == 0) {
		if (geteuid() != 0)
			return 0;
		if (getpwnam(PRIVDROP_USER) != NULL)
			name = PRIVDROP_USER;
		else {
			name = PRIVDROP_FALLBACK;
			snprintf(p->note, sizeof(p->note), "user: auto: no user \"%s\" "
			    "on this system: the ingest and workers run as \"%s\"",
			    PRIVDROP_USER, PRIVDROP_FALLBACK);
		}
	}
	if ((pw = getpwnam(name)) == NULL)
		return errbuf_set(err, errlen, "user: no such user \"%s\"",
		    name);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	if (cfg->group[0] != '\0') {
		if ((gr = getgrnam(cfg->group)) == NULL)
			return errbuf_set(err, errlen,
			    "group: no such group \"%s\"", cfg->group);
		p->gid = gr->gr_gid;
	}
	if (geteuid() == 0) {
		p->drop = 1;
		return 0;
	}
	if (geteuid() != p->uid)
		return errbuf_set(err, errlen,
		    "user: switching to \"%s\" needs root", name);
	return 0;
}

int
privdrop_apply(const struct privdrop *p)
{
	if (!p->drop)
		return 0;
	if (setgroups(1, &p->gid) == -1 || setgid(p->gid) == -1 ||
	    setuid(p->uid) == -1)
		return -1;
	return 0;
}

/* access(2) for path in mode: 0, or -1 with what[] saying why not. */
static int
can(const char *path, int mode, char *what, size_t wlen)
{
	if (access(path, mode) == 0)
		return 0;
	snprintf(what, wlen, "%s: %s", path, strerror(errno));
	return -1;
}

/* The checks, in the switched child: 0, or -1 with msg filled. */
static int
check_paths(const struct config *cfg, char *msg, size_t len)
{
	char what[2 * CONFIG_STR + 128], dir[CONFIG_STR];
	const char *key = NULL, *f = cfg->ct_log.state_file;

	/* The state file is read at start and replaced by a temporary made
	 * beside it: its directory must be writable, the file readable. */
	if (cfg->source == SOURCE_CT && f[0] != '\0') {
		snprintf(dir, sizeof(dir), "%s", f);
		if (access(dirname(dir), W_OK | X_OK) == -1) {
			snprintf(what, sizeof(what), "%s: its directory %s is not "
			    "writable: %s", f, dir, strerror(errno));
			key = "ct_log.state_file";
		} else if (access(f, F_OK) == 0 &&
		    can(f, R_OK, what, sizeof(what)) == -1)
			key = "ct_log.state_file";
	}
	if (key == NULL && cfg->source == SOURCE_REPLAY &&
	    can(cfg->replay.file, R_OK, what, sizeof(what)) == -1)
		key = "replay.file";
	if (key == NULL && cfg->source == SOURCE_CT &&
	    !loglist_is_url(cfg->ct_logs_url) &&
	    can(cfg->ct_logs_url, R_OK, what, sizeof(what)) == -1)
		key = "ct_logs_url";
	if (key == NULL && cfg->tls.cert[0] != '\0' &&
	    can(cfg->tls.cert, R_OK, what, sizeof(what)) == -1)
		key = "tls.cert";
	if (key == NULL && cfg->tls.key[0] != '\0' &&
	    can(cfg->tls.key, R_OK, what, sizeof(what)) == -1)
		key = "tls.key";
	if (key == NULL)
		return 0;
	snprintf(msg, len, "%s: %s", key, what);
	return -1;
}

int
privdrop_check(const struct privdrop *p, const struct config *cfg,
    char *err, size_t errlen)
{
	char msg[2 * CONFIG_STR + 256];
	int fds[2], status, rc = -1;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	if (!p->drop)
		return 0;
	if (pipe(fds) == -1)
		return errbuf_set(err, errlen, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		errbuf_set(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		if (privdrop_apply(p) == -1)
			snprintf(msg, sizeof(msg), "drop privileges to uid %ld "
			    "gid %ld: %s", (long)p->uid, (long)p->gid,
			    strerror(errno));
		else if (check_paths(cfg, msg, sizeof(msg)) == 0)
			_exit(0);
		(void)!write(fds[1], msg, strlen(msg));
		_exit(1);
	}
	close(fds[1]);
	fds[1] = -1;
	memset(msg, 0, sizeof(msg));
	while (got < sizeof(msg) - 1 &&
	    ((n = read(fds[0], msg + got, sizeof(msg) - 1 - got)) > 0 ||
	    (n == -1 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "%s (as user \"%s\", whom the ingest and "
		    "workers run as): give that user access, or see user: in "
		    "certstream.conf", got ? msg : "check failed", p->name);
out:
	close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	return rc;
}
