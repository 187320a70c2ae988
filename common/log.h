/*
 * Logging: one small API for every process. Targets: stderr (default),
 * syslog, or a file (reopened on SIGUSR1 via log_reopen()).
 * log_warn* append strerror(errno). fatal* log and exit(1): start-up only.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* target: "stderr", "syslog" or a file path. role prefixes each line
 * ("master", "ingest", "worker 1"). Returns 0 or -1 (file not writable). */
int log_init(const char *target, enum log_level level, const char *role);
void log_set_role(const char *role);
void log_set_level(enum log_level level);
int log_reopen(void);
/* SIGHUP: move to a new target only if it can be opened. 1: moved,
 * 0: it is the current one, -1: refused (the old one stays, errno set). */
int log_retarget(const char *target, enum log_level level);
int log_level_parse(const char *s, enum log_level *out);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
