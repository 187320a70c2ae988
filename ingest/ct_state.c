/*
 * Per-log resume points on disk, written atomically.
 */
#include "ingest/ct_state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#define STATE_MAX_BYTES (4 * 1024 * 1024)

void
ct_state_init(struct ct_state *st)
{
	memset(st, 0, sizeof(*st));
}

void
ct_state_free(struct ct_state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->e[i].url);
	free(st->e);
	memset(st, 0, sizeof(*st));
}

int
ct_state_get(const struct ct_state *st, const char *url, uint64_t *next)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		if (strcmp(st->e[i].url, url) == 0) {
			*next = st->e[i].next;
			return 0;
		}
	}
	return -1;
}

static struct ct_state_entry *
find(const struct ct_state *st, const char *url)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->e[i].url, url) == 0)
			return &st->e[i];
	return NULL;
}

int
ct_state_get_head(const struct ct_state *st, const char *url, uint64_t *size,
    uint8_t root[32])
{
	const struct ct_state_entry *e = find(st, url);

	if (e == NULL || !e->have_head)
		return -1;
	*size = e->tree_size;
	memcpy(root, e->root, 32);
	return 0;
}

void
ct_state_clear_head(struct ct_state *st, const char *url)
{
	struct ct_state_entry *e = find(st, url);

	if (e != NULL)
		e->have_head = 0;
}

int
ct_state_set_head(struct ct_state *st, const char *url, uint64_t size,
    const uint8_t root[32])
{
	struct ct_state_entry *e = find(st, url);

	if (e == NULL)
		return -1;
	e->have_head = 1;
	e->tree_size = size;
	memcpy(e->root, root, 32);
	return 0;
}

int
ct_state_set_id(struct ct_state *st, const char *url, const char *log_id)
{
	struct ct_state_entry *e = find(st, url);

	if (e == NULL || strlen(log_id) >= sizeof(e->log_id))
		return -1;
	memcpy(e->log_id, log_id, strlen(log_id) + 1);
	return 0;
}

int
ct_state_follow(struct ct_state *st, const char *url, const char *log_id,
    char *from, size_t fromlen)
{
	struct ct_state_entry *e = NULL;
	char *u;
	size_t i;

	if (log_id[0] == '\0' || find(st, url) != NULL)
		return 0;
	for (i = 0; i < st->n && e == NULL; i++)
		if (strcmp(st->e[i].log_id, log_id) == 0)
			e = &st->e[i];
	if (e == NULL)
		return 0;
	if ((u = strdup(url)) == NULL)
		return -1;
	snprintf(from, fromlen, "%s", e->url);
	free(e->url);
	e->url = u;
	return 1;
}

int
ct_state_set(struct ct_state *st, const char *url, uint64_t next)
{
	size_t i;
	char *u;

	for (i = 0; i < st->n; i++) {
		if (strcmp(st->e[i].url, url) == 0) {
			st->e[i].next = next;
			return 0;
		}
	}
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 16;
		struct ct_state_entry *ne = realloc(st->e, ncap * sizeof(*ne));

		if (ne == NULL)
			return -1;
		st->e = ne;
		st->cap = ncap;
	}
	u = strdup(url);
	if (u == NULL)
		return -1;
	memset(&st->e[st->n], 0, sizeof(st->e[st->n]));
	st->e[st->n].url = u;
	st->e[st->n].next = next;
	st->n++;
	return 0;
}

