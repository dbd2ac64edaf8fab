/*
 * A bounded pool of HTTP/1.1 keep-alive connections to the server, run in the swarm's lws loop as
 * raw client sockets (lws connects them; this file writes requests and parses answers). At most
 * cfg.http_conns connections exist, each carrying one request at a time, so that is also the
 * number of requests in flight; the rest wait in a FIFO. The server's answers always carry
 * Content-Length (docs/protocol.md), which is all this parser accepts.
 *
 * Idle connections are closed after IDLE_CLOSE_MS, below the server's 5 s keep-alive timeout, so
 * a request is rarely written into a socket the server is closing. When that happens anyway (the
 * connection closes with no byte of the answer read) the request is sent again on another
 * connection, at most MAX_ATTEMPTS times.
 */
#include "swarm.h"

#include "common/log.h"
#include "common/tm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IDLE_CLOSE_MS 2000
#define MAX_ATTEMPTS 3
#define ANSWER_TIMEOUT_S 120
#define MAX_ANSWER (64 * 1024 * 1024)

enum hc_state { HC_FREE, HC_CONNECTING, HC_BUSY, HC_IDLE, HC_CLOSING };

struct hconn {
    struct hpool *p;
    struct lws *wsi;
    enum hc_state state;
    struct hreq *req;
    unsigned char *out;
    size_t outlen;
    bool sent;
    bool timed_out;
    int64_t sent_mono;
    struct buf in;
    int64_t idle_since;
    struct hconn *next;            /* idle list or free list */
};

struct hpool {
    struct swarm *sw;
    struct hconn *conns;
    size_t nconns;
    struct hconn *idle, *free;
    struct hreq *qhead, *qtail;
    size_t in_flight;              /* submitted and not done */
    size_t open;
    unsigned next_src;
};

static void pump(struct hpool *p);
static struct hreq *dequeue(struct hpool *p);

struct hreq *hreq_new(const char *method, const char *path, const char *token,
                      void (*done)(struct hreq *, int, const char *, size_t), void *user)
{
    struct hreq *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->method = method;
    snprintf(r->path, sizeof r->path, "%s", path);
    snprintf(r->auth, sizeof r->auth, "%s", token ? token : "");
    r->done = done;
    r->user = user;
    return r;
}

void hreq_free(struct hreq *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    explicit_bzero(r->auth, sizeof r->auth);
    free(r);
}

struct hpool *hpool_create(struct swarm *sw)
{
    struct hpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->sw = sw;
    p->nconns = (size_t)sw->cfg.http_conns;
    p->conns = calloc(p->nconns, sizeof *p->conns);
    if (!p->conns) {
        free(p);
        return NULL;
    }
    for (size_t i = p->nconns; i-- > 0;) {
        p->conns[i].p = p;
        p->conns[i].next = p->free;
        p->free = &p->conns[i];
    }
    return p;
}

void hpool_destroy(struct hpool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nconns; i++) {
        hreq_free(p->conns[i].req);
        free(p->conns[i].out);
        buf_free(&p->conns[i].in);
    }
    while (p->qhead) {
        struct hreq *r = p->qhead;
        p->qhead = r->next;
        hreq_free(r);
    }
    free(p->conns);
    free(p);
}

size_t hpool_in_flight(const struct hpool *p) { return p->in_flight; }

void hpool_drop_queued(struct hpool *p)
{
    struct hreq *r;
    while ((r = dequeue(p))) {
        p->in_flight--;
        if (r->done)
            r->done(r, -ECANCELED, NULL, 0);
        hreq_free(r);
    }
}
size_t hpool_open_conns(const struct hpool *p) { return p->open; }

void hpool_submit(struct hpool *p, struct hreq *r)
{
    if (p->sw->exiting) {   /* closing down: nothing new goes out */
        if (r->done)
            r->done(r, -ECANCELED, NULL, 0);
        hreq_free(r);
        return;
    }
    r->next = NULL;
    if (p->qtail)
        p->qtail->next = r;
    else
        p->qhead = r;
    p->qtail = r;
    p->in_flight++;
    p->sw->st.http_requests++;
    pump(p);
}

static void requeue_front(struct hpool *p, struct hreq *r)
{
    r->next = p->qhead;
    p->qhead = r;
    if (!p->qtail)
        p->qtail = r;
}

static struct hreq *dequeue(struct hpool *p)
{
    struct hreq *r = p->qhead;
    if (r) {
        p->qhead = r->next;
        if (!p->qhead)
            p->qtail = NULL;
        r->next = NULL;
    }
    return r;
}

