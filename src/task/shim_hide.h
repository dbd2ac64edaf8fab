/*
 * Defence in depth for root tasks: the command (and profile) child of a root task gets its own
 * mount namespace in which the agent's secrets — DATA/identity.json (the agent token), the agent's
 * configuration file (may hold an activation code) and its mutual-TLS key — are covered by
 * /dev/null. File modes already keep non-root tasks out (0600 root); a root task can undo this
 * (umount, nsenter, /proc/<agent>/mem), so it only stops accidents and careless scripts (`cat`,
 * `tar czf /tmp/x.tgz /var/lib/tether`, a support bundle), not a determined root.
 */
#ifndef TETHER_TASK_SHIM_HIDE_H
#define TETHER_TASK_SHIM_HIDE_H

#include <stddef.h>

#define SHIM_HIDE_MAX 8

/* The paths to cover, NULL-terminated (at most SHIM_HIDE_MAX). */
struct shim_hide {
    const char *paths[SHIM_HIDE_MAX + 1];
};

/* In a forked child, as root: unshare(CLONE_NEWNS), make every mount a slave (nothing the task
 * mounts propagates to the host; the host's later mounts still reach the task), then bind
 * /dev/null over each existing path. Returns 0, or -errno from the step that failed (the caller
 * runs the task anyway: the agent has logged at startup whether this works). Async-signal-safe. */
int shim_hide_apply(const struct shim_hide *h);

/* The agent's startup probe: whether a child can make a mount namespace here. Logs one line. */
void shim_hide_report(void);

#endif
