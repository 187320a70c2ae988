/*
 * Corpus replay without libFuzzer: feeds every file named on the command
 * line, or found in a directory named there (not recursively, in name
 * order), to LLVMFuzzerTestOneInput once. Built with ASan+UBSan by gcc, so
 * `make test` runs every seed and regression case of a target under the
 * sanitizers. Arguments starting with '-' are ignored, so a libFuzzer
 * command line works unchanged. Exit 0 when every input ran; a crash
 * aborts through the sanitizer with the input's name printed first.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"


/* Inputs above this are not fuzz cases (libFuzzer's default max_len is 4 KiB). */
#define REPLAY_MAX_INPUT (16u << 20)

static int
run_file(const char *path)
{
	struct stat st;
	uint8_t *buf = NULL;
	FILE *f = NULL;
	int rc = -1;

	f = fopen(path, "rb");
	if (f == NULL || fstat(fileno(f), &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto done;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: too large\n", path);
		goto done;
	}
	/* Exactly size bytes, so ASan sees any read past the input. */
	buf = malloc((size_t)st.st_size);
	if (buf == NULL && st.st_size > 0) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto done;
	}
	if (st.st_size > 0 &&
	    fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		goto done;
	}
	fprintf(stderr, "replay: %s (%lld bytes)\n", path,
	    (long long)st.st_size);
	LLVMFuzzerTestOneInput(buf, (size_t)st.st_size);
	rc = 0;
done:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of dir; returns the number run, or -1. */
static long
run_dir(const char *dir)
{
	struct dirent *de;
	char **names = NULL, **tmp, path[4096];
	size_t n = 0, cap = 0, i;
	long ran = -1;
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			tmp = realloc(names, cap * sizeof(*names));
			if (tmp == NULL) {
				fprintf(stderr, "replay: %s: out of memory\n",
				    dir);
				goto done;
			}
			names = tmp;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL) {
			fprintf(stderr, "replay: %s: out of memory\n", dir);
			goto done;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	ran = 0;
	for (i = 0; i < n; i++) {
		struct stat st;

		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    (int)sizeof(path) || stat(path, &st) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (run_file(path) == -1) {
			ran = -1;
			goto done;
		}
		ran++;
	}
done:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ran;
}

int
main(int argc, char **argv)
{
	long total = 0, r;
	struct stat st;
	int i;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode))
			r = run_dir(argv[i]);
		else
			r = run_file(argv[i]) == 0 ? 1 : -1;
		if (r < 0)
			return 1;
		total += r;
	}
	fprintf(stderr, "replay: %ld inputs ran\n", total);
	return total > 0 ? 0 : 1;
}
