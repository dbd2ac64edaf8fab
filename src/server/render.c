/* JSON objects of the operator API; see render.h. */
#include "server/render.h"

#include "common/buf.h"
#include "common/tm.h"
#include "common/utf8.h"

#include <stdlib.h>
#include <string.h>

static const char *const final_statuses[] = {
    "succeeded", "failed", "timed_out", "cancelled", "start_failed", "undetermined",
    "expired", "skipped", NULL,
};

bool task_status_final(const char *status)
{
    for (const char *const *s = final_statuses; *s; s++)
        if (!strcmp(*s, status))
            return true;
    return false;
}

bool task_status_valid(const char *status)
{
    return task_status_final(status) || !strcmp(status, "pending") ||
           !strcmp(status, "dispatched") || !strcmp(status, "running");
}

json_t *render_ts(int64_t ms)
{
    char buf[32];
    if (ms <= 0 || tm_format_rfc3339(ms, buf, sizeof buf))
        return json_null();
    return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

struct output_text {
    struct buf all, out, err;
};

static int collect_output(void *ud, const struct st_chunk *c)
{
    struct output_text *o = ud;
    if (buf_append(&o->all, c->data, c->len))
        return -1;
    return buf_append(c->stream == ST_STDERR ? &o->err : &o->out, c->data, c->len) ? -1 : 0;
}

/* Adds a sanitized text field. Returns 0 or -1. */
static int set_text(json_t *obj, const char *key, const struct buf *raw)
{
    struct buf clean = BUF_INIT;
    int rc = -1;
    if (utf8_sanitize(&clean, raw->data ? raw->data : "", raw->len))
        goto out;
    rc = json_object_set_new(obj, key, json_stringn(clean.data ? clean.data : "", clean.len));
out:
    buf_free(&clean);
    return rc;
}

static int add_output(struct store *st, json_t *obj, const char *task_id)
{
    struct output_text o = { BUF_INIT, BUF_INIT, BUF_INIT };
    int rc = -1;
    if (store_output_each(st, task_id, 0, collect_output, &o))
        goto out;
    if (set_text(obj, "output", &o.all) || set_text(obj, "stdout", &o.out) ||
        set_text(obj, "stderr", &o.err))
        goto out;
    rc = 0;
out:
    buf_free(&o.all);
    buf_free(&o.out);
    buf_free(&o.err);
    return rc;
}

json_t *render_task(struct store *st, const struct st_task *t, bool with_output)
{
    char name[64] = "";
    json_t *o;

    if (t->agent_name[0])
        memcpy(name, t->agent_name, sizeof name);
    else
        store_agent_name(st, t->agent_id, name);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:b}",
                  "task_id", t->task_id, "invocation_id", t->invocation_id, "agent_id",
                  t->agent_id, "name", name, "status", t->status, "exit_code",
                  t->has_exit_code ? json_integer(t->exit_code) : json_null(), "signal",
                  str_or_null(t->signal), "error", str_or_null(t->error), "output_bytes",
                  (json_int_t)t->output_bytes, "dropped_bytes", (json_int_t)t->dropped_bytes,
                  "created_at", render_ts(t->created_at), "dispatched_at",
                  render_ts(t->dispatched_at), "started_at", render_ts(t->started_at),
                  "finished_at", render_ts(t->finished_at), "cancel_requested",
                  t->cancel_requested);
    if (o && with_output && add_output(st, o, t->task_id)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *render_task_text(struct store *st, const struct st_task *t)
{
    json_t *o = render_task(st, t, false);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

const char *invocation_status(const struct st_invocation *inv, const struct st_task *tasks,
                              size_t n)
{
    size_t pending = 0, unfinished = 0, succeeded = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(tasks[i].status, "pending"))
            pending++;
        if (!task_status_final(tasks[i].status))
            unfinished++;
        if (!strcmp(tasks[i].status, "succeeded"))
            succeeded++;
    }
    if (unfinished)
        return pending == n ? "pending" : "running";
    if (succeeded == n)
        return "succeeded";
    return inv->cancel_requested ? "cancelled" : "failed";
}

