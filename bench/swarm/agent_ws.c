/*
 * One WebSocket per simulated agent, as src/main/ws_client.c holds it for the real agent: Bearer
 * token on the upgrade, "tether-agent.v1", hello right after connect, an ack for every kick and
 * cancel, a ping every ping_s (sent from main.c's wheel: lws's own idle policy would put a timer
 * per connection into lws 4.1's sorted timer list, whose inserts are O(n)), reconnect with
 * full-jitter backoff.
 * Connects go through a queue so at most connect_concurrency handshakes are in flight; a 401
 * re-registers the agent (same machine_id: same agent_id, new token) before it connects again.
 */
#include "swarm.h"

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/tm.h"

#include <stdlib.h>
#include <string.h>

#define BACKOFF_BASE_MS 1000
#define BACKOFF_CAP_MS 60000

static void queue_frame(struct sagent *a, const char *text)
{
    size_t n = strlen(text);
    struct sframe *f = malloc(sizeof *f + LWS_PRE + n);

    if (!f)
        return;
    f->next = NULL;
    f->len = n;
    memcpy(f->data + LWS_PRE, text, n);
    if (a->out_tail)
        a->out_tail->next = f;
    else
        a->out_head = f;
    a->out_tail = f;
    if (a->wsi)
        lws_callback_on_writable(a->wsi);
}

static void drop_frames(struct sagent *a)
{
    while (a->out_head) {
        struct sframe *f = a->out_head;
        a->out_head = f->next;
        free(f);
    }
    a->out_tail = NULL;
}

static void reconnect_cb(lws_sorted_usec_list_t *sul)
{
    struct sagent *a = lws_container_of(sul, struct sagent, sul_reconnect);
    ws_queue_connect(a->sw, a, 0);
}

void ws_queue_connect(struct swarm *sw, struct sagent *a, int64_t delay_ms)
{
    if (sw->exiting || a->ws != WS_IDLE)
        return;
    if (delay_ms > 0) {
        lws_sul_schedule(sw->ctx, 0, &a->sul_reconnect, reconnect_cb, delay_ms * LWS_US_PER_MS);
        return;
    }
    a->ws = WS_WAITING;
    a->wait_next = NULL;
    if (sw->wait_tail)
        sw->wait_tail->wait_next = a;
    else
        sw->wait_head = a;
    sw->wait_tail = a;
    ws_pump(sw);
}

static void on_down(struct sagent *a, const char *why, unsigned status);

static void connect_now(struct swarm *sw, struct sagent *a)
{
    struct lws_client_connect_info i;

    memset(&i, 0, sizeof i);
    i.context = sw->ctx;
    i.vhost = sw->vh;
    i.address = sw->host;
    i.port = sw->port;
    i.path = SWARM_WS_PATH;
    i.host = sw->host;
    i.origin = sw->host;
    i.protocol = SWARM_WS_PROTOCOL;
    i.retry_and_idle_policy = &sw->ws_policy;
    i.opaque_user_data = a;
    i.pwsi = &a->wsi;
    if (a->source_ip[0])
        i.iface = a->source_ip;
    a->ws = WS_CONNECTING;
    sw->connecting++;
    if (!lws_client_connect_via_info(&i) && a->ws == WS_CONNECTING)
        on_down(a, "cannot start the connection", 0);
}

void ws_pump(struct swarm *sw)
{
    while (!sw->exiting && sw->wait_head && sw->connecting < sw->cfg.connect_concurrency) {
        struct sagent *a = sw->wait_head;
        sw->wait_head = a->wait_next;
        if (!sw->wait_head)
            sw->wait_tail = NULL;
        a->wait_next = NULL;
        connect_now(sw, a);
    }
}

static void reregistered(struct sagent *a, int ok)
{
    /* Registered again or not: try the socket again after the usual backoff. */
    ws_queue_connect(a->sw, a, ok ? 0 : BACKOFF_BASE_MS);
}

static void on_down(struct sagent *a, const char *why, unsigned status)
{
    struct swarm *sw = a->sw;
    int64_t cap, delay;

    if (a->ws == WS_CONNECTING)
        sw->connecting--;
    else if (a->ws == WS_CONNECTED) {
        sw->connected--;
        sw->st.disconnects++;
    } else
        return;
    a->ws = WS_IDLE;
    a->wsi = NULL;
    drop_frames(a);
    buf_free(&a->rx);
    if (sw->exiting)
        return;   /* G13: shutdown delivers these callbacks too */
    if (status == 401) {
        log_info("%s: token refused (401): registering again", a->name);
        sw->st.reregistered++;
        identity_register(a, reregistered);
    } else {
        if (status || strcmp(why, "closed"))
            log_debug("%s: %s (HTTP %u)", a->name, why, status);
        cap = (int64_t)BACKOFF_BASE_MS << (a->attempt < 6 ? a->attempt : 6);
        if (cap > BACKOFF_CAP_MS)
            cap = BACKOFF_CAP_MS;
        delay = 100 + (int64_t)(random() % cap);
        a->attempt++;
        ws_queue_connect(sw, a, delay);
    }
    ws_pump(sw);
}

