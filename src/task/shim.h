/*
 * The task shim: `tether-agent task-shim DIR`, a single-threaded process forked+exec'd by a worker.
 * It runs the command of DIR/task.json as its user, spools stdout/stderr to DIR/output, enforces
 * the deadline and kills the whole process tree on request, and leaves its verdict in DIR/result.
 * It outlives an agent restart. Signals it understands: SIGUSR1 = time out now, SIGUSR2 (and
 * SIGTERM/SIGINT/SIGHUP) = cancel now; both mean TERM to the session, KILL after kill_grace, then
 * KILL to every remaining descendant (the shim is a child subreaper).
 */
#ifndef TETHER_TASK_SHIM_H
#define TETHER_TASK_SHIM_H

/* Returns the process exit code. */
int shim_main(const char *dir);

#endif
