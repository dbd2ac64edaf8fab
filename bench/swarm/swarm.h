/*
 * tether-swarm: one process, one libwebsockets event loop, N simulated agents speaking the real
 * agent protocol (docs/protocol.md) to a real tether-server. Each agent registers (or reuses an
 * identity from the state file), holds a WebSocket, acks kicks and cancels, pulls, and reports
 * start/finish for every task; the command either completes at once (mode "instant") or runs
 * /bin/true (mode "true"). HTTP goes through a small pool of keep-alive connections (hpool.c) in
 * the same loop, so the number of requests in flight is bounded.
 *
 * Files: main.c (options, phases, loop, signals), hpool.c (HTTP/1.1 client pool over lws raw
 * sockets), agent_ws.c (one WebSocket per agent), tasks.c (pull, start, run, finish,
 * heartbeat), spawn.c (posix_spawn of /bin/true, SIGCHLD through a signalfd), identity.c
 * (register and the state file).
 */
#ifndef TETHER_SWARM_H
#define TETHER_SWARM_H

#include "common/buf.h"
#include "common/ids.h"

#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SWARM_WS_PATH "/v1/agent/ws"
#define SWARM_WS_PROTOCOL "tether-agent.v1"
#define SWARM_WS_MAX_MESSAGE 65536
#define SWARM_TOKEN_BUF 64

struct swarm_config {
    char *server;              /* http://HOST:PORT */
    int64_t n;                 /* agents */
    int64_t first;             /* index of the first agent (1-based) */
    char *activation_code;     /* or $TETHER_ACTIVATION_CODE */
    char *state;               /* identities file; NULL = register every time, keep nothing */
    char *prefix;              /* names are PREFIX-00001 ... */
    char *tags;                /* "k=v,k2=v2" sent at registration */
    char *mode;                /* instant | true */
    int64_t output_bytes;      /* one output chunk of this many bytes per task (0 = none) */
    int64_t http_conns;        /* concurrent HTTP connections (= requests in flight) */
    int64_t connect_concurrency; /* WebSocket handshakes in flight */
    int64_t max_children;      /* concurrent /bin/true children (mode true) */
    int64_t pull_max;          /* "max" of a pull */
    int64_t ping_s;            /* WebSocket ping after this much silence */
    int64_t heartbeat_s;       /* 0: no heartbeats */
    int64_t source_ips;        /* spread sockets over 127.0.0.1 ... 127.0.0.K */
    int64_t report_every;      /* print a "tasks" line each time this many more tasks finished */
    int64_t duration;          /* exit after this many seconds (0: at SIGINT/SIGTERM) */
    bool register_only;        /* register, save the state file, exit */
    char *event_lib;           /* libev | poll */
    char *log_level;
};

enum ws_state { WS_IDLE, WS_WAITING, WS_CONNECTING, WS_CONNECTED };

struct swarm;

struct sagent {
    struct swarm *sw;
    int idx;                           /* 0-based */
    char name[64];
    char machine_id[80];
    char agent_id[ID_BUF];
    char token[SWARM_TOKEN_BUF];
    char source_ip[16];
    bool registering;
    void (*after_register)(struct sagent *a, int ok);
    bool ever_connected;
    bool ping_due;
    /* WebSocket */
    struct lws *wsi;
    enum ws_state ws;
    int attempt;
    struct sagent *wait_next;          /* connect queue */
    lws_sorted_usec_list_t sul_reconnect;
    struct sframe *out_head, *out_tail;
    struct buf rx;
    /* tasks */
    bool pulling;
    int64_t kick_ms;                   /* wall clock of the last kick or cancel frame */
    bool pull_again;
    int running;
};

struct sframe {
    struct sframe *next;
    size_t len;
    char data[];                       /* LWS_PRE bytes, then the text */
};

/* One HTTP request. The pool owns it from hpool_submit() until done() returns; done() must not
 * free it (the pool does). status is the HTTP status, or -errno when no answer came. */
struct hreq {
    struct hreq *next;
    const char *method;                /* static string */
    char path[160];
    char auth[SWARM_TOKEN_BUF];        /* agent token, or "" */
    struct buf body;
    void (*done)(struct hreq *r, int status, const char *body, size_t len);
    void *user;
    void *user2;
    int attempts;
};

