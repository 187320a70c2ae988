/*
 * Fuzz target: certstream.conf (YAML through libyaml and the key table).
 * Invariants beyond "no crash":
 * - a refused file says why, naming the file ("FILE:..." or "FILE: ...");
 * - an accepted one passes config_validate and names a usable port.
 * The bytes go through a memfd so config_load reads them as a file would.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/config.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	char path[64], err[1024];
	int fd, rc;

	if (size > 65536)
		return 0;
	fd = memfd_create("fuzz-config", 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	rc = config_load(&cfg, path, err, sizeof(err));
	if (rc == 0) {
		FUZZ_CHECK(config_validate(&cfg, err, sizeof(err)) == 0);
		FUZZ_CHECK(cfg.port >= 0 && cfg.port <= 65535);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
	}
	close(fd);
	return 0;
}
