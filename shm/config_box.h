/*
 * Handing the configuration from the master to its children through the
 * segment (struct shm_config_box in layout.h): the master puts what it
 * applied, then signals SIGHUP; a child gets it in its SIGHUP handler.
 */
#ifndef SHM_CONFIG_BOX_H
#define SHM_CONFIG_BOX_H

#include <stdint.h>

#include "common/config.h"
#include "shm/segment.h"

/* Master only. */
void config_box_put(struct shm_seg *seg, const struct config *cfg);

/* Copies the newest configuration put into out; returns its generation
 * (1 for the first put), or 0 if none was ever put (out untouched). */
uint64_t config_box_get(const struct shm_seg *seg, struct config *out);

#endif