struct stask {
    struct stask *next;                /* spawn queue or running list */
    struct sagent *a;
    char task_id[ID_BUF];
    pid_t pid;
    int exit_code;                     /* -1: killed by a signal */
    int signo;
    bool cancel;
};

struct swarm_stats {
    uint64_t registered, reused, register_failed;
    uint64_t connects, connect_errors, disconnects, reregistered;
    uint64_t kicks, cancels, acks, pulls, tasks_started, tasks_finished, tasks_failed;
    uint64_t tasks_rejected, http_requests, http_errors, http_retries, http_conns_opened;
    uint64_t heartbeats, spawned;
};

struct hpool;
struct spawner;

struct swarm {
    struct swarm_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct ev_loop *ev_loop;           /* --event-lib libev; NULL with poll */
    char host[128];
    int port;
    char hostport[160];
    struct sagent *agents;
    int n;
    struct hpool *pool;
    struct spawner *sp;
    lws_retry_bo_t ws_policy;
    volatile sig_atomic_t *stop;
    bool exiting;
    bool connect_phase_done;
    bool state_dirty;
    int connected;
    int connecting;
    int pending_registrations;
    struct sagent *wait_head, *wait_tail;
    int64_t connect_start_mono, connect_start_ms;
    struct swarm_stats st;
    /* the current "tasks" window (report_every): kicks whose pull brought tasks */
    uint64_t window_kicks;
    int64_t window_first_kick_ms, window_last_kick_ms;
    int64_t started_mono;
    char *output_b64;                  /* the output chunk of every task, base64 */
    /* Pings and heartbeats are spread evenly over their interval by one wheel (main.c) instead
     * of a timer per agent: lws 4.1 keeps timers in one sorted list with O(n) inserts. */
    int64_t wheel_start_mono;
    uint64_t ping_cursor, heartbeat_cursor;
};

/* main.c */
void swarm_emit(struct swarm *sw, const char *phase, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void swarm_on_task_finished(struct swarm *sw);

/* hpool.c: HTTP/1.1 over at most cfg.http_conns keep-alive connections. */
struct hpool *hpool_create(struct swarm *sw);
void hpool_destroy(struct hpool *p);
/* Allocates a request (body empty). NULL on ENOMEM. */
struct hreq *hreq_new(const char *method, const char *path, const char *token,
                      void (*done)(struct hreq *, int, const char *, size_t), void *user);
void hreq_free(struct hreq *r);
void hpool_submit(struct hpool *p, struct hreq *r);
size_t hpool_in_flight(const struct hpool *p);
/* At exit: requests not sent yet are answered -ECANCELED and dropped. */
void hpool_drop_queued(struct hpool *p);
size_t hpool_open_conns(const struct hpool *p);
void hpool_tick(struct hpool *p);   /* closes idle connections and overdue requests */
extern const struct lws_protocols hpool_protocol;

/* agent_ws.c */
void ws_queue_connect(struct swarm *sw, struct sagent *a, int64_t delay_ms);
void ws_pump(struct swarm *sw);     /* starts queued connects up to connect_concurrency */
void ws_close_all(struct swarm *sw);
void ws_ping(struct sagent *a);
extern const struct lws_protocols ws_protocol;

/* tasks.c */
void tasks_on_kick(struct sagent *a);
void tasks_on_child_exit(struct stask *t);
void heartbeat_send(struct sagent *a);

/* spawn.c */
struct spawner *spawner_create(struct swarm *sw);
void spawner_destroy(struct spawner *sp);
/* Queues /bin/true for the task; tasks_on_child_exit() runs when it exits. */
void spawner_run(struct spawner *sp, struct stask *t);
void spawner_cancel(struct spawner *sp, const char *task_id);
size_t spawner_running(const struct spawner *sp);
extern const struct lws_protocols spawner_protocol;

/* identity.c */
int identity_load(struct swarm *sw);          /* 0, or -errno (a missing file is 0) */
int identity_save(struct swarm *sw);
void identity_register(struct sagent *a, void (*then)(struct sagent *a, int ok));
int identity_missing(const struct swarm *sw);
bool identity_tags_valid(const char *spec);

#endif
