/* WebSocket kick receiver; see ws_client.h and reference/libs-probe.md §2, §3, §6. */
#include "main/ws_client.h"
#include "main/agent.h"
#include "main/dispatcher.h"
#include "main/sysinfo.h"
#include "bypass/bypass.h"
#include "bypass/running_tasks.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"
#include "common/utf8.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define WS_PATH "/v1/agent/ws"
#define WS_PROTOCOL "tether-agent.v1"
#define WS_MAX_MESSAGE 65536
#define WS_QUEUE_MAX 256
#define BACKOFF_BASE_MS 1000
#define BACKOFF_CAP_MS 60000
#define STABLE_MS 30000

struct ws_msg {
    struct ws_msg *next;
    size_t len;
    char data[];
};

struct ws_client {
    struct agent *a;
    struct lws_context *ctx;
    struct lws *wsi;
    lws_sorted_usec_list_t sul;
    lws_retry_bo_t policy;
    uint32_t policy_table[1];
    char scheme[16], host[256];
    int port;
    char *auth;                /* "Bearer tag_..." */
    int attempt;
    bool reconnect_pending;
    bool exiting;
    int64_t established_at;
    pthread_mutex_t qlock;
    struct ws_msg *qhead, *qtail;
    int qlen;
    char *rx;                  /* reassembly of a fragmented message */
    size_t rxlen;
};

int ws_client_send(struct ws_client *w, const char *text)
{
    size_t n = strlen(text);
    struct ws_msg *m = malloc(sizeof *m + LWS_PRE + n);

    if (!m)
        return -ENOMEM;
    m->next = NULL;
    m->len = n;
    memcpy(m->data + LWS_PRE, text, n);
    pthread_mutex_lock(&w->qlock);
    if (w->qlen >= WS_QUEUE_MAX) {
        pthread_mutex_unlock(&w->qlock);
        free(m);
        return -ENOBUFS;
    }
    if (w->qtail)
        w->qtail->next = m;
    else
        w->qhead = m;
    w->qtail = m;
    w->qlen++;
    pthread_mutex_unlock(&w->qlock);
    lws_cancel_service(w->ctx);
    return 0;
}

static struct ws_msg *dequeue(struct ws_client *w, bool *more)
{
    struct ws_msg *m;
    pthread_mutex_lock(&w->qlock);
    m = w->qhead;
    if (m) {
        w->qhead = m->next;
        if (!w->qhead)
            w->qtail = NULL;
        w->qlen--;
    }
    *more = w->qhead != NULL;
    pthread_mutex_unlock(&w->qlock);
    return m;
}

static void clear_queue(struct ws_client *w)
{
    bool more = true;
    while (more) {
        struct ws_msg *m = dequeue(w, &more);
        free(m);
        if (!m)
            break;
    }
}

static bool queue_nonempty(struct ws_client *w)
{
    bool r;
    pthread_mutex_lock(&w->qlock);
    r = w->qhead != NULL;
    pthread_mutex_unlock(&w->qlock);
    return r;
}

void ws_client_wake(struct ws_client *w)
{
    if (w && w->ctx)
        lws_cancel_service(w->ctx);
}

static void connect_cb(lws_sorted_usec_list_t *sul);

/* Full jitter: uniform in [0, min(cap, base * 2^attempt)], floored so a flapping server is never
 * hammered in a tight loop. */
static void schedule_reconnect(struct ws_client *w)
{
    int64_t cap, delay;

    if (w->exiting || atomic_load(&w->a->stopping))
        return;
    cap = BACKOFF_BASE_MS << (w->attempt < 6 ? w->attempt : 6);
    if (cap > BACKOFF_CAP_MS)
        cap = BACKOFF_CAP_MS;
    delay = bypass_jitter(100, cap);
    w->attempt++;
    w->reconnect_pending = true;
    log_debug("websocket: reconnecting in %lld ms", (long long)delay);
    lws_sul_schedule(w->ctx, 0, &w->sul, connect_cb, delay * LWS_US_PER_MS);
}

