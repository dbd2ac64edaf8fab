/* Task state machine; see taskops.h. */
#include "server/taskops.h"

#include "common/b64.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/tm.h"
#include "server/render.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int taskops_emit_task(struct store *st, const struct st_task *t, struct evq *q)
{
    if (!evq_wants(q, t->invocation_id))
        return 0; /* nobody follows this invocation: no render (a watcher replays the state) */
    char *text = render_task_text(st, t);
    if (!text)
        return -ENOMEM;
    return evq_push(q, EV_TASK, t->invocation_id, t->task_id, t->agent_id, 0, text);
}

/* The wire form of a task for the agent (docs/protocol.md, "Tasks"). */
static json_t *pull_entry(const struct st_task *t, const struct st_invocation *inv)
{
    size_t clen = strlen(inv->command);
    char *cmd = malloc(b64_encoded_len(clen) + 1);
    json_t *env = json_loads(inv->env, 0, NULL), *o = NULL;
    json_t *limits = json_loads(inv->limits ? inv->limits : "{}", 0, NULL);

    if (!cmd || !env || !limits || b64_encode(inv->command, clen, cmd, b64_encoded_len(clen) + 1) < 0)
        goto out;
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:I, s:I, s:o, s:o, s:O}",
                  "task_id", t->task_id, "invocation_id", t->invocation_id, "kind", "command",
                  "command", cmd, "interpreter", inv->interpreter, "user", inv->user, "workdir",
                  inv->workdir ? json_string(inv->workdir) : json_null(), "env", env,
                  "timeout_s", (json_int_t)inv->timeout_s, "output_limit",
                  (json_int_t)t->output_limit, "expires_at", render_ts(t->expires_at),
                  "lease_expires_at", render_ts(t->lease_expires_at), "limits", limits);
out:
    free(cmd);
    json_decref(env);
    json_decref(limits);
    return o;
}

static int lease_one(struct store *st, struct st_task *t, int64_t now, int64_t lease_ms,
                     struct evq *q, json_t *tasks)
{
    struct st_invocation inv;
    json_t *entry;
    int64_t active = 0;
    int rc = store_invocation_core(st, t->tenant_id, t->invocation_id, &inv);
    if (rc)
        return rc;
    /* max_concurrency: a pending task waits while its invocation has enough tasks out. A
     * dispatched one offered again (lease expired) is already counted. */
    if (inv.concurrency_limit > 0 && !strcmp(t->status, "pending")) {
        rc = store_task_count_active(st, t->invocation_id, &active);
        if (rc || active >= inv.concurrency_limit)
            goto out;
    }
    snprintf(t->status, sizeof t->status, "%s", "dispatched");
    t->dispatched_at = now;
    t->lease_expires_at = now + lease_ms;
    rc = store_task_update(st, t);
    if (!rc)
        rc = taskops_emit_task(st, t, q);
    if (!rc) {
        entry = pull_entry(t, &inv);
        rc = entry ? json_array_append_new(tasks, entry) : -ENOMEM;
    }
out:
    st_invocation_free(&inv);
    return rc;
}

int taskops_pull(struct store *st, const char *agent_id, int64_t now, int64_t lease_ms,
                 int64_t max, struct evq *q, json_t **resp)
{
    struct st_task *offer = NULL, *cancel = NULL;
    size_t noffer = 0, ncancel = 0;
    json_t *tasks = json_array(), *cancels = json_array();
    int rc = -ENOMEM;

    if (!tasks || !cancels)
        goto out;
    rc = store_task_offerable(st, agent_id, now, max, &offer, &noffer);
    if (rc)
        goto out;
    for (size_t i = 0; i < noffer; i++)
        if ((rc = lease_one(st, &offer[i], now, lease_ms, q, tasks)))
            goto out;
    rc = store_task_cancel_list(st, agent_id, &cancel, &ncancel);
    if (rc)
        goto out;
    for (size_t i = 0; i < ncancel; i++)
        json_array_append_new(cancels, json_string(cancel[i].task_id));
    *resp = json_pack("{s:O, s:O}", "tasks", tasks, "cancel", cancels);
    rc = *resp ? 0 : -ENOMEM;
out:
    st_task_array_free(offer, noffer);
    st_task_array_free(cancel, ncancel);
    json_decref(tasks);
    json_decref(cancels);
    return rc;
}

/* Loads a task owned by agent_id; another agent's task looks missing. */
static int load_owned(struct store *st, const char *agent_id, const char *task_id,
                      struct st_task *t)
{
    int rc = store_task_get(st, task_id, t);
    if (rc)
        return rc;
    if (strcmp(t->agent_id, agent_id)) {
        st_task_free(t);
        return -ENOENT;
    }
    return 0;
}

/* Past max_errors: every task still pending becomes skipped. */
static int skip_pending(struct store *st, const char *invocation_id, int64_t now, struct evq *q)
{
    struct st_task *p = NULL;
    size_t n = 0;
    int rc = store_task_pending_by_invocation(st, invocation_id, INT64_MAX, &p, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        snprintf(p[i].status, sizeof p[i].status, "%s", "skipped");
        p[i].finished_at = now;
        p[i].lease_expires_at = 0;
        free(p[i].error);
        p[i].error = strdup("max_errors reached");
        rc = store_task_update(st, &p[i]);
        if (!rc)
            rc = taskops_emit_task(st, &p[i], q);
    }
    st_task_array_free(p, n);
    return rc;
}

