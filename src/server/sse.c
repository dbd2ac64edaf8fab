/*
 * GET /v1/invocations/{id}/events: Server-Sent Events without a content length (lws
 * minimal-http-server-sse pattern). The stream first replays the current state (a task event per
 * task followed by its stored output), then carries events as batches commit. Output is deduped
 * per task by seq; `end` is sent once every task is final and the stream is then closed. A
 * keepalive comment goes out every 15 s.
 */
#include "server/server.h"

#include "common/b64.h"
#include "common/log.h"
#include "common/tm.h"
#include "server/render.h"

#include <stdlib.h>
#include <string.h>

#define SSE_KEEPALIVE_MS 15000
/* A client that reads slower than output arrives is cut off rather than buffered without bound;
 * reconnecting replays the stored state. */
#define SSE_QUEUE_MAX (16 * 1024 * 1024)

struct sse_seen {
    char task_id[ID_BUF];
    int64_t next_seq;
};

struct sse_conn {
    struct sse_conn *prev, *next;
    struct req *req;
    char invocation_id[ID_BUF];
    char tenant[64];
    struct buf out;
    size_t out_off;  /* bytes of out already written; compacted lazily */
    struct sse_seen *seen;
    size_t nseen;
    bool touched;    /* got a task event in this batch: check for the end */
    bool ended;      /* `end` queued: close once out is flushed */
    int64_t last_write_mono;
};

static struct sse_seen *seen_for(struct sse_conn *s, const char *task_id)
{
    for (size_t i = 0; i < s->nseen; i++)
        if (!strcmp(s->seen[i].task_id, task_id))
            return &s->seen[i];
    struct sse_seen *n = realloc(s->seen, (s->nseen + 1) * sizeof *n);
    if (!n)
        return NULL;
    s->seen = n;
    snprintf(n[s->nseen].task_id, ID_BUF, "%s", task_id);
    n[s->nseen].next_seq = 0;
    return &n[s->nseen++];
}

static void put_event(struct sse_conn *s, const char *name, const char *data)
{
    /* Plain appends: vsnprintf of a 90 KB "%s" costs more than the rest of the request. */
    buf_append_str(&s->out, "event: ");
    buf_append_str(&s->out, name);
    buf_append_str(&s->out, "\ndata: ");
    buf_append_str(&s->out, data);
    buf_append_str(&s->out, "\n\n");
}

/* Output events: only the next unseen seq of each task goes out. */
static void put_output(struct sse_conn *s, const char *task_id, int64_t seq, const char *data)
{
    struct sse_seen *seen = seen_for(s, task_id);
    if (!seen || seq < seen->next_seq)
        return;
    seen->next_seq = seq + 1;
    put_event(s, "output", data);
}

struct replay_ctx {
    struct sse_conn *s;
    const char *task_id;
    struct buf piece;    /* data of the current seq: head and tail parts of one seq are joined */
    int64_t seq;
    int stream;
    bool have;
};

static void replay_flush(struct replay_ctx *rc)
{
    char *b64;
    json_t *o;
    char *text;
    if (!rc->have)
        return;
    b64 = malloc(b64_encoded_len(rc->piece.len) + 1);
    if (b64 && b64_encode(rc->piece.data ? rc->piece.data : "", rc->piece.len, b64,
                          b64_encoded_len(rc->piece.len) + 1) >= 0) {
        o = json_pack("{s:s, s:I, s:s, s:s}", "task_id", rc->task_id, "seq", (json_int_t)rc->seq,
                      "stream", rc->stream == ST_STDERR ? "stderr" : "stdout", "data", b64);
        text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (text)
            put_output(rc->s, rc->task_id, rc->seq, text);
        free(text);
        json_decref(o);
    }
    free(b64);
    buf_reset(&rc->piece);
    rc->have = false;
}

static int replay_chunk(void *ud, const struct st_chunk *c)
{
    struct replay_ctx *rc = ud;
    if (rc->have && rc->seq != c->seq)
        replay_flush(rc);
    rc->have = true;
    rc->seq = c->seq;
    rc->stream = c->stream;
    return buf_append(&rc->piece, c->data, c->len) ? -1 : 0;
}

static void put_end(struct server *srv, struct sse_conn *s)
{
    struct st_invocation inv;
    if (store_invocation_get(srv->st, s->tenant, s->invocation_id, &inv))
        return;
    json_t *o = render_invocation_load(srv->st, &inv, false, false);
    st_invocation_free(&inv);
    if (!o)
        return;
    const char *status = json_string_value(json_object_get(o, "status"));
    if (status && strcmp(status, "pending") && strcmp(status, "running")) {
        char *text = json_dumps(o, JSON_COMPACT);
        if (text)
            put_event(s, "end", text);
        free(text);
        s->ended = true;
    }
    json_decref(o);
}

