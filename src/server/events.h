/*
 * Side effects of writes (kicks, cancel frames, SSE events, closing a removed agent's WebSocket)
 * are queued here while a transaction is open and only acted upon after it committed; on a
 * rollback the queue is discarded (DESIGN §6, group commit). No lws dependency, so the task logic
 * that fills it is unit-testable.
 */
#ifndef TETHER_SERVER_EVENTS_H
#define TETHER_SERVER_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ids.h"

enum ev_kind {
    EV_TASK,        /* SSE "task" event: data = task object JSON */
    EV_OUTPUT,      /* SSE "output" event: data = {"task_id","seq","stream","data"} JSON */
    EV_KICK,        /* WS kick to agent_id; data = reason */
    EV_CANCEL,      /* WS cancel frame for task_id to agent_id */
    EV_AGENT_GONE,  /* close agent_id's WebSocket (removed or re-registered) */
};

struct event {
    struct event *next;
    enum ev_kind kind;
    char invocation_id[ID_BUF];
    char task_id[ID_BUF];
    char agent_id[ID_BUF];
    int64_t seq;
    char *data;     /* owned */
};

struct evq {
    struct event *head, *tail;
    size_t count;
    /* Whether anyone watches an invocation's events (SSE): task and output events, whose text
     * costs a render or a base64 of the chunk, are only built when it says yes. NULL: always. */
    bool (*watched)(void *ud, const char *invocation_id);
    void *watched_ud;
};

/* q is not NULL and its filter (if any) says someone watches invocation_id. */
bool evq_wants(const struct evq *q, const char *invocation_id);

/* Takes ownership of data (may be NULL). q may be NULL: the event is dropped. Returns 0/-ENOMEM. */
int evq_push(struct evq *q, enum ev_kind kind, const char *invocation_id, const char *task_id,
             const char *agent_id, int64_t seq, char *data);
/* Moves every event of src to the end of dst. */
void evq_splice(struct evq *dst, struct evq *src);
void evq_clear(struct evq *q);

#endif