/* Serialises the request into c->out (LWS_PRE headroom first). 0 or -ENOMEM. */
static int build(struct hconn *c)
{
    struct swarm *sw = c->p->sw;
    struct hreq *r = c->req;
    struct buf head = BUF_INIT;
    int rc;

    rc = buf_printf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n", r->method, r->path, sw->hostport);
    if (!rc && r->auth[0])
        rc = buf_printf(&head, "Authorization: Bearer %s\r\n", r->auth);
    if (!rc)
        rc = buf_printf(&head, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                        r->body.len);
    free(c->out);
    c->out = rc ? NULL : malloc(LWS_PRE + head.len + r->body.len);
    if (!c->out) {
        explicit_bzero(head.data, head.len);
        buf_free(&head);
        return -ENOMEM;
    }
    memcpy(c->out + LWS_PRE, head.data, head.len);
    if (r->body.len)
        memcpy(c->out + LWS_PRE + head.len, r->body.data, r->body.len);
    c->outlen = head.len + r->body.len;
    c->sent = false;
    explicit_bzero(head.data, head.len);
    buf_free(&head);
    return 0;
}

/* Hands the request its result and frees it. The connection is already detached from it. */
static void deliver(struct hpool *p, struct hreq *r, int status, const char *body, size_t len)
{
    if (status < 200 || status >= 300)
        p->sw->st.http_errors++;
    p->in_flight--;
    if (r->done)
        r->done(r, status, body, len);
    hreq_free(r);
}

static void conn_release(struct hconn *c)
{
    struct hpool *p = c->p;
    free(c->out);
    c->out = NULL;
    buf_free(&c->in);
    c->wsi = NULL;
    c->req = NULL;
    c->timed_out = false;
    c->state = HC_FREE;
    c->next = p->free;
    p->free = c;
    p->open--;
}

static void conn_open(struct hpool *p, struct hconn *c, struct hreq *r)
{
    struct swarm *sw = p->sw;
    struct lws_client_connect_info i;
    char src[24];

    p->free = c->next;
    c->next = NULL;
    c->req = r;
    c->state = HC_CONNECTING;
    c->sent = false;
    buf_reset(&c->in);
    p->open++;
    sw->st.http_conns_opened++;
    memset(&i, 0, sizeof i);
    i.context = sw->ctx;
    i.vhost = sw->vh;
    i.address = sw->host;
    i.port = sw->port;
    i.path = "/";
    i.host = sw->host;
    i.method = "RAW";
    i.protocol = hpool_protocol.name;
    i.local_protocol_name = hpool_protocol.name;
    i.opaque_user_data = c;
    i.pwsi = &c->wsi;
    if (sw->cfg.source_ips > 1) {
        snprintf(src, sizeof src, "127.0.0.%u", 1 + p->next_src++ % (unsigned)sw->cfg.source_ips);
        i.iface = src;
    }
    if (!lws_client_connect_via_info(&i) && c->state == HC_CONNECTING) {
        /* Failed before any callback: give the request back and the slot too. */
        struct hreq *back = c->req;
        c->req = NULL;
        conn_release(c);
        back->attempts++;
        if (back->attempts < MAX_ATTEMPTS) {
            sw->st.http_retries++;
            requeue_front(p, back);
        } else {
            deliver(p, back, -ECONNREFUSED, NULL, 0);
        }
    }
}

static void conn_send(struct hconn *c, struct hreq *r)
{
    c->req = r;
    c->state = HC_BUSY;
    if (build(c)) {
        c->req = NULL;
        c->state = HC_IDLE;
        deliver(c->p, r, -ENOMEM, NULL, 0);
        return;
    }
    lws_callback_on_writable(c->wsi);
}

static void pump(struct hpool *p)
{
    static bool pumping;   /* deliver() may submit: one pump at a time is enough */

    if (pumping)
        return;
    pumping = true;
    while (p->qhead && !p->sw->exiting) {
        if (p->idle) {
            struct hconn *c = p->idle;
            p->idle = c->next;
            c->next = NULL;
            conn_send(c, dequeue(p));
        } else if (p->free) {
            conn_open(p, p->free, dequeue(p));
        } else {
            break;
        }
    }
    pumping = false;
}

/* Parses c->in. Returns 1 when a whole answer is there (status, body, keep set), 0 when more is
 * needed, -1 for an answer this client cannot read. */
static int parse(struct hconn *c, int *status, const char **body, size_t *blen, bool *keep)
{
    char *data = c->in.data, *end, *line, *eol;
    size_t hlen;
    long long clen = -1;

    if (!data)
        return 0;
    end = memmem(data, c->in.len, "\r\n\r\n", 4);
    if (!end)
        return c->in.len > 65536 ? -1 : 0;
    hlen = (size_t)(end - data) + 4;
    if (c->in.len < 12 || strncmp(data, "HTTP/1.", 7))
        return -1;
    *status = (int)strtol(data + 9, NULL, 10);
    *keep = data[7] == '1';
    for (line = memchr(data, '\n', hlen) + 1; line < end; line = eol + 1) {
        eol = memchr(line, '\n', (size_t)(end + 2 - line));
        if (!eol)
            break;
        if (!strncasecmp(line, "content-length:", 15))
            clen = strtoll(line + 15, NULL, 10);
        else if (!strncasecmp(line, "transfer-encoding:", 18))
            return -1;
        else if (!strncasecmp(line, "connection:", 11) && strcasestr(line, "close") &&
                 strcasestr(line, "close") < eol)
            *keep = false;
    }
    if (clen < 0)
        clen = (*status == 204 || *status == 304) ? 0 : -1;
    if (clen < 0 || clen > MAX_ANSWER)
        return -1;
    if (c->in.len < hlen + (size_t)clen)
        return 0;
    if (c->in.len > hlen + (size_t)clen)
        return -1;   /* nothing was pipelined: extra bytes mean a confused peer */
    *body = data + hlen;
    *blen = (size_t)clen;
    return 1;
}

