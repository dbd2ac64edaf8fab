/* Operator routes on one task: show, raw output (exact stored bytes), cancel. */
#include "server/server.h"

#include "common/tm.h"
#include "server/taskops.h"

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
