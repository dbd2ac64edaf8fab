/*
 * Once a second: expire tasks that were never delivered before expires_at, re-send unacknowledged
 * kicks and keep SSE streams alive. Nothing on the request path waits for this timer.
 */
#include "server/server.h"

#include "common/log.h"
#include "common/tm.h"
#include "server/taskops.h"

#define TICK_US (1000 * LWS_US_PER_MS)
#define EXPIRE_BATCH 1000

static void expire(struct server *srv)
{
    int64_t count = 0, now = tm_now_ms();
    struct evq q = { 0 };
    struct st_task *due = NULL;
    size_t ndue = 0;

    /* Look before opening a write transaction: an idle server stays idle. */
    if (store_task_expirable(srv->st, now, 1, &due, &ndue))
        return;
    st_task_array_free(due, ndue);
    if (!ndue)
        return;
    if (commit_begin_write(srv) || store_savepoint(srv->st))
        return;
    if (taskops_expire(srv->st, now, EXPIRE_BATCH, &q, &count)) {
        store_rollback_to(srv->st);
        evq_clear(&q);
        return;
    }
    store_release(srv->st);
    evq_splice(&srv->batch, &q);
    if (count)
        log_info("tick: %lld task(s) expired", (long long)count);
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, tick_sul);
    int64_t now = tm_mono_ms();
    expire(srv);
    ws_tick(srv, now);
    sse_tick(srv, now);
    guard_tick(srv, now);
    lws_sul_schedule(srv->ctx, 0, &srv->tick_sul, tick_cb, TICK_US);
}

void tick_start(struct server *srv)
{
    lws_sul_schedule(srv->ctx, 0, &srv->tick_sul, tick_cb, TICK_US);
}
