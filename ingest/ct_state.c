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
	st->e[st->n].url = u;
	st->e[st->n].next = next;
	st->n++;
	return 0;
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
		if (!json_object_is_type(val, json_type_int) ||
		    json_object_get_int64(val) < 0) {
			snprintf(err, errlen, "%s: \"%.100s\" is not an index", path,
			    key);
			goto done;
		}
		if (ct_state_set(&tmp, key, json_object_get_uint64(val)) < 0) {
			snprintf(err, errlen, "out of memory");
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
		json_object *v = json_object_new_uint64(st->e[i].next);

		if (v == NULL)
			goto done;
		if (json_object_object_add(root, st->e[i].url, v) < 0) {
			json_object_put(v);
			goto done;
		}
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL)
		goto done;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
