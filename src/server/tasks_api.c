/* Operator routes on tasks: the live ones of the tenant (tether top), and on one task: show, raw
 * output (exact stored bytes), cancel. */
#include "server/server.h"

#include "common/tm.h"
#include "common/utf8.h"
#include "server/list_query.h"
#include "server/taskops.h"

#include <stdlib.h>
#include <string.h>

/* Loads the task named by the path, within the caller's tenant; answers 404 itself. */
static int load_task(struct req *r, struct st_task *t)
{
    int rc = -ENOENT;
    if (id_valid(r->params[0], ID_TASK))
        rc = store_task_get(r->srv->st, r->params[0], t);
    if (rc == 0 && strcmp(t->tenant_id, r->tenant)) {
        st_task_free(t);
        rc = -ENOENT;
    }
    if (rc == -ENOENT)
        resp_error(r, 404, "not_found", "no such task");
    else if (rc)
        resp_error(r, 503, "unavailable", "store not readable");
    return rc;
}

void h_task_show(struct req *r)
{
    char arg[8];
    struct st_task t;
    bool output = req_query(r, "output", arg, sizeof arg) &&
                  (!strcmp(arg, "1") || !strcmp(arg, "true"));
    if (load_task(r, &t))
        return;
    json_t *o = render_task(r->srv->st, &t, output);
    st_task_free(&t);
    if (o)
        resp_json(r, 200, o);
    else
        resp_error(r, 503, "unavailable", "store not readable");
}

static int append_chunk(void *ud, const struct st_chunk *c)
{
    return buf_append(ud, c->data, c->len) ? -1 : 0;
}

void h_task_output(struct req *r)
{
    char arg[16], num[32];
    int stream = 0;
    struct st_task t;
    struct buf out = BUF_INIT;

    if (req_query(r, "stream", arg, sizeof arg)) {
        if (!strcmp(arg, "stdout"))
            stream = ST_STDOUT;
        else if (!strcmp(arg, "stderr"))
            stream = ST_STDERR;
        else {
            resp_error(r, 400, "bad_request", "stream: must be stdout or stderr");
            return;
        }
    }
    if (load_task(r, &t))
        return;
    if (store_output_each(r->srv->st, t.task_id, stream, append_chunk, &out)) {
        resp_error(r, 503, "unavailable", "store not readable");
    } else {
        resp_raw(r, 200, "application/octet-stream", out.data, out.len);
        snprintf(num, sizeof num, "%lld", (long long)t.dropped_bytes);
        resp_header(r, "x-tether-dropped-bytes", num);
        resp_header(r, "x-tether-task-status", t.status);
    }
    buf_free(&out);
    st_task_free(&t);
}

void h_task_cancel(struct req *r)
{
    struct st_task t;
    int64_t now = tm_now_ms();
    if (load_task(r, &t))
        return;
    if (taskops_cancel(r->srv->st, &t, now, &r->events) ||
        req_audit(r, now, "task.cancel", t.task_id, NULL)) {
        resp_error(r, 503, "unavailable", "store not writable");
    } else {
        json_t *o = render_task(r->srv->st, &t, false);
        resp_json(r, o ? 200 : 503, o);
    }
    st_task_free(&t);
}

/* The listing shows at most this much of each task's command (cut on a UTF-8 boundary): enough
 * for a line of `tether top`, not 64 KiB per task. */
#define TASK_LIST_COMMAND_MAX 256

/* The invocations the listed tasks belong to, each loaded once. */
struct command_cache {
    char (*ids)[ID_BUF];
    json_t **command;   /* string, owned */
    bool *truncated;
    size_t n;
};

static void command_cache_free(struct command_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        json_decref(c->command[i]);
    free(c->ids);
    free(c->command);
    free(c->truncated);
}

/* The command of invocation id, cut to TASK_LIST_COMMAND_MAX; NULL on failure. */
static json_t *command_of(struct req *r, struct command_cache *c, const char *id, bool *truncated)
{
    struct st_invocation inv;
    struct buf clean = BUF_INIT;
    size_t i, len;
    json_t *text = NULL;

    for (i = 0; i < c->n; i++)
        if (!strcmp(c->ids[i], id)) {
            *truncated = c->truncated[i];
            return c->command[i];
        }
    if (store_invocation_get(r->srv->st, r->tenant, id, &inv))
        return NULL;
    len = strlen(inv.command);
    *truncated = len > TASK_LIST_COMMAND_MAX;
    if (*truncated)
        len = utf8_complete_prefix(inv.command, TASK_LIST_COMMAND_MAX);
    if (utf8_sanitize(&clean, inv.command, len) == 0)
        text = json_stringn(clean.data ? clean.data : "", clean.len);
    buf_free(&clean);
    st_invocation_free(&inv);
    void *ni = realloc(c->ids, (c->n + 1) * sizeof *c->ids);
    if (ni)
        c->ids = ni;
    void *nc = realloc(c->command, (c->n + 1) * sizeof *c->command);
    if (nc)
        c->command = nc;
    void *nt = realloc(c->truncated, (c->n + 1) * sizeof *c->truncated);
    if (nt)
        c->truncated = nt;
    if (!text || !ni || !nc || !nt) {
        json_decref(text);
        return NULL;
    }
    memcpy(c->ids[c->n], id, ID_BUF);
    c->command[c->n] = text;
    c->truncated[c->n] = *truncated;
    c->n++;
    return text;
}

/* GET /v1/tasks?status=pending|dispatched|running[&limit=N]: the tenant's live tasks, each with
 * the (cut) command of its invocation, and how many there are in all. */
void h_tasks_list(struct req *r)
{
    char status[16], arg[16];
    int64_t limit = 100, count = 0;
    struct st_task *tasks = NULL;
    struct command_cache cache = { 0 };
    size_t n = 0;
    json_t *arr = NULL;
    int rc = req_query_nth(r, "status", 0, status, sizeof status);

    if (rc <= 0 || (strcmp(status, "pending") && strcmp(status, "dispatched") &&
                    strcmp(status, "running"))) {
        resp_error(r, 400, "bad_request", "status: must be pending, dispatched or running "
                   "(finished tasks are listed per invocation)");
        return;
    }
    if ((rc = req_query_nth(r, "limit", 0, arg, sizeof arg)) != 0) {
        char *end;
        long v = rc > 0 ? strtol(arg, &end, 10) : 0;
        if (rc < 0 || end == arg || *end || v < 1 || v > 1000) {
            resp_error(r, 400, "bad_request", "limit: must be between 1 and 1000");
            return;
        }
        limit = v;
    }
    if (store_task_list_by_status(r->srv->st, r->tenant, status, limit, &tasks, &n) ||
        store_task_count_by_status(r->srv->st, r->tenant, status, &count) ||
        !(arr = json_array()))
        goto unavailable;
    for (size_t i = 0; i < n; i++) {
        bool truncated = false;
        json_t *o = render_task(r->srv->st, &tasks[i], false);
        json_t *cmd = o ? command_of(r, &cache, tasks[i].invocation_id, &truncated) : NULL;
        if (!cmd || json_object_set(o, "command", cmd) ||
            json_object_set_new(o, "command_truncated", json_boolean(truncated)) ||
            json_array_append_new(arr, o)) {
            json_decref(o);
            goto unavailable;
        }
    }
    resp_json(r, 200, json_pack("{s:O, s:I}", "tasks", arr, "count", (json_int_t)count));
    goto out;
unavailable:
    resp_error(r, 503, "unavailable", "store not readable");
out:
    json_decref(arr);
    command_cache_free(&cache);
    st_task_array_free(tasks, n);
}
