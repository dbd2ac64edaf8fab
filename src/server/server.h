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
};

extern const struct cfg_option server_options[];

struct agent_conn;
struct sse_conn;

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

    /* Waiting for the group commit. */
    bool waiting;
    struct req *wprev, *wnext;

    struct sse_conn *sse;
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
void sse_after_batch(struct server *srv);
int sse_writeable(struct req *r);
void sse_closed(struct req *r);
void sse_tick(struct server *srv, int64_t now_mono);

/* events dispatch after a commit (commit.c) */
void events_dispatch(struct server *srv, struct evq *q);

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

#endif