static int
hex_decode(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int
get_index(json_object *o, uint64_t *v)
{
	if (o == NULL || !json_object_is_type(o, json_type_int) ||
	    json_object_get_int64(o) < 0)
		return -1;
	*v = json_object_get_uint64(o);
	return 0;
}

/* One log: N (older files), or {"next": N[, "tree_size": S,
 * "root_hash": hex][, "log_id": base64]}. */
static int
entry_load(struct ct_state *st, const char *url, json_object *val, char *err,
    size_t errlen)
{
	json_object *o;
	uint64_t next, size;
	uint8_t root[32];
	const char *hex;

	if (json_object_is_type(val, json_type_int)) {
		if (get_index(val, &next) < 0)
			goto bad;
		if (ct_state_set(st, url, next) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (!json_object_is_type(val, json_type_object) ||
	    !json_object_object_get_ex(val, "next", &o) ||
	    get_index(o, &next) < 0)
		goto bad;
	if (ct_state_set(st, url, next) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (json_object_object_get_ex(val, "log_id", &o) &&
	    (!json_object_is_type(o, json_type_string) ||
	    ct_state_set_id(st, url, json_object_get_string(o)) < 0))
		goto bad;
	if (!json_object_object_get_ex(val, "tree_size", &o))
		return 0;
	if (get_index(o, &size) < 0 ||
	    !json_object_object_get_ex(val, "root_hash", &o) ||
	    !json_object_is_type(o, json_type_string) ||
	    (hex = json_object_get_string(o)) == NULL ||
	    hex_decode(hex, root) < 0)
		goto bad;
	(void)ct_state_set_head(st, url, size, root);
	return 0;
bad:
	snprintf(err, errlen, "\"%.100s\" is not a resume point", url);
	return -1;
}

int
ct_state_load(struct ct_state *st, const char *path, char *err,
    size_t errlen)
{
	struct ct_state tmp;
	json_object *root = NULL;
	char *buf = NULL;
	ssize_t r;
	size_t len = 0;
	int fd, rc = -1;

	ct_state_init(&tmp);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			ct_state_free(st);
			return 0;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(STATE_MAX_BYTES + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	while ((r = read(fd, buf + len, STATE_MAX_BYTES - len)) > 0)
		len += (size_t)r;
	if (r < 0 || len == STATE_MAX_BYTES) {
		snprintf(err, errlen, "%s: %s", path, r < 0 ? strerror(errno) :
		    "too large");
		goto done;
	}
	buf[len] = '\0';
	root = json_tokener_parse(buf);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		goto done;
	}
	json_object_object_foreach(root, key, val) {
		if (entry_load(&tmp, key, val, err, errlen) < 0) {
			size_t l = strlen(err);

			snprintf(err + l, errlen - l, " (%s)", path);
			goto done;
		}
	}
	ct_state_free(st);
	*st = tmp;
	ct_state_init(&tmp);
	rc = 0;
done:
	ct_state_free(&tmp);
	json_object_put(root);
	free(buf);
	close(fd);
	return rc;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Add a new value to o; a NULL value (allocation failed) is an error,
 * not a JSON null. */
static int
obj_add(json_object *o, const char *key, json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int
ct_state_save(const struct ct_state *st, const char *path, char *err,
    size_t errlen)
{
	json_object *root = NULL;
	char tmp[4096], dir[4096];
	const char *text = NULL;
	size_t i;
	int fd = -1, dfd = -1, made = 0, rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "state file path too long");
		goto done;
	}
	snprintf(err, errlen, "out of memory");
	if ((root = json_object_new_object()) == NULL)
		goto done;
	for (i = 0; i < st->n; i++) {
		const struct ct_state_entry *e = &st->e[i];
		json_object *v = json_object_new_object();
		char hex[65];

		if (v == NULL || json_object_object_add(root, e->url, v) < 0) {
			json_object_put(v);
			goto done;
		}
		if (obj_add(v, "next", json_object_new_uint64(e->next)) < 0)
			goto done;
		if (e->log_id[0] != '\0' &&
		    obj_add(v, "log_id", json_object_new_string(e->log_id)) < 0)
			goto done;
		if (!e->have_head)
			continue;
		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", e->root[k]);
		if (obj_add(v, "tree_size", json_object_new_uint64(e->tree_size)) < 0 ||
		    obj_add(v, "root_hash", json_object_new_string(hex)) < 0)
			goto done;
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL)
		goto done;
	/* Never write through what is at tmp: a stale file or a planted
	 * symbolic link goes, and the new one must be ours alone. */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", tmp, strerror(errno));
		goto done;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd < 0) {
		snprintf(err, errlen, "open %s: %s", tmp, strerror(errno));
		goto done;
	}
	made = 1;
	if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 ||
	    fsync(fd) < 0) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		goto done;
	}
	i = (size_t)close(fd);
	fd = -1;
	if (i != 0) {
		snprintf(err, errlen, "close %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "rename %s: %s", path, strerror(errno));
		goto done;
	}
	made = 0;
	/* The rename is durable only once the directory is synced. */
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		snprintf(err, errlen, "fsync directory of %s: %s", path,
		    strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
	json_object_put(root);
	return rc;
}
