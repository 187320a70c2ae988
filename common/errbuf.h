/*
 * An error buffer a helper fills for its caller (helpers do not log):
 * the one formatter of every such buffer.
 */
#ifndef COMMON_ERRBUF_H
#define COMMON_ERRBUF_H

#include <stddef.h>

/* snprintf into err, unless err is NULL or errlen 0; -1 always, so a
 * failing function can return it. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