/* A rate setting as given (stored as JSON text: 2 or "50%"), or null. */
static json_t *rate_setting(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

json_t *render_invocation(struct store *st, const struct st_invocation *inv,
                          const struct st_task *tasks, size_t n, bool with_tasks,
                          bool with_output)
{
    json_t *counts = json_object(), *o = NULL, *arr = NULL;
    json_t *env = json_loads(inv->env ? inv->env : "{}", 0, NULL);
    json_t *targets = json_loads(inv->targets ? inv->targets : "{}", 0, NULL);
    json_t *limits = json_loads(inv->limits ? inv->limits : "{}", 0, NULL);

    if (!counts || !env || !targets || !limits)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_object_get(counts, tasks[i].status);
        json_object_set_new(counts, tasks[i].status,
                            json_integer(c ? json_integer_value(c) + 1 : 1));
    }
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:o, s:o, s:s, s:b, s:O, s:O, s:O}",
                  "invocation_id", inv->invocation_id, "status",
                  invocation_status(inv, tasks, n), "command", inv->command, "interpreter",
                  inv->interpreter, "user", inv->user, "workdir", str_or_null(inv->workdir),
                  "timeout_s", (json_int_t)inv->timeout_s, "output_limit",
                  (json_int_t)inv->output_limit, "expires_at", render_ts(inv->expires_at),
                  "created_at", render_ts(inv->created_at), "created_by", inv->created_by,
                  "cancel_requested", inv->cancel_requested, "counts", counts, "env", env,
                  "targets", targets);
    if (o)
        json_object_set(o, "limits", limits);
    if (!o || json_object_set_new(o, "max_concurrency", rate_setting(inv->max_concurrency)) ||
        json_object_set_new(o, "max_errors", rate_setting(inv->max_errors)) ||
        json_object_set_new(o, "command_name", str_or_null(inv->command_name)))
        goto fail;
    if (with_tasks) {
        arr = json_array();
        if (!arr)
            goto fail;
        for (size_t i = 0; i < n; i++) {
            json_t *t = render_task(st, &tasks[i], with_output);
            if (!t || json_array_append_new(arr, t))
                goto fail;
        }
        json_object_set_new(o, "tasks", arr);
        arr = NULL;
    }
    json_decref(counts);
    json_decref(env);
    json_decref(targets);
    json_decref(limits);
    return o;
fail:
    json_decref(arr);
    json_decref(o);
    json_decref(counts);
    json_decref(env);
    json_decref(targets);
    json_decref(limits);
    return NULL;
}

json_t *render_invocation_load(struct store *st, const struct st_invocation *inv,
                               bool with_tasks, bool with_output)
{
    struct st_task *tasks = NULL;
    size_t n = 0;
    json_t *o;
    if (store_task_list_by_invocation(st, inv->invocation_id, &tasks, &n))
        return NULL;
    o = render_invocation(st, inv, tasks, n, with_tasks, with_output);
    st_task_array_free(tasks, n);
    return o;
}

json_t *render_agent(const struct st_agent *a, bool online)
{
    json_t *ips = json_loads(a->ips ? a->ips : "[]", 0, NULL);
    json_t *tags = json_loads(a->tags ? a->tags : "{}", 0, NULL);
    json_t *o = NULL;
    if (!ips || !tags)
        goto out;
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:o, s:o, s:I, s:s, s:s, s:s, s:s, "
                  "s:o, s:I, s:f, s:I, s:I}",
                  "agent_id", a->agent_id, "name", a->name, "status",
                  online ? "online" : "offline", "version", a->version, "primary_ip",
                  a->primary_ip, "ips", ips, "tags", tags, "first_seen",
                  render_ts(a->first_seen), "last_seen", render_ts(a->last_seen),
                  "running_tasks", (json_int_t)a->running, "hostname", a->hostname,
                  "machine_id", a->machine_id, "os", a->os, "arch", a->arch, "last_heartbeat",
                  render_ts(a->last_heartbeat), "uptime_s", (json_int_t)a->uptime_s, "load1",
                  a->load1, "mem_total", (json_int_t)a->mem_total, "mem_available",
                  (json_int_t)a->mem_available);
out:
    json_decref(ips);
    json_decref(tags);
    return o;
}
