/*
 * Shim spawn, with posix_spawn from the multi-threaded agent: the signal mask is exactly the
 * signals the shim takes through its signalfd (so a cancel or timeout sent before the shim is
 * ready stays pending instead of killing it with the default action), SIGPIPE is back to default
 * (libwebsockets ignores it process-wide and SIG_IGN survives exec), and every fd above 2 is
 * closed (a library's descriptor may lack close-on-exec), except the go pipe moved to fd 3.
 */
#include "task/spawn.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

void spawn_resolve_shim(char *out, size_t n)
{
    char self[PATH_MAX], lean[PATH_MAX + 32], *slash;
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);

    snprintf(out, n, "/proc/self/exe");
    if (len <= 0)
        return;
    self[len] = '\0';
    slash = strrchr(self, '/');
    if (!slash)
        return;
    *slash = '\0';
    snprintf(lean, sizeof lean, "%s/tether-task-shim", self);
    if (access(lean, X_OK) == 0 && strlen(lean) < n)
        snprintf(out, n, "%s", lean);
}

pid_t spawn_shim(const char *exe, const char *dir, int go_fd)
{
    char *const argv[] = { "tether-agent", "task-shim", (char *)dir,
                           go_fd >= 0 ? "--go-fd=3" : NULL, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t shim_mask, dfl;
    pid_t pid = -1;
    int rc;

    /* must match the set the shim reads from its signalfd (shim.c) */
    sigemptyset(&shim_mask);
    sigaddset(&shim_mask, SIGUSR1);
    sigaddset(&shim_mask, SIGUSR2);
    sigaddset(&shim_mask, SIGTERM);
    sigaddset(&shim_mask, SIGINT);
    sigaddset(&shim_mask, SIGHUP);
    sigaddset(&shim_mask, SIGCHLD);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return -rc;
    if ((rc = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -rc;
    }
    /* the child starts with every signal blocked (glibc) and execs with exactly shim_mask, so a
     * cancel sent at once stays pending for the shim's signalfd; SIGPIPE back to default (lws
     * ignores it process-wide and SIG_IGN survives exec); every fd above 2 (or 3) closed:
     * a library's descriptor may lack close-on-exec */
    rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = posix_spawnattr_setsigmask(&attr, &shim_mask);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&attr, &dfl);
    if (!rc && go_fd >= 0)
        rc = posix_spawn_file_actions_adddup2(&fa, go_fd, 3);
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, go_fd >= 0 ? 4 : 3);
    /* clone(CLONE_VM | CLONE_VFORK) underneath: no copy of the agent's page tables, which a
     * fork of this multi-threaded process would pay on every task */
    if (!rc)
        rc = posix_spawn(&pid, exe, &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc ? -rc : pid;
}