static void connect_cb(lws_sorted_usec_list_t *sul)
{
    struct ws_client *w = lws_container_of(sul, struct ws_client, sul);
    struct lws_client_connect_info i;

    w->reconnect_pending = false;
    if (w->exiting || atomic_load(&w->a->stopping))
        return;
    memset(&i, 0, sizeof i);
    i.context = w->ctx;
    i.address = w->host;
    i.port = w->port;
    i.path = WS_PATH;
    i.host = w->host;
    i.origin = w->host;
    i.protocol = WS_PROTOCOL;
    i.ssl_connection = strcmp(w->scheme, "https") == 0 ? LCCSCF_USE_SSL : 0;
    i.retry_and_idle_policy = &w->policy;
    i.pwsi = &w->wsi;
    atomic_store(&w->a->conn_state, CONN_CONNECTING);
    if (!lws_client_connect_via_info(&i) && !w->reconnect_pending) {
        w->wsi = NULL;
        schedule_reconnect(w);
    }
}

static void send_hello(struct ws_client *w)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:i}", "type", "hello", "agent_id",
                          w->a->ident.agent_id, "version", TETHER_VERSION, "running",
                          running_tasks_count(w->a->rt));
    char *text = j ? jsonu_dump(j) : NULL;
    if (text)
        ws_client_send(w, text);
    free(text);
    json_decref(j);
}

static int close_with(struct lws *wsi, enum lws_close_status code, const char *why)
{
    log_warn("websocket: closing (%d): %s", (int)code, why);
    lws_close_reason(wsi, code, (unsigned char *)why, strlen(why));
    return -1;
}

/* Handles one complete server frame. Returns 0, or -1 to close the connection. */
static int handle_message(struct ws_client *w, struct lws *wsi, const char *data, size_t len)
{
    char err[160], ack[64];
    const char *type = NULL, *task_id = NULL;
    int64_t seq = -1;
    json_t *j;
    int rc = 0;

    if (!utf8_valid(data, len))
        return close_with(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, "invalid UTF-8");
    j = jsonu_parse(data, len, WS_MAX_MESSAGE, err, sizeof err);
    if (!j || jsonu_str(j, "type", &type, err, sizeof err) != 0 ||
        jsonu_int(j, "seq", 0, INT64_MAX, &seq, err, sizeof err) < 0) {
        json_decref(j);
        return close_with(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "invalid frame");
    }
    if (strcmp(type, "kick") == 0) {
        const char *reason = NULL;
        if (jsonu_str(j, "reason", &reason, err, sizeof err) == 0 && reason &&
            strcmp(reason, "update") == 0)
            waiter_poke(&w->a->update_wake); /* `tether release push`: check for a release now */
        else
            agent_kick(w->a, "kick");
    } else if (strcmp(type, "cancel") == 0) {
        if (jsonu_str(j, "task_id", &task_id, err, sizeof err) == 0 && id_valid(task_id, ID_TASK))
            running_tasks_cancel(w->a->rt, task_id);
        agent_kick(w->a, "cancel");
    } else {
        rc = close_with(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "unknown frame type");
    }
    if (rc == 0 && seq >= 0) {
        snprintf(ack, sizeof ack, "{\"type\":\"ack\",\"seq\":%lld}", (long long)seq);
        ws_client_send(w, ack);
    }
    json_decref(j);
    return rc;
}

static int on_receive(struct ws_client *w, struct lws *wsi, const void *in, size_t len)
{
    int rc = 0;

    if (lws_frame_is_binary(wsi))
        return close_with(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary frames not accepted");
    if (w->rxlen + len > WS_MAX_MESSAGE)
        return close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "frame over 64 KiB");
    if (!w->rx && !(w->rx = malloc(WS_MAX_MESSAGE)))
        return -1;
    memcpy(w->rx + w->rxlen, in, len);
    w->rxlen += len;
    if (lws_is_final_fragment(wsi)) {
        rc = handle_message(w, wsi, w->rx, w->rxlen);
        w->rxlen = 0;
    }
    return rc;
}

