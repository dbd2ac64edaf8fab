/*
 * Group commit (DESIGN §6). The first write of a loop turn opens a transaction and schedules a
 * sul for the next turn; every request handled while it is open (writer or reader) waits in a
 * list. The sul commits once for all of them, then releases their responses and acts on the
 * queued events (kicks, cancel frames, SSE). If the commit fails, everything is rolled back, every
 * waiting request gets 503 and the batch's events are dropped: an answer always means "on disk".
 */
#include "server/server.h"

#include "common/log.h"

static void commit_cb(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, commit_sul);
    commit_flush_now(srv);
}

int commit_begin_write(struct server *srv)
{
    if (srv->txn_open)
        return 0;
    if (store_begin(srv->st))
        return -EIO;
    srv->txn_open = true;
    /* 1 µs: runs on the next service turn, after every request already read in this one. */
    lws_sul_schedule(srv->ctx, 0, &srv->commit_sul, commit_cb, 1);
    return 0;
}

void commit_wait(struct server *srv, struct req *r)
{
    if (r->waiting)
        return;
    r->state = REQ_WAIT_COMMIT;
    r->waiting = true;
    r->wprev = NULL;
    r->wnext = srv->wait_head;
    if (srv->wait_head)
        srv->wait_head->wprev = r;
    srv->wait_head = r;
}

void commit_unwait(struct server *srv, struct req *r)
{
    if (!r->waiting)
        return;
    if (r->wprev)
        r->wprev->wnext = r->wnext;
    else
        srv->wait_head = r->wnext;
    if (r->wnext)
        r->wnext->wprev = r->wprev;
    r->waiting = false;
    r->wprev = r->wnext = NULL;
}

void commit_flush_now(struct server *srv)
{
    struct evq events = { 0 };
    bool ok;

    if (!srv->txn_open)
        return;
    lws_sul_cancel(&srv->commit_sul);
    ok = store_commit(srv->st) == 0;
    if (!ok) {
        srv->commit_failures++;
        log_error("commit: group commit failed; rolling back and answering 503");
        if (store_rollback(srv->st))
            log_error("commit: rollback failed too");
        evq_clear(&srv->batch);
    } else {
        srv->commits++;
        evq_splice(&events, &srv->batch);
    }
    srv->txn_open = false;

    /* Release the waiting responses in arrival order (the list is newest first). */
    struct req *r = srv->wait_head, *last = NULL;
    size_t waiting = r ? 1 : 0;
    while (r && r->wnext) {
        r = r->wnext;
        waiting++;
    }
    log_debug("commit: %s, %zu response(s) released", ok ? "ok" : "failed", waiting);
    last = r;
    srv->wait_head = NULL;
    for (r = last; r;) {
        struct req *prev = r->wprev;
        r->waiting = false;
        r->wprev = r->wnext = NULL;
        if (!ok) {
            if (r->sse) {
                sse_closed(r);
                r->sse = NULL;
            }
            resp_error(r, 503, "unavailable", "store not writable");
        }
        r->state = REQ_WRITING;
        lws_callback_on_writable(r->wsi);
        r = prev;
    }
    if (ok)
        events_dispatch(srv, &events);
    evq_clear(&events);
}

void events_dispatch(struct server *srv, struct evq *q)
{
    for (struct event *e = q->head; e; e = e->next) {
        switch (e->kind) {
        case EV_TASK:
        case EV_OUTPUT:
            sse_event(srv, e);
            break;
        case EV_KICK:
            ws_kick(srv, e->agent_id, e->data ? e->data : "task");
            break;
        case EV_CANCEL:
            ws_send_cancel(srv, e->agent_id, e->task_id);
            break;
        case EV_AGENT_GONE:
            ws_close_agent(srv, e->agent_id);
            break;
        }
    }
    sse_after_batch(srv);
}
