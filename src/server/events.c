/* Event queue; see events.h. */
#include "server/events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static void copy_id(char dst[ID_BUF], const char *src)
{
    snprintf(dst, ID_BUF, "%s", src ? src : "");
}

int evq_push(struct evq *q, enum ev_kind kind, const char *invocation_id, const char *task_id,
             const char *agent_id, int64_t seq, char *data)
{
    struct event *e;
    if (!q) {
        free(data);
        return 0;
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        free(data);
        return -ENOMEM;
    }
    e->kind = kind;
    copy_id(e->invocation_id, invocation_id);
    copy_id(e->task_id, task_id);
    copy_id(e->agent_id, agent_id);
    e->seq = seq;
    e->data = data;
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->count++;
    return 0;
}

bool evq_wants(const struct evq *q, const char *invocation_id)
{
    return q && (!q->watched || q->watched(q->watched_ud, invocation_id));
}

void evq_splice(struct evq *dst, struct evq *src)
{
    if (!src->head)
        return;
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    dst->count += src->count;
    src->head = src->tail = NULL;
    src->count = 0;
}

void evq_clear(struct evq *q)
{
    struct event *e = q->head;
    while (e) {
        struct event *next = e->next;
        free(e->data);
        free(e);
        e = next;
    }
    q->head = q->tail = NULL;
    q->count = 0;
}