/* Under max_concurrency a slot freed: kick the agents of the next pending tasks so they pull
 * now rather than at their next poll. The kicks leave after the commit (commit.c). */
static int kick_next(struct store *st, const struct st_invocation *inv, struct evq *q)
{
    struct st_task *p = NULL;
    size_t n = 0;
    int64_t active = 0;
    int rc = store_task_count_active(st, inv->invocation_id, &active);
    if (rc || active >= inv->concurrency_limit)
        return rc;
    rc = store_task_pending_by_invocation(st, inv->invocation_id,
                                          inv->concurrency_limit - active, &p, &n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = evq_push(q, EV_KICK, NULL, p[i].task_id, p[i].agent_id, 0, strdup("task"));
    st_task_array_free(p, n);
    return rc;
}

int taskops_task_ended(struct store *st, const struct st_task *t, int64_t now, struct evq *q)
{
    struct st_invocation inv;
    int64_t bad = 0;
    int rc = store_invocation_core(st, t->tenant_id, t->invocation_id, &inv);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    /* Only an unsuccessful end can cross max_errors (a cancel or a success cannot). */
    if (inv.error_limit >= 0 && strcmp(t->status, "succeeded") && strcmp(t->status, "cancelled")) {
        rc = store_task_count_unsuccessful(st, inv.invocation_id, &bad);
        if (!rc && bad > inv.error_limit)
            rc = skip_pending(st, inv.invocation_id, now, q);
    }
    if (!rc && q && inv.concurrency_limit > 0 && !inv.cancel_requested)
        rc = kick_next(st, &inv, q);
    st_invocation_free(&inv);
    return rc;
}

int taskops_start(struct store *st, const char *agent_id, const char *task_id, int64_t now,
                  struct evq *q)
{
    struct st_task t;
    int rc = load_owned(st, agent_id, task_id, &t);
    if (rc)
        return rc;
    if (!strcmp(t.status, "running")) {
        rc = 0;
    } else if (!strcmp(t.status, "cancelled") && !t.started_at) {
        rc = TASKOPS_CANCELLED;
    } else if (task_status_final(t.status)) {
        rc = TASKOPS_FINAL;
    } else {
        snprintf(t.status, sizeof t.status, "%s", "running");
        t.started_at = now;
        if (!t.dispatched_at)
            t.dispatched_at = now;
        t.lease_expires_at = 0;
        rc = store_task_update(st, &t);
        if (!rc)
            rc = taskops_emit_task(st, &t, q);
    }
    st_task_free(&t);
    return rc;
}

/* Keeps the first half of output_limit as the head and the newest half as the tail. */
static int retain(struct store *st, struct st_task *t, int64_t seq, int stream,
                  const unsigned char *data, size_t len)
{
    int64_t head_cap = t->output_limit / 2, tail_cap = t->output_limit - head_cap;
    size_t to_head = 0;
    int rc = 0;

    if (t->head_bytes < head_cap) {
        to_head = (size_t)(head_cap - t->head_bytes) < len ? (size_t)(head_cap - t->head_bytes)
                                                           : len;
        rc = store_output_insert(st, t->task_id, seq, 0, stream, data, to_head);
        t->head_bytes += (int64_t)to_head;
    }
    if (!rc && to_head < len) {
        size_t rest = len - to_head;
        const unsigned char *p = data + to_head;
        /* A piece larger than the whole tail keeps only its end. */
        if ((int64_t)rest > tail_cap) {
            t->dropped_bytes += (int64_t)rest - tail_cap;
            p += rest - (size_t)tail_cap;
            rest = (size_t)tail_cap;
        }
        int64_t over = t->tail_bytes + (int64_t)rest - tail_cap;
        if (over > 0) {
            rc = store_output_drop_tail(st, t->task_id, over);
            t->tail_bytes -= over;
            t->dropped_bytes += over;
        }
        if (!rc && rest)
            rc = store_output_insert(st, t->task_id, seq, 1, stream, p, rest);
        t->tail_bytes += (int64_t)rest;
    }
    return rc;
}

/* The SSE output event, built by hand: jansson costs ~1 ms per 64 KiB chunk here, and every piece
 * is JSON-safe already (a checked id, a fixed stream name, base64). */
static char *output_event(const char *task_id, int64_t seq, int stream, const void *data,
                          size_t len)
{
    size_t b64len = b64_encoded_len(len);
    struct buf out = BUF_INIT;
    if (buf_printf(&out, "{\"task_id\":\"%s\",\"seq\":%lld,\"stream\":\"%s\",\"data\":\"", task_id,
                   (long long)seq, stream == ST_STDERR ? "stderr" : "stdout") ||
        buf_reserve(&out, b64len + 3) ||
        b64_encode(data, len, out.data + out.len, b64len + 1) < 0) {
        buf_free(&out);
        return NULL;
    }
    out.len += b64len;
    buf_append_str(&out, "\"}");
    return out.data;
}

int taskops_output(struct store *st, const char *agent_id, const char *task_id, int64_t seq,
                   int stream, const void *data, size_t len, struct evq *q, int64_t *next_seq)
{
    struct st_task t;
    int rc = load_owned(st, agent_id, task_id, &t);
    if (rc)
        return rc;
    *next_seq = t.next_seq;
    if (seq < t.next_seq) {
        rc = 0;   /* already stored: acknowledged again */
    } else if (seq > t.next_seq) {
        rc = TASKOPS_SEQ_GAP;
    } else if (task_status_final(t.status)) {
        rc = TASKOPS_FINAL;
    } else {
        rc = retain(st, &t, seq, stream, data, len);
        t.next_seq++;
        t.output_bytes += (int64_t)len;
        if (!rc)
            rc = store_task_update(st, &t);
        if (!rc && evq_wants(q, t.invocation_id)) {
            char *ev = output_event(task_id, seq, stream, data, len);
            rc = ev ? evq_push(q, EV_OUTPUT, t.invocation_id, task_id, agent_id, seq, ev)
                    : -ENOMEM;
        }
        *next_seq = t.next_seq;
    }
    st_task_free(&t);
    return rc;
}

int taskops_finish(struct store *st, const char *agent_id, const char *task_id,
                   const struct task_finish *f, int64_t now, struct evq *q, char status_out[16],
                   int64_t *next_seq)
{
    struct st_task t;
    int rc = load_owned(st, agent_id, task_id, &t);
    if (rc)
        return rc;
    *next_seq = t.next_seq;
    if (!task_status_final(t.status) && f->has_next_seq && f->next_seq > t.next_seq) {
        rc = TASKOPS_SEQ_GAP;
    } else if (!task_status_final(t.status)) {
        snprintf(t.status, sizeof t.status, "%s", f->status);
        t.has_exit_code = f->has_exit_code;
        t.exit_code = f->exit_code;
        snprintf(t.signal, sizeof t.signal, "%s", f->signal ? f->signal : "");
        free(t.error);
        t.error = f->error ? strdup(f->error) : NULL;
        t.dropped_bytes += f->dropped_bytes;
        /* output_bytes is what the command produced; the agent may know more than arrived. */
        if (f->output_bytes > t.output_bytes)
            t.output_bytes = f->output_bytes;
        t.finished_at = now;
        t.lease_expires_at = 0;
        if (!t.started_at && strcmp(t.status, "start_failed") && strcmp(t.status, "cancelled"))
            t.started_at = now;
        rc = store_task_update(st, &t);
        if (!rc)
            rc = taskops_emit_task(st, &t, q);
        if (!rc)
            rc = taskops_task_ended(st, &t, now, q);
    }
    snprintf(status_out, 16, "%s", t.status);
    st_task_free(&t);
    return rc;
}

int taskops_cancel(struct store *st, struct st_task *t, int64_t now, struct evq *q)
{
    int rc;
    if (task_status_final(t->status))
        return 0;
    if (!strcmp(t->status, "running")) {
        if (t->cancel_requested)
            return 0;
        t->cancel_requested = true;
        rc = store_task_update(st, t);
        if (!rc)
            rc = evq_push(q, EV_CANCEL, t->invocation_id, t->task_id, t->agent_id, 0, NULL);
        return rc;
    }
    snprintf(t->status, sizeof t->status, "%s", "cancelled");
    t->cancel_requested = true;
    t->finished_at = now;
    t->lease_expires_at = 0;
    free(t->error);
    t->error = strdup("cancelled before it started");
    rc = store_task_update(st, t);
    if (!rc)
        rc = taskops_emit_task(st, t, q);
    if (!rc)
        rc = taskops_task_ended(st, t, now, q);
    return rc;
}

int taskops_expire(struct store *st, int64_t now, int64_t max, struct evq *q, int64_t *count)
{
    struct st_task *tasks = NULL;
    size_t n = 0;
    int rc = store_task_expirable(st, now, max, &tasks, &n);
    *count = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        struct st_task cur;
        /* An earlier expiry in this batch may have skipped this one (max_errors). */
        if ((rc = store_task_get(st, tasks[i].task_id, &cur)))
            break;
        bool gone = task_status_final(cur.status);
        st_task_free(&cur);
        if (gone)
            continue;
        snprintf(tasks[i].status, sizeof tasks[i].status, "%s", "expired");
        tasks[i].finished_at = now;
        tasks[i].lease_expires_at = 0;
        free(tasks[i].error);
        tasks[i].error = strdup("not delivered before expires_at");
        rc = store_task_update(st, &tasks[i]);
        if (!rc)
            rc = taskops_emit_task(st, &tasks[i], q);
        if (!rc)
            rc = taskops_task_ended(st, &tasks[i], now, q);
        if (!rc)
            (*count)++;
    }
    st_task_array_free(tasks, n);
    return rc;
}
