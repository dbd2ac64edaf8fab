/*
 * The agent WebSocket "tether-agent.v1" at /v1/agent/ws (docs/protocol.md). The upgrade is
 * authenticated in FILTER_PROTOCOL_CONNECTION and refused with 401 before any 101. Connected agents
 * are kept in a hash by agent id: that is what "online" and kicks use. Kicks and cancel frames wait
 * for an ack; an unacknowledged one is re-sent every kick_retry_s, at most 3 times.
 *
 * Liveness is checked here, in the once-a-second tick that already walks every connection: a peer
 * silent for ws_ping_interval gets a ping, one silent for 2.5 times that is dropped. lws's own idle
 * policy would do the same with a timer per connection, but lws 4.1 keeps all timers in one sorted
 * list with O(n) inserts, and every HTTP request re-arms timers in that list: with 10 000 agents
 * connected that walk dominated the server's CPU (bench/README.md, "Swarm").
 */
#include "server/server.h"

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"
#include "common/utf8.h"
#include "server/auth.h"

#include <stdlib.h>
#include <string.h>

#define KICK_PENDING_MAX 16
#define KICK_RESENDS 3

struct frame {
    struct frame *next;
    size_t len;
    char data[];
};

struct pending_kick {
    int64_t seq;
    int64_t sent_mono;
    int resends;
    char *text;
};

struct agent_conn {
    struct server *srv;
    struct lws *wsi;
    char agent_id[ID_BUF];
    bool registered;   /* in the hash */
    bool closing;
    uint16_t close_code;
    struct agent_conn *hnext;
    struct buf rx;
    bool rx_binary;
    struct frame *out_head, *out_tail;
    int64_t seq;
    uint64_t kicked_in_commit;   /* srv->commits when the last task kick went out */
    int64_t last_rx_mono;        /* the last frame or pong from the agent */
    int64_t ping_sent_mono;
    bool ping_due;
    struct pending_kick pending[KICK_PENDING_MAX];
};

struct ws_gone {
    struct ws_gone *next;
    char agent_id[ID_BUF];
    int64_t at;
};

static unsigned bucket_of(const char *agent_id)
{
    unsigned h = 2166136261u;
    for (const char *p = agent_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % CONN_BUCKETS;
}

static struct agent_conn *conn_find(struct server *srv, const char *agent_id)
{
    for (struct agent_conn *c = srv->conns[bucket_of(agent_id)]; c; c = c->hnext)
        if (!strcmp(c->agent_id, agent_id) && !c->closing)
            return c;
    return NULL;
}

static void conn_unlink(struct server *srv, struct agent_conn *c)
{
    struct agent_conn **pp = &srv->conns[bucket_of(c->agent_id)];
    if (!c->registered)
        return;
    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            srv->nconns--;
            break;
        }
    }
    c->registered = false;
}

int64_t ws_disconnected_at(struct server *srv, const char *agent_id)
{
    for (struct ws_gone *g = srv->gone[bucket_of(agent_id)]; g; g = g->next)
        if (!strcmp(g->agent_id, agent_id))
            return g->at;
    return 0;
}

/* One entry per agent that ever connected: bounded by the fleet size. */
static void remember_gone(struct server *srv, const char *agent_id)
{
    unsigned b = bucket_of(agent_id);
    struct ws_gone *g;
    for (g = srv->gone[b]; g; g = g->next)
        if (!strcmp(g->agent_id, agent_id))
            break;
    if (!g) {
        g = calloc(1, sizeof *g);
        if (!g)
            return;
        snprintf(g->agent_id, sizeof g->agent_id, "%s", agent_id);
        g->next = srv->gone[b];
        srv->gone[b] = g;
    }
    g->at = tm_now_ms();
}

void ws_cleanup(struct server *srv)
{
    for (int b = 0; b < CONN_BUCKETS; b++) {
        while (srv->gone[b]) {
            struct ws_gone *g = srv->gone[b];
            srv->gone[b] = g->next;
            free(g);
        }
    }
}

bool ws_agent_connected(struct server *srv, const char *agent_id)
{
    return conn_find(srv, agent_id) != NULL;
}

size_t ws_connected_count(struct server *srv) { return srv->nconns; }

static void queue_text(struct agent_conn *c, const char *text)
{
    size_t n = strlen(text);
    struct frame *f = malloc(sizeof *f + LWS_PRE + n);
    if (!f)
        return;
    f->next = NULL;
    f->len = n;
    memcpy(f->data + LWS_PRE, text, n);
    if (c->out_tail)
        c->out_tail->next = f;
    else
        c->out_head = f;
    c->out_tail = f;
    lws_callback_on_writable(c->wsi);
}

static void remember(struct agent_conn *c, int64_t seq, const char *text)
{
    struct pending_kick *slot = &c->pending[0];
    for (int i = 0; i < KICK_PENDING_MAX; i++) {
        if (!c->pending[i].text) {
            slot = &c->pending[i];
            break;
        }
        if (c->pending[i].seq < slot->seq)
            slot = &c->pending[i];   /* full: forget the oldest; the agent polls anyway */
    }
    free(slot->text);
    slot->seq = seq;
    slot->sent_mono = tm_mono_ms();
    slot->resends = 0;
    slot->text = strdup(text);
}

