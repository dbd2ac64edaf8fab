/* Starting the shim from the (multi-threaded) agent. */
#ifndef TETHER_TASK_SPAWN_H
#define TETHER_TASK_SPAWN_H

#include <sys/types.h>

#include <stddef.h>

/* Picks the shim executable: a lean `tether-task-shim` next to the running binary if there is one,
 * else the agent itself (/proc/self/exe). Writes the path into out. */
void spawn_resolve_shim(char *out, size_t n);
/* fork() + immediate exec of `EXE task-shim DIR`. Returns the pid or -errno. */
pid_t spawn_shim(const char *exe, const char *dir);

#endif
