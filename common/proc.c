/* Reading a process's figures from /proc. */
#include "common/proc.h"

#include <stdio.h>
#include <unistd.h>

int
proc_rss(pid_t pid, uint64_t *bytes)
{
	char path[64];
	long pages, pagesize;
	FILE *f;
	int rc = -1;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/statm");
	else
		snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	/* statm: size resident shared text lib data dt, in pages */
	if (fscanf(f, "%*s %ld", &pages) == 1 && pages >= 0 &&
	    (pagesize = sysconf(_SC_PAGESIZE)) > 0) {
		*bytes = (uint64_t)pages * (uint64_t)pagesize;
		rc = 0;
	}
	fclose(f);
	return rc;
}
