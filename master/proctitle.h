/*
 * Process titles ("certstreamd: worker 1") for ps and /proc/<pid>/cmdline:
 * the argv and environ strings are one contiguous area, which is
 * overwritten after environ has been moved to the heap. The short kernel
 * name (comm) is set with prctl(PR_SET_NAME).
 */
#ifndef MASTER_PROCTITLE_H
#define MASTER_PROCTITLE_H

/* Call once from main() before anything reads argv again (argv[i] still
 * work afterwards: they are copied too). Returns 0 or -1 (out of memory:
 * titles then stay as they are). */
int proctitle_init(int argc, char **argv);

/* Set the title; comm is the short name (at most 15 bytes used). */
void proctitle_set(const char *title, const char *comm);

#endif