static int replay(struct server *srv, struct sse_conn *s)
{
    struct st_task *tasks = NULL;
    size_t n = 0;
    if (store_task_list_by_invocation(srv->st, s->invocation_id, &tasks, &n))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char *text = render_task_text(srv->st, &tasks[i]);
        if (text)
            put_event(s, "task", text);
        free(text);
        struct replay_ctx rc = { .s = s, .task_id = tasks[i].task_id };
        store_output_each(srv->st, tasks[i].task_id, 0, replay_chunk, &rc);
        replay_flush(&rc);
        buf_free(&rc.piece);
    }
    st_task_array_free(tasks, n);
    put_end(srv, s);
    return 0;
}

int sse_start(struct req *r, const char *invocation_id)
{
    struct server *srv = r->srv;
    struct sse_conn *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->req = r;
    snprintf(s->invocation_id, sizeof s->invocation_id, "%s", invocation_id);
    snprintf(s->tenant, sizeof s->tenant, "%s", r->tenant);
    buf_append_str(&s->out, ": tether events\n\n");
    if (replay(srv, s)) {
        buf_free(&s->out);
        free(s);
        return -1;
    }
    s->last_write_mono = tm_mono_ms();
    s->next = srv->sse_head;
    if (srv->sse_head)
        srv->sse_head->prev = s;
    srv->sse_head = s;
    r->sse = s;
    r->status = 200;
    r->ctype = "text/event-stream";
    return 0;
}

bool sse_watching(void *ud, const char *invocation_id)
{
    struct server *srv = ud;

    for (struct sse_conn *s = srv->sse_head; s; s = s->next)
        if (!s->ended && !strcmp(s->invocation_id, invocation_id))
            return true;
    return false;
}

void sse_event(struct server *srv, const struct event *e)
{
    for (struct sse_conn *s = srv->sse_head; s; s = s->next) {
        if (s->ended || strcmp(s->invocation_id, e->invocation_id))
            continue;
        if (e->kind == EV_OUTPUT) {
            put_output(s, e->task_id, e->seq, e->data);
        } else {
            put_event(s, "task", e->data);
            s->touched = true;
        }
        if (s->out.len > SSE_QUEUE_MAX) {
            log_warn("sse: client too slow; closing its stream");
            s->ended = true;
            buf_reset(&s->out);
            s->out_off = 0;
        }
        if (s->req->state == REQ_WRITING)
            lws_callback_on_writable(s->req->wsi);
    }
}

void sse_after_batch(struct server *srv)
{
    for (struct sse_conn *s = srv->sse_head; s; s = s->next) {
        if (!s->touched || s->ended)
            continue;
        s->touched = false;
        put_end(srv, s);
        if (s->req->state == REQ_WRITING)
            lws_callback_on_writable(s->req->wsi);
    }
}

int sse_writeable(struct req *r)
{
    struct sse_conn *s = r->sse;
    struct server *srv = r->srv;
    size_t left = s->out.len - s->out_off;
    size_t n = left > SERVER_WRITE_CHUNK ? SERVER_WRITE_CHUNK : left;

    /* Close only from a callback that wrote nothing, so the last bytes are not cut off. */
    if (!n)
        return s->ended ? -1 : 0;
    memcpy(srv->wbuf + LWS_PRE, s->out.data + s->out_off, n);
    if (lws_write(r->wsi, srv->wbuf + LWS_PRE, n, LWS_WRITE_HTTP) < (int)n)
        return -1;
    s->out_off += n;
    /* Drop what was sent only once it is most of the buffer: no quadratic memmove. */
    if (s->out_off == s->out.len) {
        buf_reset(&s->out);
        s->out_off = 0;
    } else if (s->out_off > s->out.len / 2) {
        buf_consume(&s->out, s->out_off);
        s->out_off = 0;
    }
    s->last_write_mono = tm_mono_ms();
    if (s->out.len > s->out_off || s->ended)
        lws_callback_on_writable(r->wsi);
    return 0;
}

void sse_closed(struct req *r)
{
    struct sse_conn *s = r->sse;
    struct server *srv = r->srv;
    if (!s)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else if (srv->sse_head == s)
        srv->sse_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    buf_free(&s->out);
    free(s->seen);
    free(s);
    r->sse = NULL;
}

void sse_tick(struct server *srv, int64_t now_mono)
{
    for (struct sse_conn *s = srv->sse_head; s; s = s->next) {
        if (s->req->state != REQ_WRITING || now_mono - s->last_write_mono < SSE_KEEPALIVE_MS)
            continue;
        buf_append_str(&s->out, ": keepalive\n\n");
        s->last_write_mono = now_mono;
        lws_callback_on_writable(s->req->wsi);
    }
}