/* The connection went away (closed, refused, timed out). */
static void conn_gone(struct hconn *c, const char *why)
{
    struct hpool *p = c->p;
    struct hreq *r = c->req;
    bool answered_part = c->in.len > 0, timed_out = c->timed_out;

    log_debug("http: connection gone (state %d): %s", (int)c->state, why);
    if (c->state == HC_FREE)
        return;
    if (c->state == HC_IDLE) {
        for (struct hconn **pp = &p->idle; *pp; pp = &(*pp)->next) {
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        }
    }
    c->req = NULL;
    conn_release(c);
    if (r) {
        r->attempts++;
        if (!answered_part && !timed_out && r->attempts < MAX_ATTEMPTS && !p->sw->exiting) {
            p->sw->st.http_retries++;
            requeue_front(p, r);
        } else {
            log_warn("http: %s %s: %s", r->method, r->path, why);
            deliver(p, r, -EIO, NULL, 0);
        }
    }
    pump(p);
}

static int on_rx(struct hconn *c, const void *in, size_t len)
{
    struct hpool *p = c->p;
    const char *body = NULL;
    size_t blen = 0;
    int status = 0, rc;
    bool keep = true;
    struct hreq *r;

    if (!c->req || buf_append(&c->in, in, len))
        return -1;
    rc = parse(c, &status, &body, &blen, &keep);
    if (rc == 0)
        return 0;
    if (rc < 0) {
        log_warn("http: unreadable answer to %s %s", c->req->method, c->req->path);
        return -1;   /* CLOSE follows: the request fails there (bytes were read, no retry) */
    }
    r = c->req;
    c->req = NULL;
    /* The body points into c->in: deliver before reusing the connection. */
    c->state = HC_BUSY;
    deliver(p, r, status, body, blen);
    buf_reset(&c->in);
    if (!keep || p->sw->exiting) {
        c->state = HC_CLOSING;
        return -1;
    }
    c->state = HC_IDLE;
    c->idle_since = tm_mono_ms();
    c->next = p->idle;
    p->idle = c;
    pump(p);
    return 0;
}

/* Once a second or more often: closes connections idle for IDLE_CLOSE_MS and those whose answer
 * is overdue (checked here, not with lws_set_timeout: that inserts into lws 4.1's sorted timer
 * list, O(n) in the number of sockets, on every request). */
void hpool_tick(struct hpool *p)
{
    int64_t now = tm_mono_ms();
    struct hconn **pp = &p->idle;

    for (size_t i = 0; i < p->nconns; i++) {
        struct hconn *c = &p->conns[i];
        if (c->state == HC_BUSY && c->sent && !c->timed_out &&
            now - c->sent_mono >= ANSWER_TIMEOUT_S * 1000) {
            c->timed_out = true;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }

    while (*pp) {
        struct hconn *c = *pp;
        if (now - c->idle_since >= IDLE_CLOSE_MS || p->sw->exiting) {
            *pp = c->next;
            c->next = NULL;
            c->state = HC_CLOSING;
            log_debug("http: closing an idle connection");
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        } else {
            pp = &c->next;
        }
    }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct hconn *c = lws_get_opaque_user_data(wsi);

    (void)user;
    switch (reason) {
    case LWS_CALLBACK_RAW_CONNECTED:
        if (!c || c->state != HC_CONNECTING)
            return -1;
        c->wsi = wsi;
        {
            struct hreq *r = c->req;
            conn_send(c, r);
        }
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        if (!c || !c->req || c->sent || !c->out)
            return 0;
        c->sent = true;
        c->sent_mono = tm_mono_ms();
        if (lws_write(wsi, c->out + LWS_PRE, c->outlen, LWS_WRITE_RAW) < (int)c->outlen)
            return -1;
        return 0;
    case LWS_CALLBACK_RAW_RX:
        if (!c)
            return -1;
        return on_rx(c, in, len);
    case LWS_CALLBACK_RAW_CLOSE:
        if (c && c->wsi == wsi)
            conn_gone(c, "connection closed before the answer");
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c && (c->wsi == wsi || c->state == HC_CONNECTING)) {
            c->p->sw->st.connect_errors++;
            conn_gone(c, in ? (const char *)in : "cannot connect");
        }
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols hpool_protocol = {
    "swarm-http", callback, 0, 0, 0, NULL, 0
};
