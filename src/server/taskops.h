/*
 * Task state machine over the store, without any HTTP: lease on pull, start, output with head+tail
 * retention, finish, cancel and expiry (docs/protocol.md). The agent routes and the operator routes
 * call these inside the open group-commit transaction; events for SSE and kicks go to q.
 */
#ifndef TETHER_SERVER_TASKOPS_H
#define TETHER_SERVER_TASKOPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/events.h"
#include "server/store/store.h"

/* Result codes beyond 0 / -ENOENT / -EIO / -ENOMEM. */
#define TASKOPS_CANCELLED 1   /* 409 task_cancelled */
#define TASKOPS_FINAL 2       /* 409 task_final */
#define TASKOPS_SEQ_GAP 3     /* 409 seq_gap */

/* Leases up to max offerable tasks to agent_id. *resp receives {"tasks":[…],"cancel":[…]}. */
int taskops_pull(struct store *st, const char *agent_id, int64_t now, int64_t lease_ms,
                 int64_t max, struct evq *q, json_t **resp);
int taskops_start(struct store *st, const char *agent_id, const char *task_id, int64_t now,
                  struct evq *q);
/* *next_seq receives the next expected seq (for the 200 and the 409 answers). */
int taskops_output(struct store *st, const char *agent_id, const char *task_id, int64_t seq,
                   int stream, const void *data, size_t len, struct evq *q, int64_t *next_seq);

struct task_finish {
    const char *status;
    bool has_exit_code;
    int64_t exit_code;
    const char *signal;   /* NULL = none */
    const char *error;    /* NULL = none */
    int64_t output_bytes, dropped_bytes, finished_at;
    bool has_next_seq;    /* the agent says how many output chunks the server acknowledged */
    int64_t next_seq;
};
/* status_out (16 bytes) receives the stored final status. TASKOPS_SEQ_GAP (nothing changed) when
 * the agent counts more acknowledged chunks than are stored (acknowledged before a commit that
 * then failed, D10); *next_seq receives the stored count. */
int taskops_finish(struct store *st, const char *agent_id, const char *task_id,
                   const struct task_finish *f, int64_t now, struct evq *q, char status_out[16],
                   int64_t *next_seq);
/* Operator cancel of one task (t is updated): pending/dispatched become cancelled at once,
 * running ones get cancel_requested and a cancel frame. Final tasks are left alone. */
int taskops_cancel(struct store *st, struct st_task *t, int64_t now, struct evq *q);
/* Expires at most max tasks never started whose expires_at passed. *count receives how many. */
int taskops_expire(struct store *st, int64_t now, int64_t max, struct evq *q, int64_t *count);
/* Rate control after t reached a final state: past the invocation's max_errors every pending
 * task becomes skipped; under max_concurrency the agents of the next pending tasks are kicked. */
int taskops_task_ended(struct store *st, const struct st_task *t, int64_t now, struct evq *q);
/* Queues the SSE task event for t's current state. */
int taskops_emit_task(struct store *st, const struct st_task *t, struct evq *q);

#endif
