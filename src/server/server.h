/*
 * tether-server's context. One lws context, one service thread: everything here is touched only
 * from that thread (the signal handler only sets a flag and wakes the loop), so nothing is locked.
 */
#ifndef TETHER_SERVER_SERVER_H
#define TETHER_SERVER_SERVER_H

#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/config.h"
#include "server/events.h"
#include "server/ratelimit.h"
#include "server/render.h"
#include "server/routes.h"
#include "server/store/store.h"

#define SERVER_WRITE_CHUNK 16384
#define WS_MAX_FRAME 65536
#define CONN_BUCKETS 4096

struct server_config {
    char *listen;
    char *store;
    char *public_url;
    int64_t lease_s;
    int64_t heartbeat_interval;
    int64_t kick_retry_s;
    int64_t max_body;
    char *log_file;
    char *log_level;
    char *tls_cert;
    char *tls_key;
    bool tls;                 /* serve DATA/tls/server.{pem,key} */
    char *client_ca;          /* mutual TLS: agents present a certificate signed by this CA */
    bool allow_insecure;      /* plain HTTP on a non-loopback address */
    int64_t request_timeout;  /* seconds for a whole request (headers + body) */
    int64_t max_preauth;      /* connections that have not authenticated yet */
    int64_t auth_fail_burst;  /* failed authentications per address before 429 */
    int64_t auth_fail_per_min;/* refill of that bucket */
    int64_t max_accepts_per_s;/* token bucket for new connections */
    int64_t ws_ping_interval; /* seconds; hangup after 2.5 intervals */
    char *web_root;           /* the console's files (default BINDIR/../share/tether/web) */
    char *event_loop;         /* "epoll" (libev, foreign to lws) or "poll" (lws's own) */
};

extern const struct cfg_option server_options[];

struct agent_conn;
struct sse_conn;

/* Every accepted connection (conn_guard.c), found by its wsi in a hash: whether it has
 * authenticated yet, and by when it must have delivered its current request. */
struct conn_track {
    struct conn_track *prev, *next;
    struct conn_track *hnext;   /* in srv->track_hash, by wsi address */
    struct lws *wsi;
    int64_t deadline_mono;   /* 0: none (authenticated and between requests, SSE, WebSocket) */
    bool authenticated;
    bool verified_cert;      /* a client certificate chain was verified (mutual TLS) */
    char peer[64];
};

enum req_state { REQ_NEW, REQ_BODY, REQ_WAIT_COMMIT, REQ_WRITING, REQ_DONE };

/* One HTTP transaction (lws per-session data of protocols[0]; reset for each keep-alive request). */
struct req {
    struct server *srv;
    struct lws *wsi;
    enum req_state state;
    enum http_method method;
    char path[512];
    struct buf body;
    int64_t content_length;
    bool body_too_large;

    /* Who is calling, filled by auth before the handler runs. */
    enum role role;
    char who[64];
    char tenant[64];
    char agent_id[ID_BUF];
    char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX];
    char peer[64];   /* source address, for the audit trail and the failure limiter */

    /* Events the handler caused; joined to the batch only when the handler succeeded. */
    struct evq events;

    /* Response. */
    int status;
    const char *ctype;
    char xhdr_name[2][32];
    char xhdr_value[2][64];
    struct buf resp;
    size_t sent;
    bool headers_done;
    bool close_after;
    bool console;      /* a console answer (console.c): security headers, ETag when set */
    bool head_only;    /* HEAD or 304: headers with the body's length, no body */
    char etag[64];

    /* Waiting for the group commit. */
    bool waiting;
    /* Answer without waiting for the commit: only for writes the agent may safely see undone
     * (pull's lease, start's running), see docs/decisions.md. */
    bool no_commit_wait;
    struct req *wprev, *wnext;

    struct sse_conn *sse;

    /* Release artifacts (artifacts.c): a request body streamed into a file and a response body
     * read from one, instead of the body / resp buffers. Freed by artifact_io_free. */
    struct artifact_io *upload;
    struct artifact_io *download;
};

struct server {
    struct server_config cfg;
    char data_dir[4096];
    char store_path[4096];
    struct store *st;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    volatile sig_atomic_t *stop;

    /* Group commit (commit.c). */
    bool txn_open;
    struct evq batch;
    struct req *wait_head;
    lws_sorted_usec_list_t commit_sul;
    uint64_t commits, commit_failures;

    /* Once a second: expiry, kick retries, SSE keepalives (tick.c). */
    lws_sorted_usec_list_t tick_sul;

    /* Agents connected over the WebSocket, by agent id (ws.c). */
    struct agent_conn *conns[CONN_BUCKETS];
    size_t nconns;
    /* When each agent's WebSocket last closed (wall ms): a clean stop is offline at once. */
    struct ws_gone *gone[CONN_BUCKETS];

    struct sse_conn *sse_head;

    /* Abuse limits (conn_guard.c). */
    struct conn_track *tracks;
    struct conn_track *track_hash[CONN_BUCKETS];
    size_t nconn, npreauth;
    uint64_t preauth_refused, deadline_closed, auth_limited, accept_throttled;
    double accept_tokens;     /* accept-rate bucket (max_accepts_per_s) */
    int64_t accept_refill_ms;
    struct ratelimit *authfail;

    unsigned char wbuf[LWS_PRE + SERVER_WRITE_CHUNK];
};

