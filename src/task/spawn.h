/* Starting the shim from the (multi-threaded) agent. */
#ifndef TETHER_TASK_SPAWN_H
#define TETHER_TASK_SPAWN_H

#include <sys/types.h>

#include <stddef.h>

/* Picks the shim executable: a lean `tether-task-shim` next to the running binary if there is one,
 * else the agent itself (/proc/self/exe). Writes the path into out. */
void spawn_resolve_shim(char *out, size_t n);
/* posix_spawn of `EXE task-shim DIR [--go-fd=3]`. With go_fd >= 0 that fd becomes the shim's
 * fd 3: the shim prepares the task and runs nothing of it until it reads one byte there (EOF:
 * start_failed), so the worker can make the journal durable while the shim starts. Returns the
 * pid or -errno. */
pid_t spawn_shim(const char *exe, const char *dir, int go_fd);

#endif
