/*
 * Shim spawn. The agent is multi-threaded, so between fork() and exec() the child only makes
 * async-signal-safe calls: it sets the signal mask to exactly the signals the shim takes through
 * its signalfd (so a cancel or timeout sent before the shim is ready stays pending instead of
 * killing it with the default action), restores SIGPIPE (libwebsockets ignores it process-wide and SIG_IGN survives
 * exec), closes every fd above 2 (libcurl's sockets are not close-on-exec), then execs.
 */
#include "task/spawn.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

pid_t spawn_shim(const char *exe, const char *dir)
{
    char *const argv[] = { "tether-agent", "task-shim", (char *)dir, NULL };
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigset_t shim_mask;
    pid_t pid;

    /* must match the set the shim reads from its signalfd (shim.c) */
    sigemptyset(&shim_mask);
    sigaddset(&shim_mask, SIGUSR1);
    sigaddset(&shim_mask, SIGUSR2);
    sigaddset(&shim_mask, SIGTERM);
    sigaddset(&shim_mask, SIGINT);
    sigaddset(&shim_mask, SIGHUP);
    sigaddset(&shim_mask, SIGCHLD);
    /* Blocked in this thread across fork(), so the child never runs a moment with them
     * deliverable: a cancel sent right after the fork stays pending for the shim's signalfd. */
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &shim_mask, &old);
    pid = fork();
    if (pid == 0) {
        sigaction(SIGPIPE, &dfl, NULL);
        sigprocmask(SIG_SETMASK, &shim_mask, NULL);
        close_range(3, ~0U, 0);
        execv(exe, argv);
        _exit(127);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return -saved;
    return pid;
}