/* http.c */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);
/* Sets a JSON response (takes the reference). */
void resp_json(struct req *r, int status, json_t *body);
/* {"error":{"code","message"}} */
void resp_error(struct req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void resp_raw(struct req *r, int status, const char *ctype, const void *data, size_t len);
void resp_header(struct req *r, const char *name, const char *value);
/* Query argument; 1 when present (value copied), 0 when absent. */
int req_query(struct req *r, const char *name, char *buf, size_t len);
/* Parses the body as JSON; on failure answers 400 and returns NULL. */
json_t *req_json(struct req *r);
/* Starts writing r's response now (or after the commit when a transaction is open). */
void req_respond(struct req *r);

/* commit.c */
int commit_begin_write(struct server *srv);
void commit_wait(struct server *srv, struct req *r);
void commit_unwait(struct server *srv, struct req *r);
void commit_flush_now(struct server *srv);

/* ws.c */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len);
bool ws_agent_connected(struct server *srv, const char *agent_id);
void ws_kick(struct server *srv, const char *agent_id, const char *reason);
void ws_send_cancel(struct server *srv, const char *agent_id, const char *task_id);
void ws_close_agent(struct server *srv, const char *agent_id);
void ws_tick(struct server *srv, int64_t now_mono);
size_t ws_connected_count(struct server *srv);
size_t ws_conn_size(void);
/* Wall-clock ms when agent_id's WebSocket last closed here, 0 if never. */
int64_t ws_disconnected_at(struct server *srv, const char *agent_id);
void ws_cleanup(struct server *srv);

/* sse.c */
int sse_start(struct req *r, const char *invocation_id);
void sse_event(struct server *srv, const struct event *e);
/* evq filter (events.h): ud is the server; true while an SSE stream follows the invocation. */
bool sse_watching(void *ud, const char *invocation_id);
void sse_after_batch(struct server *srv);
int sse_writeable(struct req *r);
void sse_closed(struct req *r);
void sse_tick(struct server *srv, int64_t now_mono);

/* events dispatch after a commit (commit.c) */
void events_dispatch(struct server *srv, struct evq *q);

/* conn_guard.c: pre-auth cap, request deadlines, failed-auth limiter, client certificates. */
/* Returns non-zero when a new connection must be refused (over max_preauth_connections). */
int guard_accept_ok(struct server *srv);
void guard_created(struct server *srv, struct lws *wsi);
void guard_destroyed(struct server *srv, struct lws *wsi);
void guard_authenticated(struct server *srv, struct lws *wsi);
/* The current request is complete (dispatch): no deadline until the next one starts. */
void guard_request_done(struct server *srv, struct lws *wsi);
/* The response went out on a keep-alive connection: the next request has request_timeout. */
void guard_request_next(struct server *srv, struct lws *wsi);
/* Long-lived stream (SSE, WebSocket): never timed out by the guard. */
void guard_stream(struct server *srv, struct lws *wsi);
void guard_tick(struct server *srv, int64_t now_mono);
/* Copies the peer's address (from the connection's record, else lws). */
void guard_peer(struct lws *wsi, char *buf, size_t len);
/* Failed-auth limiter: true (and *retry_after) when addr is over its budget. */
bool guard_auth_blocked(struct server *srv, const char *addr, int64_t *retry_after_s);
void guard_auth_failed(struct server *srv, const char *addr);
/* Mutual TLS: 0 when no client CA is configured, or the peer's verified certificate names this
 * agent (CN, or SAN URI tether:agent:<id>, equal to its id or name); -1 otherwise. With
 * agent_id NULL (registration) any verified certificate passes. */
int guard_client_cert(struct server *srv, struct lws *wsi, const char *agent_id,
                      const char *agent_name);

/* audit.c: records an operator action of r (who, role, source address). */
int req_audit(struct req *r, int64_t at, const char *action, const char *target,
              const char *detail);

/* invocations.c: creates an invocation from a POST /v1/invocations body (validated here) and
 * answers 201 with it, or the error; command_name (NULL: ad hoc) is recorded on it. 0 with
 * inv_id (ID_BUF bytes, may be NULL) filled, or -1 after answering the error. */
int invocation_create(struct req *r, json_t *body, const char *command_name, char *inv_id);

/* console.c: the web console's static files (any path that is not an API path). */
void console_serve(struct req *r);
/* Logs whether web_root is a directory at startup (a missing one only disables the console). */
void console_check_root(struct server *srv);
/* BINDIR/../share/tether/web of the running binary into buf. 0 or -errno. */
int console_default_root(char *buf, size_t len);

/* tick.c */
void tick_start(struct server *srv);

/* activations.c: tags object by allowlist (at most 32). 0 or -1 with err naming the field. */
int tags_validate(json_t *tags, const char *field, char *err, size_t errlen);

/* agent_register.c */
bool ip_text_valid(const char *s);

/* status helpers */
bool agent_online(struct server *srv, const struct st_agent *a, int64_t now);

/* init.c: creates the data dir, store, default tenant and admin key. quiet: print nothing. */
int server_init_data(const char *data_dir, const char *store_path, bool quiet);

/* serve.c */
int server_serve(struct server *srv);

/* agent_register.c: 1..max characters, each a letter, a digit or one of extra. */
bool charset_ok(const char *s, size_t max, const char *extra);

#endif
