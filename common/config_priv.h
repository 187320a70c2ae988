/*
 * What the configuration's files share: the key table's row type, the
 * table itself (config_keys.c), the setter every source goes through
 * (config_set.c) and the YAML walker (config_yaml.c). Private to
 * common/config*.c.
 */
#ifndef COMMON_CONFIG_PRIV_H
#define COMMON_CONFIG_PRIV_H

#include <stddef.h>

#include "common/config.h"
#include "common/errbuf.h"

enum ktype {
	KT_STR,      /* char[] */
	KT_PATH,     /* char[], made absolute against the start directory */
	KT_INT,      /* int, bounds */
	KT_U64,      /* uint64_t, bounds, K/M/G[i][B] suffixes */
	KT_BOOL,     /* int 0/1 */
	KT_DOUBLE,   /* double, bounds */
	KT_LEVEL,    /* char[]: debug|info|warn|error */
	KT_SOURCE,   /* enum config_source: ct|replay|nats */
	KT_WORKERS,  /* int: N or auto (0) */
	KT_LOGTARGET,/* char[]: stderr|syslog|path */
	KT_STRLIST,  /* char[n][elem] + int count */
	KT_LOGLIST,  /* struct config_log[n] + int count */
};

struct ckey {
	const char *key;
	enum ktype type;
	size_t off, size;
	const char *def;
	double min, max;
	int reload;
	size_t cnt_off, elem, nmax;     /* lists */
	const char *alias;              /* certstream-server-rust env name */
};

/* At least as many rows as the table has (checked there): the size of
 * per-key arrays. */
#define CONFIG_NKEYS_MAX 256

/* ---- config_keys.c ---- */

extern const struct ckey config_keys[];
extern const size_t config_nkeys;

/* The row of key path ("ct_log.batch_size"), or NULL. */
const struct ckey *config_key_find(const char *path);

/* Is path a section ("ct_log") some keys live under? */
int config_key_is_section(const char *path);

static inline void *
config_field(struct config *cfg, const struct ckey *k)
{
	return (char *)cfg + k->off;
}

static inline const void *
config_cfield(const struct config *cfg, const struct ckey *k)
{
	return (const char *)cfg + k->off;
}

static inline int *
config_list_count(struct config *cfg, const struct ckey *k)
{
	return (int *)((char *)cfg + k->cnt_off);
}

/* ---- config_set.c ---- */


/* Take the directory relative paths are made absolute against (the one
 * the daemon started in), once. */
void config_base_dir_capture(void);

/* Copy v into dst[size]; a path is first made absolute. 0 or -1 (why). */
int config_set_string(char *dst, size_t size, const char *v, char *why,
    size_t wlen);
int config_set_path(char *dst, size_t size, const char *v, char *why,
    size_t wlen);

/* List keys: append one item of v (len bytes, trimmed; empty is skipped),
 * add an empty log, or empty the list. */
int config_strlist_add(struct config *cfg, const struct ckey *k, const char *v,
    size_t len, char *why, size_t wlen);
struct config_log *config_loglist_add(struct config *cfg, const struct ckey *k,
    char *why, size_t wlen);
void config_list_clear(struct config *cfg, const struct ckey *k);

/* Set key k from the text v: 0, or -1 with the reason in why. */
int config_key_set(struct config *cfg, const struct ckey *k, const char *v,
    char *why, size_t wlen);

/* ---- config_yaml.c ---- */

/* Apply the YAML file: 0, or -1 with "FILE:LINE: key: reason" in err.
 * lines[i] gets the line key i was set on. */
int config_read_file(struct config *cfg, const char *file, int *lines,
    char *err, size_t errlen);

#endif
