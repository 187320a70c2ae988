#include "master/proctitle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern char **environ;

static char *title_start;
static size_t title_len;

int
proctitle_init(int argc, char **argv)
{
	char *end, **env_copy = NULL, **argv_copy = NULL;
	int nenv = 0, i;

	if (argc < 1 || argv[0] == NULL)
		return -1;
	/* The area runs from argv[0] over every contiguous argv and environ
	 * string. */
	end = argv[0] + strlen(argv[0]) + 1;
	for (i = 1; i < argc; i++) {
		if (argv[i] != end)
			break;
		end = argv[i] + strlen(argv[i]) + 1;
	}
	while (environ[nenv])
		nenv++;
	for (i = 0; i < nenv; i++) {
		if (environ[i] != end)
			break;
		end = environ[i] + strlen(environ[i]) + 1;
	}
	if ((env_copy = calloc((size_t)nenv + 1, sizeof(char *))) == NULL)
		goto fail;
	for (i = 0; i < nenv; i++)
		if ((env_copy[i] = strdup(environ[i])) == NULL)
			goto fail;
	if ((argv_copy = calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		goto fail;
	for (i = 0; i < argc; i++)
		if ((argv_copy[i] = strdup(argv[i])) == NULL)
			goto fail;
	/* The copies live as long as the process: environ and argv point at
	 * them from now on. */
	title_start = argv[0];
	title_len = (size_t)(end - argv[0]);
	for (i = 0; i < argc; i++)
		argv[i] = argv_copy[i];
	free(argv_copy);
	environ = env_copy;
	return 0;
fail:
	if (env_copy) {
		for (i = 0; i < nenv; i++)
			free(env_copy[i]);
		free(env_copy);
	}
	if (argv_copy) {
		for (i = 0; i < argc; i++)
			free(argv_copy[i]);
		free(argv_copy);
	}
	return -1;
}

void
proctitle_set(const char *title, const char *comm)
{
	if (comm)
		prctl(PR_SET_NAME, comm, 0, 0, 0);
	if (title_start == NULL || title_len < 2)
		return;
	memset(title_start, 0, title_len);
	snprintf(title_start, title_len - 1, "%s", title);
}
