/*
 * The running agent: one context struct passed to every thread (no globals). Thread map:
 *   main          libwebsockets client loop (ws_client.c): kicks, cancels, hello, acks
 *   signals       sigwaitinfo(): SIGTERM/SIGINT set `stopping` and wake everyone
 *   dispatcher    pulls tasks, journals them, starts workers (dispatcher.c)
 *   workers       one per task (task/worker.c)
 *   bypass        ping_sender, schedule_kick, timeout_checker (src/bypass/)
 */
#ifndef TETHER_AGENT_H
#define TETHER_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "main/agent_config.h"
#include "main/identity.h"
#include "main/waiter.h"

struct running_tasks;
struct dispatcher;
struct ws_client;

enum conn_state { CONN_DISCONNECTED, CONN_CONNECTING, CONN_CONNECTED };

struct agent {
    struct agent_config cfg;
    struct identity ident;
    char shim_exe[4096];           /* see task/spawn.h */
    char config_file[4096];        /* absolute path of the config file read ("" if none) */
    int64_t start_mono;
    int64_t start_wall;
    atomic_bool stopping;
    atomic_int conn_state;
    struct running_tasks *rt;
    struct dispatcher *disp;
    struct ws_client *ws;
    struct waiter kick_fallback;   /* schedule_kick: poked after every (re)connect */
    struct waiter timeouts;        /* timeout_checker: poked when a task starts */
    struct waiter heartbeat;       /* ping_sender: poked on stop */
    pthread_mutex_t status_lock;   /* serialises status.json rewrites */

    /* Self-update (issue 6, main/update.h): the update_checker thread owns the process; the
     * others only report to it (heartbeats_ok) or read its state for the heartbeat. */
    struct waiter update_wake;     /* update_checker: an `update` kick, or stop */
    atomic_int heartbeats_ok;      /* successful heartbeats since start (health of an update) */
    atomic_bool reexec;            /* agent_run returned to exec exe_path (a swapped binary) */
    char exe_path[4096];           /* this binary, resolved at start (before any swap) */
    pthread_mutex_t update_lock;
    char update_state[128];        /* checking, downloading, staged, updated, failed: why… */
    char update_target[32];        /* the version update_state is about */
};

/* Wakes the dispatcher for a pull. Any thread. */
void agent_kick(struct agent *a, const char *why);
/* Rewrites DATA/status.json (connection state, running tasks). Any thread. */
void agent_status_write(struct agent *a);
/* Asks every thread to stop. Any thread. */
void agent_request_stop(struct agent *a);

#endif