static void on_established(struct sagent *a, struct lws *wsi)
{
    struct swarm *sw = a->sw;
    char hello[160];

    sw->connecting--;
    sw->connected++;
    sw->st.connects++;
    a->ws = WS_CONNECTED;
    a->wsi = wsi;
    a->attempt = 0;
    a->ever_connected = true;
    snprintf(hello, sizeof hello,
             "{\"type\":\"hello\",\"agent_id\":\"%s\",\"version\":\"%s\",\"running\":%d}",
             a->agent_id, TETHER_VERSION, a->running);
    queue_frame(a, hello);
    if (!sw->connect_phase_done && sw->connected == sw->n) {
        int64_t now = tm_now_ms();
        sw->connect_phase_done = true;
        swarm_emit(sw, "connect",
                   "\"connected\":%d,\"seconds\":%.3f,\"start_ms\":%lld,\"end_ms\":%lld,"
                   "\"connect_errors\":%llu",
                   sw->connected, (double)(tm_mono_ms() - sw->connect_start_mono) / 1000.0,
                   (long long)sw->connect_start_ms, (long long)now,
                   (unsigned long long)sw->st.connect_errors);
    }
    ws_pump(sw);
}

static void on_message(struct sagent *a, const char *data, size_t len)
{
    struct swarm *sw = a->sw;
    char err[128], ack[64];
    const char *type = NULL, *task_id = NULL;
    int64_t seq = -1;
    json_t *j = jsonu_parse(data, len, SWARM_WS_MAX_MESSAGE, err, sizeof err);

    if (!j || jsonu_str(j, "type", &type, err, sizeof err) || !type ||
        jsonu_int(j, "seq", 0, INT64_MAX, &seq, err, sizeof err) < 0) {
        log_warn("%s: unreadable frame from the server", a->name);
        json_decref(j);
        return;
    }
    if (!strcmp(type, "kick") || !strcmp(type, "cancel")) {
        int64_t now = tm_now_ms();
        if (!strcmp(type, "kick")) {
            sw->st.kicks++;
        } else {
            sw->st.cancels++;
            if (!jsonu_str(j, "task_id", &task_id, err, sizeof err) && task_id &&
                id_valid(task_id, ID_TASK))
                spawner_cancel(sw->sp, task_id);
        }
        a->kick_ms = now;
        if (seq >= 0) {
            snprintf(ack, sizeof ack, "{\"type\":\"ack\",\"seq\":%lld}", (long long)seq);
            queue_frame(a, ack);
            sw->st.acks++;
        }
        tasks_on_kick(a);
    }
    json_decref(j);
}

static int on_receive(struct sagent *a, struct lws *wsi, const void *in, size_t len)
{
    if (a->rx.len + len > SWARM_WS_MAX_MESSAGE || buf_append(&a->rx, in, len))
        return -1;
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
        on_message(a, a->rx.data, a->rx.len);
        buf_free(&a->rx);   /* idle agents keep no buffer */
    }
    return 0;
}

void ws_ping(struct sagent *a)
{
    if (a->ws != WS_CONNECTED || !a->wsi)
        return;
    a->ping_due = true;
    lws_callback_on_writable(a->wsi);
}

static int on_writeable(struct sagent *a, struct lws *wsi)
{
    struct sframe *f = a->out_head;
    unsigned char ping[LWS_PRE + 1];
    int n;

    if (a->sw->exiting) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"bye", 3);
        return -1;
    }
    if (a->ping_due) {   /* one lws_write per WRITEABLE (G14): the frames go next time */
        a->ping_due = false;
        if (lws_write(wsi, ping + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
        if (f)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (!f)
        return 0;
    a->out_head = f->next;
    if (!a->out_head)
        a->out_tail = NULL;
    n = lws_write(wsi, (unsigned char *)f->data + LWS_PRE, f->len, LWS_WRITE_TEXT);
    free(f);
    if (n < 0)
        return -1;
    if (a->out_head)
        lws_callback_on_writable(wsi);
    return 0;
}

void ws_close_all(struct swarm *sw)
{
    for (int i = 0; i < sw->n; i++) {
        struct sagent *a = &sw->agents[i];
        lws_sul_cancel(&a->sul_reconnect);
        if (a->ws == WS_CONNECTED && a->wsi)
            lws_callback_on_writable(a->wsi);
    }
    sw->wait_head = sw->wait_tail = NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct sagent *a = lws_get_opaque_user_data(wsi);

    (void)user;
    if (!a)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        char auth[SWARM_TOKEN_BUF + 8];
        int rc;
        snprintf(auth, sizeof auth, "Bearer %s", a->token);
        rc = lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                          (unsigned char *)auth, (int)strlen(auth), p, end);
        explicit_bzero(auth, sizeof auth);
        return rc ? -1 : 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (a->ws == WS_CONNECTING)
            on_established(a, wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(a, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(a, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (a->wsi == wsi || a->ws == WS_CONNECTING) {
            a->sw->st.connect_errors++;
            on_down(a, in ? (const char *)in : "connection error",
                    lws_http_client_http_response(wsi));
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (a->wsi == wsi)
            on_down(a, "closed", 0);
        return 0;
    default:
        return 0;
    }
}

/* rx_buffer_size: lws allocates it per connection; kicks are ~60 bytes, larger messages arrive in
 * pieces and are reassembled in on_receive. */
const struct lws_protocols ws_protocol = {
    SWARM_WS_PROTOCOL, callback, 0, 1024, 0, NULL, 0
};