static void send_tracked(struct agent_conn *c, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text)
        return;
    queue_text(c, text);
    remember(c, c->seq, text);
    free(text);
}

void ws_kick(struct server *srv, const char *agent_id, const char *reason)
{
    struct agent_conn *c = conn_find(srv, agent_id);
    if (!c)
        return;   /* not connected here: its fallback poll finds the task */
    /* One kick per agent per committed batch: a single pull collects all of its tasks. */
    if (c->kicked_in_commit == srv->commits + 1)
        return;
    c->kicked_in_commit = srv->commits + 1;
    c->seq++;
    send_tracked(c, json_pack("{s:s, s:I, s:s}", "type", "kick", "seq", (json_int_t)c->seq,
                              "reason", reason));
}

void ws_send_cancel(struct server *srv, const char *agent_id, const char *task_id)
{
    struct agent_conn *c = conn_find(srv, agent_id);
    if (!c)
        return;
    c->seq++;
    send_tracked(c, json_pack("{s:s, s:I, s:s}", "type", "cancel", "seq", (json_int_t)c->seq,
                              "task_id", task_id));
}

static void conn_close(struct agent_conn *c, uint16_t code)
{
    c->closing = true;
    c->close_code = code;
    conn_unlink(c->srv, c);
    lws_callback_on_writable(c->wsi);
}

void ws_close_agent(struct server *srv, const char *agent_id)
{
    struct agent_conn *c;
    while ((c = conn_find(srv, agent_id)))
        conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION);
}

/* Pings a peer silent for ws_ping_interval (once per silence), drops one silent for 2.5 times
 * that. Returns true when the connection is being dropped. */
static bool check_alive(struct server *srv, struct agent_conn *c, int64_t now_mono)
{
    int64_t ping_ms = srv->cfg.ws_ping_interval * 1000, silent = now_mono - c->last_rx_mono;

    if (silent >= ping_ms * 5 / 2) {
        log_info("ws: agent %s silent for %llds: dropping it", c->agent_id,
                 (long long)(silent / 1000));
        /* Asynchronous: lws frees the wsi later, never under this walk; CLOSED unlinks it. */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return true;
    }
    if (silent >= ping_ms && c->ping_sent_mono <= c->last_rx_mono) {
        c->ping_sent_mono = now_mono;
        c->ping_due = true;
        lws_callback_on_writable(c->wsi);
    }
    return false;
}

void ws_tick(struct server *srv, int64_t now_mono)
{
    int64_t retry_ms = srv->cfg.kick_retry_s * 1000;
    for (int b = 0; b < CONN_BUCKETS; b++) {
        for (struct agent_conn *c = srv->conns[b]; c; c = c->hnext) {
            if (check_alive(srv, c, now_mono))
                continue;
            for (int i = 0; i < KICK_PENDING_MAX; i++) {
                struct pending_kick *k = &c->pending[i];
                if (!k->text || now_mono - k->sent_mono < retry_ms)
                    continue;
                if (k->resends >= KICK_RESENDS) {
                    free(k->text);
                    k->text = NULL;
                    continue;
                }
                k->resends++;
                k->sent_mono = now_mono;
                queue_text(c, k->text);
            }
        }
    }
}

/* The upgrade: a path the route table declares as an upgrade, and the credential it names.
 * Answers 401/403/429 itself before refusing: nothing reaches a 101 unauthenticated. */
static int filter(struct agent_conn *c, struct lws *wsi, struct server *srv)
{
    char uri[128], header[256], token[128], peer[64];
    struct st_agent agent;
    const struct route *rt;
    int64_t retry = 0;

    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
        !(rt = route_for_upgrade(uri)) || rt->handler != h_agent_ws_plain)
        return lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL), 1;
    guard_peer(wsi, peer, sizeof peer);
    /* Only agent tokens open this socket (rt->need == CRED_AGENT). */
    if (rt->need != CRED_AGENT ||
        lws_hdr_copy(wsi, header, sizeof header, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
        auth_bearer(header, token, sizeof token) || auth_agent_token(srv->st, token, &agent)) {
        bool blocked = guard_auth_blocked(srv, peer, &retry);
        guard_auth_failed(srv, peer);
        log_info("ws: upgrade from %s refused: bad or missing agent token", peer);
        lws_return_http_status(wsi, blocked ? 429 : HTTP_STATUS_UNAUTHORIZED, NULL);
        return 1;
    }
    if (guard_client_cert(srv, wsi, agent.agent_id, agent.name)) {
        st_agent_free(&agent);
        lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
        return 1;
    }
    guard_authenticated(srv, wsi);
    guard_stream(srv, wsi);
    memset(c, 0, sizeof *c);
    c->srv = srv;
    c->wsi = wsi;
    snprintf(c->agent_id, sizeof c->agent_id, "%s", agent.agent_id);
    st_agent_free(&agent);
    return 0;
}

