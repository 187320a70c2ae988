#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/utf8.h"

static enum log_level log_min = LOG_LVL_INFO;
static int log_to_syslog;
static FILE *log_fp;            /* NULL: stderr */
static char log_path[512];
static char log_target[512] = "stderr";   /* as given to log_init */
static char log_role[32] = "certstreamd";

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int
log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

int
log_init(const char *target, enum log_level level, const char *role)
{
	log_min = level;
	if (role)
		log_set_role(role);
	if (log_fp) {
		fclose(log_fp);
		log_fp = NULL;
	}
	log_to_syslog = 0;
	log_path[0] = '\0';
	snprintf(log_target, sizeof(log_target), "%s",
	    target == NULL || *target == '\0' ? "stderr" : target);
	if (target == NULL || strcmp(target, "stderr") == 0 || *target == '\0')
		return 0;
	if (strcmp(target, "syslog") == 0) {
		openlog("certstreamd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_to_syslog = 1;
		return 0;
	}
	snprintf(log_path, sizeof(log_path), "%s", target);
	return log_reopen();
}

int
log_retarget(const char *target, enum log_level level)
{
	const char *t = target == NULL || *target == '\0' ? "stderr" : target;
	FILE *f;

	log_min = level;
	if (strcmp(t, log_target) == 0)
		return 0;
	if (strcmp(t, "stderr") != 0 && strcmp(t, "syslog") != 0) {
		/* try it before letting go of the running one */
		if ((f = fopen(t, "a")) == NULL)
			return -1;
		fclose(f);
	}
	/* the old target says where the lines go next */
	log_info("reload: logging to %s from now on", t);
	return log_init(t, level, NULL) == -1 ? -1 : 1;
}

void
log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

int
log_reopen(void)
{
	FILE *fp;

	if (log_path[0] == '\0')
		return 0;
	fp = fopen(log_path, "a");
	if (fp == NULL)
		return -1;
	setvbuf(fp, NULL, _IOLBF, 0);
	if (log_fp)
		fclose(log_fp);
	log_fp = fp;
	return 0;
}

/* Length of the valid UTF-8 character at s (n bytes left) that is no C1
 * control (U+0080..U+009F, "\xc2\x80".."\xc2\x9f"), or 0. */
static size_t
log_char_len(const unsigned char *s, size_t n)
{
	size_t k = utf8_char_len(s, n);

	return k == 2 && s[0] == 0xc2 && s[1] < 0xa0 ? 0 : k;
}

/*
 * Messages carry text from CT logs (checkpoint origins, error bodies): a
 * newline in it would forge a log line, an ESC drive the reader's terminal.
 * Controls, DEL and bytes that are not UTF-8 become \xNN; out always ends
 * in a NUL, cut short if it must.
 */
static void
log_escape(char *out, size_t outlen, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), o = 0, i = 0, k;

	while (i < n) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			k = 1;
		} else if (s[i] >= 0x80 && (k = log_char_len(s + i, n - i)) > 0) {
			;
		} else {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[i] >> 4];
			out[o++] = hex[s[i] & 0xf];
			i++;
			continue;
		}
		if (o + k >= outlen)
			break;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
}

static void __attribute__((format(printf, 3, 0)))
log_vemit(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	static const int sys_prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
	char msg[2048], esc[4 * sizeof(msg)];
	int saved = errno;
	int n;

	if (lvl < log_min)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(saved));
	log_escape(esc, sizeof(esc), msg);
	if (log_to_syslog) {
		syslog(sys_prio[lvl], "%s: %s", log_role, esc);
	} else {
		struct timeval tv;
		struct tm tm;
		char ts[32];

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(log_fp ? log_fp : stderr, "%s.%03ldZ [%d] %s %s: %s\n", ts,
		    (long)(tv.tv_usec / 1000), (int)getpid(), level_names[lvl],
		    log_role, esc);
	}
	errno = saved;
}

/* One logging function: emit at lvl (err: with strerror), then do "then"
 * (exit(1) for fatal and fatalx). */
#define LOG_FN(name, lvl, err, then)           \
	void name(const char *fmt, ...)        \
	{                                      \
		va_list ap;                    \
		va_start(ap, fmt);             \
		log_vemit(lvl, err, fmt, ap);  \
		va_end(ap);                    \
		then;                          \
	}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0, (void)0)
LOG_FN(log_info, LOG_LVL_INFO, 0, (void)0)
LOG_FN(log_warnx, LOG_LVL_WARN, 0, (void)0)
LOG_FN(log_warn, LOG_LVL_WARN, 1, (void)0)
LOG_FN(log_error, LOG_LVL_ERROR, 0, (void)0)
LOG_FN(fatal, LOG_LVL_ERROR, 1, exit(1))
LOG_FN(fatalx, LOG_LVL_ERROR, 0, exit(1))