static void on_down(struct ws_client *w, struct lws *wsi, const char *why, bool fatal)
{
    if (w->wsi != wsi && w->wsi)
        return;
    w->wsi = NULL;
    w->rxlen = 0;
    clear_queue(w); /* acks for a dead connection mean nothing to the next one */
    atomic_store(&w->a->conn_state, CONN_DISCONNECTED);
    if (w->exiting || atomic_load(&w->a->stopping))
        return; /* G13: shutdown delivers these callbacks too */
    if (w->established_at && tm_mono_ms() - w->established_at >= STABLE_MS)
        w->attempt = 0;
    w->established_at = 0;
    log_msg(fatal ? LOG_ERROR : LOG_INFO, "websocket: %s", why);
    agent_status_write(w->a);
    schedule_reconnect(w);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    struct ws_client *w = ctx ? lws_context_user(ctx) : NULL;
    char why[256];

    (void)user;
    if (!w)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                         (unsigned char *)w->auth, (int)strlen(w->auth), p, end))
            return -1;
        break;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        w->wsi = wsi;
        w->established_at = tm_mono_ms();
        atomic_store(&w->a->conn_state, CONN_CONNECTED);
        log_info("websocket: connected to %s:%d", w->host, w->port);
        send_hello(w);
        agent_status_write(w->a);
        waiter_poke(&w->a->kick_fallback); /* pull right after every (re)connect */
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(w, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        bool more;
        struct ws_msg *m = dequeue(w, &more);
        int n;
        if (!m)
            break;
        n = lws_write(wsi, (unsigned char *)m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (n < 0)
            return -1;
        if (more)
            lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        unsigned int status = lws_http_client_http_response(wsi);
        if (status == 401)
            snprintf(why, sizeof why, "the server refused this agent's token (HTTP 401); "
                     "re-register the agent");
        else
            snprintf(why, sizeof why, "cannot connect to %.64s:%d: %.160s", w->host, w->port,
                     in ? (const char *)in : "unknown error");
        on_down(w, wsi, why, status == 401);
        break;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        on_down(w, wsi, "connection closed", false);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (w->wsi && queue_nonempty(w))
            lws_callback_on_writable(w->wsi);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    { WS_PROTOCOL, callback, 0, WS_MAX_MESSAGE, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void lws_log_emit(int level, const char *line)
{
    char copy[512];
    size_t n;
    snprintf(copy, sizeof copy, "%s", line);
    n = strlen(copy);
    while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
        copy[--n] = '\0';
    log_msg(level == LLL_ERR ? LOG_WARN : LOG_DEBUG, "lws: %s", copy);
}

struct ws_client *ws_client_create(struct agent *a)
{
    struct ws_client *w = calloc(1, sizeof *w);
    struct lws_context_creation_info info;
    size_t alen;

    if (!w)
        return NULL;
    w->a = a;
    pthread_mutex_init(&w->qlock, NULL);
    if (sysinfo_parse_url(a->ident.server, w->scheme, sizeof w->scheme, w->host, sizeof w->host,
                          &w->port) != 0) {
        log_error("server URL '%s' is not valid", a->ident.server);
        goto fail;
    }
    alen = strlen(a->ident.agent_token) + 8;
    w->auth = malloc(alen);
    if (!w->auth)
        goto fail;
    snprintf(w->auth, alen, "Bearer %s", a->ident.agent_token);
    w->policy_table[0] = BACKOFF_BASE_MS;
    w->policy.retry_ms_table = w->policy_table;
    w->policy.retry_ms_table_count = 1;
    w->policy.conceal_count = LWS_RETRY_CONCEAL_ALWAYS;
    w->policy.secs_since_valid_ping = (uint16_t)a->cfg.ws_ping_interval;
    w->policy.secs_since_valid_hangup = (uint16_t)(a->cfg.ws_ping_interval * 5 / 2);
    lws_set_log_level(LLL_ERR, lws_log_emit);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.fd_limit_per_thread = 64;
    info.user = w;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (strcmp(w->scheme, "https") == 0) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = a->cfg.ca_file;
        /* Mutual TLS: the same certificate the HTTPS calls present. */
        info.client_ssl_cert_filepath = a->cfg.client_cert;
        info.client_ssl_private_key_filepath = a->cfg.client_key;
    }
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        log_error("cannot create the libwebsockets context");
        goto fail;
    }
    return w;
fail:
    ws_client_destroy(w);
    return NULL;
}

int ws_client_run(struct ws_client *w)
{
    int n = 0;

    lws_sul_schedule(w->ctx, 0, &w->sul, connect_cb, 1);
    while (n >= 0 && !atomic_load(&w->a->stopping))
        n = lws_service(w->ctx, 0);
    w->exiting = true;
    return n < 0 ? -EIO : 0;
}

void ws_client_destroy(struct ws_client *w)
{
    if (!w)
        return;
    w->exiting = true;
    if (w->ctx) {
        lws_sul_cancel(&w->sul);
        lws_context_destroy(w->ctx);
    }
    clear_queue(w);
    if (w->auth) {
        memset(w->auth, 0, strlen(w->auth));
        free(w->auth);
    }
    free(w->rx);
    pthread_mutex_destroy(&w->qlock);
    free(w);
}
