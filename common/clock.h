/*
 * Monotonic milliseconds, for timeouts and back-offs that wall-clock steps
 * must not move.
 */
#ifndef CERTSTREAM_COMMON_CLOCK_H
#define CERTSTREAM_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
