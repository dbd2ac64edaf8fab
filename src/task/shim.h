/*
 * The task shim: `tether-agent task-shim DIR [--go-fd=3]`, a single-threaded process a worker spawns.
 * It runs the command of DIR/task.json as its user, spools stdout/stderr to DIR/output, enforces
 * the deadline and kills the whole process tree on request, and leaves its verdict in DIR/result.
 * It outlives an agent restart. Signals it understands: SIGUSR1 = time out now, SIGUSR2 (and
 * SIGTERM/SIGINT/SIGHUP) = cancel now; both mean TERM to the session, KILL after kill_grace, then
 * KILL to every remaining descendant (the shim is a child subreaper).
 */
#ifndef TETHER_TASK_SHIM_H
#define TETHER_TASK_SHIM_H

/* Returns the process exit code. */
/* go_fd: -1, or the fd to read one byte from before running anything of the task (spawn.h). */
int shim_main(const char *dir, int go_fd);
/* Parses `task-shim DIR [--go-fd=3]` (argv[1] is "task-shim"); returns shim_main's status, or 2
 * for anything else. */
int shim_main_args(int argc, char **argv);

#endif