static void on_established(struct agent_conn *c)
{
    struct server *srv = c->srv;
    struct agent_conn *old;
    /* A reconnect may arrive before the old socket is noticed dead: the new one wins. */
    while ((old = conn_find(srv, c->agent_id)))
        conn_close(old, LWS_CLOSE_STATUS_GOINGAWAY);
    c->hnext = srv->conns[bucket_of(c->agent_id)];
    srv->conns[bucket_of(c->agent_id)] = c;
    c->registered = true;
    c->last_rx_mono = tm_mono_ms();
    srv->nconns++;
    log_info("ws: agent %s connected (%zu connected)", c->agent_id, srv->nconns);
    /* Pull right away in case tasks were queued while it was away. */
    ws_kick(srv, c->agent_id, "task");
}

static void on_message(struct agent_conn *c)
{
    char err[128];
    const char *type = NULL;
    json_t *msg = NULL;
    int64_t seq;

    if (c->rx_binary)
        goto unsupported;
    if (!utf8_valid(c->rx.data, c->rx.len)) {
        conn_close(c, LWS_CLOSE_STATUS_INVALID_PAYLOAD);
        return;
    }
    msg = jsonu_parse(c->rx.data, c->rx.len, WS_MAX_FRAME, err, sizeof err);
    if (!msg || !json_is_object(msg) || jsonu_str(msg, "type", &type, err, sizeof err) || !type)
        goto unsupported;
    if (!strcmp(type, "ack")) {
        if (jsonu_int(msg, "seq", 0, INT64_MAX, &seq, err, sizeof err))
            goto unsupported;
        for (int i = 0; i < KICK_PENDING_MAX; i++) {
            if (c->pending[i].text && c->pending[i].seq <= seq) {
                free(c->pending[i].text);
                c->pending[i].text = NULL;
            }
        }
    } else if (!strcmp(type, "hello")) {
        log_debug("ws: hello from %s", c->agent_id);
    } else {
        goto unsupported;
    }
    json_decref(msg);
    return;
unsupported:
    json_decref(msg);
    conn_close(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE);
}

static int on_receive(struct agent_conn *c, struct lws *wsi, const void *in, size_t len)
{
    c->last_rx_mono = tm_mono_ms();
    if (c->closing)
        return 0;
    if (lws_is_first_fragment(wsi)) {
        buf_reset(&c->rx);
        c->rx_binary = lws_frame_is_binary(wsi);
    }
    if (c->rx.len + len > WS_MAX_FRAME) {
        conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
        return 0;
    }
    if (buf_append(&c->rx, in, len))
        return -1;
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
        on_message(c);
        /* Idle agents should cost little memory: give back a large reassembly buffer. */
        if (c->rx.cap > 4096)
            buf_free(&c->rx);
        else
            buf_reset(&c->rx);
    }
    return 0;
}

static int on_writeable(struct agent_conn *c, struct lws *wsi)
{
    struct frame *f = c->out_head;
    if (c->closing) {
        lws_close_reason(wsi, (enum lws_close_status)c->close_code, NULL, 0);
        return -1;
    }
    if (c->ping_due) {   /* one lws_write per WRITEABLE: queued frames go next time */
        /* With a payload: lws 4.1 does not report an empty pong (RECEIVE_PONG) to the protocol. */
        unsigned char ping[LWS_PRE + 4];
        memcpy(ping + LWS_PRE, "ping", 4);
        c->ping_due = false;
        if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 4)
            return -1;
        if (f)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (!f)
        return 0;
    c->out_head = f->next;
    if (!c->out_head)
        c->out_tail = NULL;
    int n = lws_write(wsi, (unsigned char *)f->data + LWS_PRE, f->len, LWS_WRITE_TEXT);
    size_t want = f->len;
    free(f);
    if (n < (int)want)
        return -1;
    if (c->out_head)
        lws_callback_on_writable(wsi);
    return 0;
}

static void on_closed(struct agent_conn *c)
{
    conn_unlink(c->srv, c);
    while (c->out_head) {
        struct frame *f = c->out_head;
        c->out_head = f->next;
        free(f);
    }
    c->out_tail = NULL;
    for (int i = 0; i < KICK_PENDING_MAX; i++) {
        free(c->pending[i].text);
        c->pending[i].text = NULL;
    }
    buf_free(&c->rx);
    if (c->agent_id[0] && c->srv->ctx) {
        remember_gone(c->srv, c->agent_id);
        log_info("ws: agent %s disconnected", c->agent_id);
    }
}

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len)
{
    struct agent_conn *c = user;
    struct server *srv = lws_context_user(lws_get_context(wsi));

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return c ? filter(c, wsi, srv) : 1;
    case LWS_CALLBACK_ESTABLISHED:
        on_established(c);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(c, wsi, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        if (c)
            c->last_rx_mono = tm_mono_ms();
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(c, wsi);
    case LWS_CALLBACK_CLOSED:
        if (c && c->srv)
            on_closed(c);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        /* After the upgrade lws tells this protocol, not protocols[0]. */
        if (srv)
            guard_destroyed(srv, wsi);
        return 0;
    default:
        return 0;
    }
}

size_t ws_conn_size(void) { return sizeof(struct agent_conn); }
