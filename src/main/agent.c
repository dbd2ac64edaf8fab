/*
 * `tether-agent run`: builds the agent context, re-attaches to the journal, starts the threads
 * and runs the WebSocket loop on the main thread until SIGTERM/SIGINT. Signals are blocked in
 * every thread and taken synchronously by one thread (sigwaitinfo), so no handler runs at all.
 */
#include "main/agent.h"
#include "main/agent_run.h"
#include "main/dispatcher.h"
#include "main/ws_client.h"
#include "bypass/bypass.h"
#include "bypass/running_tasks.h"
#include "task/cgroup_agent.h"
#include "task/journal.h"
#include "task/shim_hide.h"
#include "task/spawn.h"
#include "common/fsutil.h"
#include "common/http.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void agent_kick(struct agent *a, const char *why)
{
    log_debug("kick (%s)", why);
    if (a->disp)
        dispatcher_kick(a->disp);
}

void agent_request_stop(struct agent *a)
{
    atomic_store(&a->stopping, true);
    waiter_poke(&a->kick_fallback);
    waiter_poke(&a->timeouts);
    waiter_poke(&a->heartbeat);
    waiter_poke(&a->update_wake);
    if (a->disp)
        dispatcher_kick(a->disp);
    ws_client_wake(a->ws);
}

void agent_status_write(struct agent *a)
{
    static const char *const states[] = { "disconnected", "connecting", "connected" };
    char path[PATH_MAX], now[32], started[32], *text;
    int cs = atomic_load(&a->conn_state);
    json_t *j;

    tm_format_rfc3339(tm_now_ms(), now, sizeof now);
    tm_format_rfc3339(a->start_wall, started, sizeof started);
    j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "pid", (int)getpid(),
                  "version", TETHER_VERSION, "started_at", started, "updated_at", now,
                  "connection", states[cs >= 0 && cs <= 2 ? cs : 0], "agent_id",
                  a->ident.agent_id, "name", a->ident.name, "server", a->ident.server, "running",
                  a->rt ? running_tasks_json(a->rt) : json_array());
    text = j ? jsonu_dump(j) : NULL;
    json_decref(j);
    if (!text)
        return;
    snprintf(path, sizeof path, "%s/status.json", a->cfg.data_dir);
    pthread_mutex_lock(&a->status_lock);
    /* 0600: `tether-agent status` needs root anyway (identity.json), and the running-task table
     * is nobody else's business */
    if (fs_write_atomic(path, text, strlen(text), 0600, false) != 0)
        log_debug("cannot write %s", path);
    pthread_mutex_unlock(&a->status_lock);
    free(text);
}

static void *signal_thread(void *arg)
{
    struct agent *a = arg;
    sigset_t set;
    siginfo_t si;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    while (!atomic_load(&a->stopping)) {
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0)
            continue;
        if (sig == SIGUSR1)
            break; /* our own wake-up at shutdown */
        log_info("received %s, stopping", sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal");
        agent_request_stop(a);
    }
    return NULL;
}

enum { T_SIGNALS, T_PING, T_KICK, T_TIMEOUT, T_UPDATE, T_COUNT };

static int start_threads(struct agent *a, pthread_t *t, bool *up)
{
    void *(*fns[T_COUNT])(void *) = { signal_thread, ping_sender_main, schedule_kick_main,
                                      timeout_checker_main, update_checker_main };

    for (int i = 0; i < T_COUNT; i++) {
        if (pthread_create(&t[i], NULL, fns[i], a) != 0)
            return -EAGAIN;
        up[i] = true;
    }
    return dispatcher_start(a->disp);
}

static void stop_threads(struct agent *a, pthread_t *t, bool *up)
{
    agent_request_stop(a);
    if (up[T_SIGNALS])
        pthread_kill(t[T_SIGNALS], SIGUSR1);
    for (int i = 0; i < T_COUNT; i++)
        if (up[i])
            pthread_join(t[i], NULL);
    if (a->disp)
        dispatcher_join(a->disp);
}

int agent_run(struct agent *a)
{
    pthread_t threads[T_COUNT];
    bool up[T_COUNT] = { false };
    sigset_t set;
    int rc, n;

    /* blocked everywhere; the signal thread takes them (SIGUSR1 only wakes it at shutdown) */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    a->start_mono = tm_mono_ms();
    spawn_resolve_shim(a->shim_exe, sizeof a->shim_exe);
    log_debug("shim executable: %s", a->shim_exe);
    a->start_wall = tm_now_ms();
    pthread_mutex_init(&a->status_lock, NULL);
    waiter_init(&a->kick_fallback, &a->stopping);
    waiter_init(&a->timeouts, &a->stopping);
    waiter_init(&a->heartbeat, &a->stopping);
    waiter_init(&a->update_wake, &a->stopping);
    rc = -ENOMEM;
    a->rt = running_tasks_create(&a->timeouts);
    a->disp = a->rt ? dispatcher_create(a) : NULL;
    a->ws = a->disp ? ws_client_create(a) : NULL;
    if (!a->ws)
        goto out;
    n = journal_gc(a->cfg.data_dir, 24 * 3600 * 1000);
    if (n > 0)
        log_info("journal: removed %d old entries", n);
    if (cgroup_agent_report(a->cfg.cgroups) != 0) {
        rc = -EINVAL;
        goto out;
    }
    if (a->cfg.hide_secrets)
        shim_hide_report();
    n = cgroup_agent_gc(a->cfg.data_dir);
    if (n > 0)
        log_info("cgroups: removed %d empty task cgroup(s)", n);
    n = dispatcher_reattach(a->disp);
    if (n > 0)
        log_info("journal: %d unfinished task(s) re-attached", n);
    agent_status_write(a);
    rc = start_threads(a, threads, up);
    if (rc) {
        log_error("cannot start threads: %s", strerror(-rc));
        goto out;
    }
    log_info("agent %s (%s) running, server %s", a->ident.name, a->ident.agent_id,
             a->ident.server);
    rc = ws_client_run(a->ws);
out:
    stop_threads(a, threads, up);
    ws_client_destroy(a->ws);
    dispatcher_destroy(a->disp);
    running_tasks_destroy(a->rt);
    a->ws = NULL;
    a->disp = NULL;
    a->rt = NULL;
    waiter_destroy(&a->kick_fallback);
    waiter_destroy(&a->timeouts);
    waiter_destroy(&a->heartbeat);
    waiter_destroy(&a->update_wake);
    pthread_mutex_destroy(&a->status_lock);
    {
        /* `tether-agent status` must not report a stopped agent as running (its pid may be reused) */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/status.json", a->cfg.data_dir);
        unlink(path);
    }
    log_info("agent stopped");
    return rc;
}
